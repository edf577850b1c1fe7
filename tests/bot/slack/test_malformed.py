"""Malformed requests to POST /slack/events (issue 14, item 8).

The signature is checked before the body is read as text or parsed: a request that is
not verifiably Slack's gets 401 whatever its body or headers hold (10,000-deep JSON,
bytes that are not UTF-8, a timestamp that is not a number), and a verified request
whose body cannot be parsed gets 400 with one warning line. Neither leaves a traceback
or changes anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator, MutableMapping
from typing import Any
from urllib.parse import quote

import pytest
import structlog
from structlog.testing import capture_logs

from tests.support.slack import SECRET, Harness, finding, signed_headers

DEEP_JSON = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000
NOT_UTF8 = b'{"type": "event_callback", "x": "\xff\xfe\xc3("}'


def signed_bytes(body: bytes, content_type: str) -> dict[str, str]:
    """Slack's v0 signature over the raw bytes (slack_sdk's signer takes text only)."""
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest.hexdigest()}"}


async def post(slack: Harness, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with slack.http.post(slack.url, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


async def _state(slack: Harness, incident_id: int) -> tuple[int, int, int, str]:
    return (len(slack.api.calls), len(await slack.audit()), await slack.undelivered(),
            (await slack.incident(incident_id)).status)


@pytest.fixture
def logged() -> Iterator[list[MutableMapping[str, Any]]]:
    """The bot's log events during the test, whatever level an earlier test configured."""
    before = structlog.get_config()
    structlog.reset_defaults()
    try:
        with capture_logs() as events:
            yield events
    finally:
        structlog.configure(**before)


def assert_no_traceback(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
                        logged: list[MutableMapping[str, Any]], warnings: int) -> None:
    """No traceback anywhere, and `warnings` one-line warnings of the bot's own."""
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not [e for e in logged if "exc_info" in e or "exception" in e], logged
    said = [e["event"] for e in logged if e["log_level"] not in ("debug", "info")]
    assert said == ["slack.malformed_request"] * warnings, logged


async def test_unverified_hostile_requests_get_401_and_are_never_parsed(
        slack: Harness, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
        logged: list[MutableMapping[str, Any]]) -> None:
    incident_id = await slack.open_incident(finding())
    await slack.deliver()
    await slack.idle()
    before = await _state(slack, incident_id)
    json_ct = "application/json"
    form_ct = "application/x-www-form-urlencoded"
    good = signed_headers("{}", content_type=json_ct)
    attempts: dict[str, tuple[bytes, dict[str, str]]] = {
        "10,000-deep JSON, no signature": (DEEP_JSON.encode(), {"Content-Type": json_ct}),
        "10,000-deep JSON, wrong signature": (DEEP_OBJECT.encode(), good),
        "deep payload form, wrong signature": (
            ("payload=" + quote(DEEP_JSON)).encode(), {**good, "Content-Type": form_ct}),
        "not UTF-8, no signature": (NOT_UTF8, {"Content-Type": json_ct}),
        "not UTF-8, wrong signature": (NOT_UTF8, good),
    }
    for timestamp in ("soon", "12.5", "-1", " 1700000000", "\uff11" * 10, "9" * 5000, ""):
        attempts[f"timestamp {timestamp[:12]!r}"] = (
            b"{}", {**good, "X-Slack-Request-Timestamp": timestamp})
    for what, (body, headers) in attempts.items():
        status, text = await post(slack, body, headers)
        assert status == 401, (what, status, text)
    await slack.idle()
    assert await _state(slack, incident_id) == before
    assert_no_traceback(caplog, capsys, logged, warnings=0)


VERIFIED_BUT_UNPARSABLE: dict[str, tuple[bytes, str]] = {
    "10,000-deep JSON": (DEEP_JSON.encode(), "application/json"),
    "10,000-deep object": (DEEP_OBJECT.encode(), "application/json"),
    "10,000-deep payload": (("payload=" + quote(DEEP_JSON)).encode(),
                            "application/x-www-form-urlencoded"),
    "not UTF-8": (NOT_UTF8, "application/json"),
    "a payload that is no JSON": (b"payload=%7B%22type", "application/x-www-form-urlencoded"),
    "JSON that is no object": (b"[1, 2]", "application/json"),
    "a payload of the wrong shape": (("payload=" + quote(json.dumps(
        {"type": "block_actions", "team": 5, "user": "x", "actions": 1}))).encode(),
        "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("what", list(VERIFIED_BUT_UNPARSABLE))
async def test_verified_unparsable_requests_get_400_with_one_warning(
        slack: Harness, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
        logged: list[MutableMapping[str, Any]], what: str) -> None:
    body, content_type = VERIFIED_BUT_UNPARSABLE[what]
    incident_id = await slack.open_incident(finding())
    await slack.deliver()
    await slack.idle()
    before = await _state(slack, incident_id)
    capsys.readouterr()
    logged.clear()
    status, text = await post(slack, body, signed_bytes(body, content_type))
    assert status == 400, (what, status, text)
    await slack.idle()
    assert await _state(slack, incident_id) == before
    assert_no_traceback(caplog, capsys, logged, warnings=1)


async def test_a_well_formed_request_still_works_after_malformed_ones(slack: Harness) -> None:
    incident_id = await slack.open_incident(finding())
    await slack.deliver()
    await slack.idle()
    assert (await post(slack, NOT_UTF8, signed_bytes(NOT_UTF8, "application/json")))[0] == 400
    assert (await post(slack, DEEP_JSON.encode(), {"Content-Type": "application/json"}))[0] == 401
    clicked = await slack.click("inc_ack", str(incident_id))
    assert clicked.status == 200
    await slack.settle()
    assert (await slack.incident(incident_id)).status == "acknowledged"
