"""WHOIS for TLDs without RDAP: a local port-43 server, python-whois parsing, bad text,
and servers that drip, flood or poison their answers (issue #14)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

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


async def lookup(doubles: NetDoubles, name: str, timeout: float = 1.0) -> Any:
    whois = client(doubles, timeout)
    try:
        return await whois.lookup(name)
    finally:
        await whois.close()


async def test_dripping_server_is_cut_at_the_deadline(doubles: NetDoubles) -> None:
    doubles.whois.set_domain("drip.io")
    doubles.whois.set_behaviour("drip.io", "drip")  # a byte every 50 ms: each read is quick
    started = time.monotonic()
    obs = await lookup(doubles, "drip.io", timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert obs.outcome == "timeout"
    assert obs.detail == f"no complete answer from {doubles.whois.server} within 0.5 s"


async def test_flood_is_malformed_unparsed(doubles: NetDoubles) -> None:
    doubles.whois.set_domain("flood.io")
    doubles.whois.set_behaviour("flood.io", "flood")
    obs = await lookup(doubles, "flood.io")
    assert (obs.outcome, obs.detail) == ("malformed", "answer larger than 65536 bytes")


@pytest.mark.parametrize(("text", "why"), [
    ("Domain Name: EVIL.IO\r\nRegistrar: Evil\x00Corp\r\n"
     "Registry Expiry Date: 2031-01-01T00:00:00Z\r\n", "NUL"),
    ("Domain Name: EVIL.IO\r\nRegistrar: Evil Corp\r\n"
     "Registry Expiry Date: 9999-12-31T00:00:00Z\r\n", "out of range"),
])
async def test_poisoned_text_is_malformed(doubles: NetDoubles, text: str, why: str) -> None:
    doubles.whois.set_text("evil.io", text)
    obs = await lookup(doubles, "evil.io")
    assert obs.outcome == "malformed" and why in obs.detail


async def test_long_lines_parse_in_bounded_time(doubles: NetDoubles) -> None:
    # python-whois's expressions are quadratic in a line's length: 60,000 characters on
    # one line took minutes, holding the GIL (the event loop too) all along.
    doubles.whois.set_text("slowparse.io", "Creation Date: " + "1" * 60_000 + "\r\n")
    started = time.monotonic()
    obs = await lookup(doubles, "slowparse.io")
    assert time.monotonic() - started < 3
    assert obs.outcome == "malformed"
