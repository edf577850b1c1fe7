"""The demo's malware-report scenario.

A trusted observer reports a project created minutes ago (an ``is_malware`` observation
in the index double's Warehouse-shaped database, as Warehouse records it); the reports
source raises the critical incident; alice asks for *Remove malware*, bob approves it;
verification reads the index back: the project gone, its name prohibited, its uploader
frozen, the report carrying Warehouse's ``remove_malware`` verdict, and the incident
closed on that verdict.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from bot.demo.scenarios import Outcome, Say, _incident, respond
from bot.demo.world import World

PROJECT = "cryptowallet-helper"


async def malware_report(world: World, say: Say) -> Outcome:
    outcome = Outcome("malware-report")
    started = time.perf_counter()
    index, w = world.index, world.warden
    if w.reports is None:
        outcome.detail = "the reports source is not configured"
        return outcome
    now = datetime.now(UTC)
    index.create_project(PROJECT, "mallory", at=now - timedelta(minutes=40))
    index.add_release(PROJECT, "0.1.0", [(f"{PROJECT.replace('-', '_')}-0.1.0-py3-none-any.whl",
                                          b"import os, base64; exec(base64.b64decode('...'))")],
                      at=now - timedelta(minutes=38))
    index.report_malware(PROJECT, "security-scanner",
                         "setup hook downloads a second stage and reads ~/.ssh",
                         f"https://inspector.pypi.io/project/{PROJECT}/0.1.0/", trusted=True,
                         at=now - timedelta(minutes=5))
    say(f"  mallory created {PROJECT} 40 minutes ago; a trusted observer reports it as malware")
    polled = await w.reports.poll()
    say(f"  the reports source read {polled.reports} report(s)")
    incident = await _incident(world, "reports", f"project:{PROJECT}")
    outcome = await respond(world, outcome, incident, "remove-malware", say, started)
    if not outcome.verified:
        return outcome
    admin = world.backends.admin
    reports = await admin.malware_reports(PROJECT)
    account = await admin.account("mallory")
    checks = {
        "the project is gone": await admin.project(PROJECT) is None,
        "the name is prohibited": await admin.project_name_prohibited(PROJECT) is not None,
        "the uploader is frozen": account is not None and bool(account.frozen),
        "the report carries remove_malware": bool(reports) and all(
            "remove_malware" in r.verdicts for r in reports),
        "the incident is closed": incident is not None
        and incident.id in await w.reports.settle(),
    }
    for what, ok in checks.items():
        say(f"  {'ok' if ok else 'NOT'}: {what}")
    outcome.verified = all(checks.values())
    if not outcome.verified:
        outcome.detail = ", ".join(k for k, ok in checks.items() if not ok) + ": not as expected"
    outcome.seconds = time.perf_counter() - started
    return outcome
