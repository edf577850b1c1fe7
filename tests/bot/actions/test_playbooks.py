"""The actions layer: approvals, waivers, rejection, cancelling, and the run lease."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import sqlalchemy as sa

from bot.actions import ApprovalRequired, Busy, InvalidState, NotAuthorized
from bot.store.models import AuditEntry
from bot.store.playbook_models import PlaybookRun, RunStatus
from playbooks.base import Target
from playbooks.settings import PlaybooksSection
from tests.support.world import PROJECT, World, close_actions, open_actions

pytestmark = pytest.mark.service


async def test_waiver_reject_cancel(world: World, sqlite_url: str) -> None:
    waived = PlaybooksSection(approval_waived=["restore"])
    actions, engine = open_actions(world, sqlite_url, config=waived)
    try:
        run = await actions.request("alice", "restore", Target(project=PROJECT), reason="r")
        assert run.status == RunStatus.READY and not run.approval_required
        with pytest.raises(InvalidState, match="not awaiting approval"):
            await actions.approve(run.id, "bob")
        cancelled = await actions.cancel(run.id, "alice", note="wrong project")
        assert cancelled.status == RunStatus.CANCELLED
        with pytest.raises(InvalidState, match="cancelled"):
            await actions.run(run.id, "alice")
    finally:
        await close_actions(actions, engine)
    actions, engine = open_actions(world, sqlite_url)  # two admins again
    try:
        run = await actions.request("alice", "restore", Target(project=PROJECT), reason="r")
        rejected = await actions.reject(run.id, "bob", note="not before the owner answers")
        assert rejected.status == RunStatus.REJECTED
        assert rejected.approvals == (("bob", "rejected", "not before the owner answers"),)
        with pytest.raises(ApprovalRequired):
            await actions.run(run.id, "bob")
        with pytest.raises(NotAuthorized):
            await actions.plan("eve", "restore", Target(project=PROJECT))
    finally:
        await close_actions(actions, engine)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def test_a_live_holder_keeps_the_run_a_dead_one_does_not(
        world: World, sqlite_url: str) -> None:
    actions, engine = open_actions(world, sqlite_url,
                                   config=PlaybooksSection(two_admin_approval=False))
    try:
        run = await actions.request("alice", "restore", Target(project=PROJECT), reason="r")
        host = socket.gethostname()
        await actions.store.claim(run.id, f"{host}:{os.getpid()}:other")  # alive: this process
        with pytest.raises(Busy, match="is being run by"):
            await actions.resume(run.id, "bob")
        async with actions.sessions.begin() as s:
            await s.execute(sa.update(PlaybookRun).values(lease_owner=f"{host}:{dead_pid()}:x"))
        done = await actions.resume(run.id, "bob")
        assert done.status == RunStatus.DONE and done.verified
        async with actions.sessions() as s:
            busy = (await s.execute(sa.select(AuditEntry.detail).where(
                AuditEntry.outcome == "refused"))).scalar_one()
        assert "is being run by" in busy["why"]
    finally:
        await close_actions(actions, engine)
