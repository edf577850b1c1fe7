"""WHOIS for TLDs without RDAP: a local port-43 server, python-whois parsing, bad text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.netdoubles import NetDoubles, WhoisDomain
from detectors.domains.registry import derive_state
from detectors.domains.whois import WhoisClient, parse_whois

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def client(doubles: NetDoubles, timeout: float = 2.0) -> WhoisClient:
    return WhoisClient({}, override=doubles.whois.server, rate=100.0, timeout=timeout)


async def test_gtld_style_answer(doubles: NetDoubles) -> None:
    doubles.whois.set_domain("project.io", WhoisDomain(
        expires=datetime(2026, 3, 20, tzinfo=UTC), statuses=("clientTransferProhibited",)))
    whois = client(doubles)
    try:
        obs = await whois.lookup("project.io")
    finally:
        await whois.close()
    assert obs.outcome == "found" and obs.record is not None
    assert obs.record.expires == datetime(2026, 3, 20, tzinfo=UTC)
    assert obs.record.registered == datetime(2016, 6, 1, 8, tzinfo=UTC)
    assert obs.record.statuses == ("client transfer prohibited",)
    assert obs.record.nameservers == ("ns1.dns-host.example", "ns2.dns-host.example")
    assert derive_state(obs, NOW, 30)[0] == "expiring"
    assert doubles.whois.queries == ["project.io"]


async def test_denic_style_answer_and_not_found(doubles: NetDoubles) -> None:
    doubles.whois.set_domain("beispiel.de")
    whois = client(doubles)
    try:
        present = await whois.lookup("beispiel.de")
        absent = await whois.lookup("frei.de")
        gone = await whois.lookup("gone.io")
    finally:
        await whois.close()
    assert present.outcome == "found" and present.record is not None
    assert present.record.statuses == ("active",) and present.record.expires is None
    assert derive_state(present, NOW, 30)[0] == "active"
    assert (absent.outcome, gone.outcome) == ("not-found", "not-found")


async def test_empty_fields_are_unknown_not_fine(doubles: NetDoubles) -> None:
    doubles.whois.set_text("odd.io", "% This server is under maintenance.\r\n")
    whois = client(doubles)
    try:
        obs = await whois.lookup("odd.io")
    finally:
        await whois.close()
    assert (obs.outcome, obs.evidence) == ("malformed", False)
    assert derive_state(obs, NOW, 30)[0] == "unknown"


@pytest.mark.parametrize(("behaviour", "outcome"), [("timeout", "timeout"), ("empty", "error")])
async def test_silent_server_is_not_evidence(doubles: NetDoubles, behaviour: str,
                                             outcome: str) -> None:
    doubles.whois.set_behaviour("slow.io", behaviour)
    whois = client(doubles, timeout=0.3)
    try:
        obs = await whois.lookup("slow.io")
    finally:
        await whois.close()
    assert (obs.outcome, obs.evidence) == (outcome, False)


async def test_no_server_known() -> None:
    whois = WhoisClient({})
    try:
        obs = await whois.lookup("example.zz")
    finally:
        await whois.close()
    assert obs.outcome == "no-service" and not obs.evidence


LINES = st.lists(st.one_of(
    st.text(max_size=40),
    st.sampled_from(["Creation Date", "Registry Expiry Date", "Updated Date", "Registrar",
                     "Domain Status", "Name Server", "Status", "Nserver", "Changed"]).flatmap(
        lambda key: st.text(max_size=30).map(lambda value: f"{key}: {value}")),
), max_size=12).map("\n".join)


@given(domain=st.sampled_from(["example.com", "example.io", "example.de", "example.jp",
                               "example.zz"]), text=LINES)
def test_any_text_gives_an_observation(domain: str, text: str) -> None:
    obs = parse_whois(domain, text)
    assert obs.outcome in ("found", "not-found", "malformed")
    if obs.outcome == "found":
        assert obs.record is not None and obs.evidence
