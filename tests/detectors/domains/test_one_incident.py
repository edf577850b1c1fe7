"""Items 4 and 7 of issue 18: one domain is one incident, and it offers only what can act.

A maintainer's domain that is first near expiry, then parked, then created again is one
incident whose severity rises, whose evidence lists every finding with its time, and
whose single Slack message is updated in place. A domain incident with no affected
account offers neither unverify nor freeze, in Slack or in the CLI.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import selectinload

from bot.cli.incidents import _incident_dict
from bot.incidents import record_finding
from bot.ledger import TrackedProjects
from bot.netdoubles import NetDoubles, RdapDomain, ZoneSpec
from bot.pipeline import Pipeline
from bot.store.models import Incident
from bot.types import Evidence, Finding, Severity
from detectors.domains.detector import DomainDetector
from detectors.domains.settings import DomainsSection
from tests.support.slack import Harness, running

from .conftest import T0, Maintainer, seed


def _buttons(blocks: list[dict[str, Any]]) -> set[str]:
    return {e["action_id"] for b in blocks if b.get("type") == "actions"
            for e in b.get("elements", [])}


async def _sweep(harness: Harness, cfg: DomainsSection, day: int, **kw: Any) -> list[int]:
    detector = DomainDetector(cfg, sessions=harness.warden.sessions, **kw)
    pipeline = Pipeline(harness.warden.sessions, harness.warden.settings, [detector],
                        TrackedProjects(), ["slack"])
    ids = await pipeline.sweep(T0 + timedelta(days=day))
    await harness.deliver()
    return ids


@pytest.fixture
async def slack_store(store_url: str, no_env: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    async with running(store_url, monkeypatch) as harness:
        yield harness


async def test_one_domain_one_incident_updated_by_each_finding(
    doubles: NetDoubles, cfg: DomainsSection, slack_store: Harness,
) -> None:
    slack = slack_store
    cfg = cfg.model_copy(update={"registry_every_days": 1})
    name = "maint-home.org"
    doubles.dns.set_zone(name)
    doubles.rdap.set_domain(name, RdapDomain(expires=T0 + timedelta(days=10)))
    await seed(slack.warden.sessions, [Maintainer("bob", f"bob@{name}", projects=("six",))],
               critical={"six"})

    first = await _sweep(slack, cfg, 0)  # expiring: a warning
    doubles.dns.set_zone(name, ZoneSpec(ns=("ns1.sedoparking.com", "ns2.sedoparking.com")))
    second = await _sweep(slack, cfg, 1)  # parked: critical
    doubles.rdap.set_domain(name, RdapDomain(
        expires=T0 + timedelta(days=400), registered=T0 + timedelta(days=1, hours=6),
        registrar="Aftermarket Registrar", registrar_id="4242",
        nameservers=("ns1.sedoparking.com", "ns2.sedoparking.com")))
    third = await _sweep(slack, cfg, 2)  # created again: critical, one more signal

    assert first and set(first) == set(second) == set(third)
    async with slack.warden.sessions() as session:
        incident = await session.get(Incident, first[0], options=[selectinload(Incident.timeline)])
    assert incident is not None
    assert incident.subject == f"domain:{name}" and incident.severity == "critical"
    signals = [(e["data"]["signal"], e["at"]) for e in incident.evidence
               if isinstance(e.get("data"), dict) and "signal" in e["data"]]
    kinds = [kind for kind, _ in signals]
    assert {"expiring", "parked", "re-registered"} <= set(kinds)
    assert all(at for _, at in signals)
    first_seen = {kind: at for kind, at in reversed(signals)}
    assert first_seen["expiring"] < first_seen["parked"] < first_seen["re-registered"]
    actions = [t.action for t in incident.timeline]
    assert actions[0] == "opened" and "escalated" in actions
    # one Slack message for the domain, edited in place for each update
    top = [m for m in slack.api.top_level()
           if (m.metadata or {}).get("event_payload", {}).get("key") == f"incident:{incident.id}"]
    assert len(top) == 1 and top[0].edits >= 2
    assert len(slack.api.called("chat.postMessage")) == len(slack.api.state.messages)


async def test_no_affected_account_offers_no_unverify_or_freeze(
    doubles: NetDoubles, cfg: DomainsSection, slack_store: Harness,
) -> None:
    slack = slack_store
    doubles.dns.set_zone("somebody.org")
    doubles.rdap.set_domain("somebody.org", RdapDomain(state="grace"))
    doubles.rdap.set_domain("nobody.org", RdapDomain(state="grace"))
    doubles.dns.set_zone("nobody.org")
    await seed(slack.warden.sessions, [Maintainer("sue", "sue@somebody.org")])
    ids = await _sweep(slack, cfg, 0, only=["nobody.org", "somebody.org"])
    incidents = {i.subject: i for i in [await slack.incident(n) for n in set(ids)]}
    nobody, somebody = incidents["domain:nobody.org"], incidents["domain:somebody.org"]
    assert nobody.playbooks == [] and "no affected account known" in nobody.summary
    assert set(somebody.playbooks) == {"freeze", "unverify-email"}
    assert not _buttons(slack.posted(f"incident:{nobody.id}").blocks) & {
        "inc_pb:freeze", "inc_pb:unverify-email"}
    assert {"inc_pb:freeze", "inc_pb:unverify-email"} <= _buttons(
        slack.posted(f"incident:{somebody.id}").blocks)
    assert _incident_dict(nobody)["playbooks"] == []


async def test_an_incident_recorded_with_playbooks_but_no_account_does_not_offer_them(
    slack_store: Harness,
) -> None:
    """An incident stored before the fix still lists the playbooks: the faces drop them."""
    slack = slack_store
    async with slack.warden.sessions.begin() as session:
        incident = await record_finding(session, Finding(
            detector="domains", kind="expired", subject="domain:old.example",
            severity=Severity.HIGH, summary="old.example expired",
            evidence=(Evidence(summary="affected accounts: none known",
                               data={"accounts": []}),),
            playbooks=("unverify-email", "freeze")), T0, ["slack"])
    await slack.deliver()
    assert not _buttons(slack.posted(f"incident:{incident.id}").blocks) & {
        "inc_pb:freeze", "inc_pb:unverify-email"}
    assert _incident_dict(incident)["playbooks"] == []
