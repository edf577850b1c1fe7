"""The demo's scenarios: each from the index event to the playbook's verified result."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot import jobs
from bot.critical import recompute
from bot.demo.world import ADMINS, World
from bot.feed.accounts import sync_accounts
from bot.netdoubles import RdapDomain, ZoneSpec
from bot.store.models import Incident
from playbooks.base import Target

Say = Callable[[str], None]


@dataclass
class Outcome:
    name: str
    incident_id: int | None = None
    severity: str | None = None
    playbook: str | None = None
    verified: bool = False
    seconds: float = 0.0
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "incident_id": self.incident_id, "severity": self.severity,
                "playbook": self.playbook, "verified": self.verified,
                "seconds": round(self.seconds, 2)}


async def _incident(world: World, detector: str, subject_prefix: str,
                    kind: str | None = None) -> Incident | None:
    query = select(Incident).where(Incident.detector == detector,
                                   Incident.subject.startswith(subject_prefix))
    if kind:
        query = query.where(Incident.kind == kind)
    async with world.warden.sessions() as session:
        return (await session.execute(
            query.order_by(Incident.id.desc()).limit(1))).scalar_one_or_none()


async def respond(world: World, outcome: Outcome, incident: Incident | None, playbook: str,
                  say: Say, started: float, *, missing: str = "no incident was raised",
                  target: Target | None = None,
                  options: dict[str, object] | None = None) -> Outcome:
    """alice asks for the playbook, bob approves it, alice runs it; the run verifies."""
    if incident is None:
        outcome.detail = missing
        return outcome
    outcome.incident_id, outcome.severity = incident.id, incident.severity
    say(f"  incident #{incident.id} [{incident.severity}] {incident.summary}")
    requester, approver = ADMINS
    run = await world.actions.request_for_incident(requester, incident.id, playbook,
                                                   target=target, options=options)
    say(f"  {requester} requests `{playbook}` (run #{run.id}); plan:")
    for line in run.plan.text().splitlines():  # all of it: the count must match the list
        say(f"    {line}")
    if run.status == "awaiting_approval":
        run = await world.actions.approve(run.id, approver, "looks right")
        say(f"  {approver} approves run #{run.id} (a destructive playbook needs a second admin)")
    run = await world.actions.run(run.id, requester)
    outcome.playbook = playbook
    outcome.verified = run.status == "done" and bool(run.verified)
    say(f"  run #{run.id}: {run.status}, verified={run.verified}")
    outcome.seconds = time.perf_counter() - started
    return outcome


async def critical_deletion(world: World, say: Say) -> Outcome:
    """atomicwrites (2022): the maintainer deletes a top project; restore it from storage."""
    outcome = Outcome("critical-deletion")
    started = time.perf_counter()
    index, w = world.index, world.warden
    t0 = datetime(2022, 7, 1, tzinfo=UTC)
    index.create_project("atomicwrites", "untitaker", at=t0)
    for i, version in enumerate(["1.3.0", "1.4.0", "1.4.1"]):
        files = [(f"atomicwrites-{version}-py2.py3-none-any.whl", f"wheel {version}".encode() * 700),
                 (f"atomicwrites-{version}.tar.gz", f"sdist {version}".encode() * 900)]
        index.add_release("atomicwrites", version, files, at=t0 + timedelta(days=30 * i))
    await w.feed.sync()
    await recompute(w.sessions, w.settings, w.pipeline.tracked, w.feed.feed)
    say("  atomicwrites is critical; the ledger holds 3 releases, 6 files with digests")
    index.remove_project("atomicwrites")
    say("  the maintainer removes the project on the index")
    await w.feed.sync()
    incident = await _incident(world, "critical", "project:atomicwrites")
    return await respond(world, outcome, incident, "restore", say, started)


async def typosquat(world: World, say: Say) -> Outcome:
    """A look-alike of a top project appears; quarantine it."""
    outcome = Outcome("typosquat")
    started = time.perf_counter()
    world.index.create_project("reqeusts", "mallory")
    world.index.add_release("reqeusts", "2.32.0",
                            [("reqeusts-2.32.0-py3-none-any.whl", b"import os; os.system('...')")])
    say("  someone creates `reqeusts` and uploads a wheel")
    await world.warden.feed.sync()
    incident = await _incident(world, "typosquat", "project:reqeusts")
    return await respond(world, outcome, incident, "quarantine", say, started)


async def domain_resurrection(world: World, say: Say) -> Outcome:
    """ctx (2022): a maintainer's email domain lapses and is bought again, with parked
    nameservers; the sweep raises a critical incident; freeze the account and unverify."""
    outcome = Outcome("domain-resurrection")
    started = time.perf_counter()
    index, w = world.index, world.warden
    domain = "figlief-mail.com"
    verified = datetime(2019, 4, 2, tzinfo=UTC)
    index.add_user("figlief", f"figlief@{domain}", at=verified)
    index.create_project("ctx", "figlief", at=verified)
    index.add_release("ctx", "0.1.2", [("ctx-0.1.2.tar.gz", b"ctx 0.1.2")], at=verified)
    await w.feed.sync()
    await sync_accounts(w.sessions, w.settings.playbooks.warehouse_url or "")
    say(f"  ctx is critical; its owner figlief verified figlief@{domain} on {verified:%Y-%m-%d}")
    world.net.dns.set_zone(domain, ZoneSpec(ns=("ns1.sedoparking.com", "ns2.sedoparking.com")))
    world.net.rdap.set_domain(domain, RdapDomain(
        registered=datetime(2022, 5, 7, tzinfo=UTC), expires=datetime(2027, 5, 7, tzinfo=UTC),
        last_changed=datetime(2022, 5, 7, tzinfo=UTC), registrar="Aftermarket Registrar LLC",
        nameservers=("ns1.sedoparking.com", "ns2.sedoparking.com")))
    say(f"  {domain} expired and was registered again on 2022-05-07, parked at Sedo")
    await jobs.domain_sweep(w)
    # one incident for the domain (parked, re-registered), named by its worst finding
    incident = await _incident(world, "domains", f"domain:{domain}")
    return await respond(world, outcome, incident, "freeze", say, started,
                         missing="the sweep raised no incident",
                         target=Target(account="figlief"), options={"unverify_emails": True})


Scenario = Callable[[World, Say], Awaitable[Outcome]]
