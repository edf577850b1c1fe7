"""POST /slack/events: the signature is checked on the bytes received, before anything
reads them as text or parses them.

Bolt's aiohttp adapter decodes and parses the body (JSON, form, the `payload` field)
before bolt's own signature check runs, so an unsigned request with 10,000-deep JSON or
bytes that are not UTF-8 got a 500 and a traceback; a non-numeric timestamp made
slack_sdk's verifier raise. Here:

- not verifiably Slack's (signature or timestamp missing, repeated or malformed, out of
  the 5-minute window, wrong) -> 401, and the body is never decoded or parsed;
- verified, but the body is not UTF-8, not JSON or form data bolt can read, or not the
  shape bolt expects -> 400 and one warning line;
- verified and parsed -> bolt, whose own check, replay guard and listeners run as before.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from multidict import CIMultiDictProxy
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.plaintext import reveal
from bot.slack.deps import SlackDeps

__all__ = ["RawBodyVerifier", "events_handler", "parse_request"]

log = structlog.get_logger(__name__)

TIMESTAMP = "X-Slack-Request-Timestamp"
SIGNATURE = "X-Slack-Signature"
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: int() also takes " 1", "1_0", other scripts' digits
# What bolt's parser and context builder raise on a body they cannot read: bad UTF-8 and
# bad JSON (ValueError), nesting deeper than the interpreter's limit (RecursionError),
# and fields of the wrong type where bolt expects Slack's shapes (the others).
_UNPARSABLE = (ValueError, RecursionError, TypeError, AttributeError, KeyError, IndexError)


class MalformedRequest(Exception):
    """A verified request whose body cannot be read; str() says why, in one line."""


class RawBodyVerifier(SignatureVerifier):
    """slack_sdk's verifier (5-minute window, constant-time comparison), signing the bytes
    as received: its own generate_signature decodes bytes as UTF-8 first, which raises on
    a body that is not UTF-8 and so could not tell a forged one (401) from Slack's (400)."""

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        if isinstance(body, str):
            return super().generate_signature(timestamp=timestamp, body=body)
        message = b"v0:" + timestamp.encode("ascii") + b":" + body
        digest = hmac.new(self.signing_secret.encode(), message, hashlib.sha256).hexdigest()
        return f"v0={digest}"

    def verifies(self, body: bytes, headers: CIMultiDictProxy[str]) -> bool:
        """Whether the request is Slack's; never raises."""
        timestamps, signatures = headers.getall(TIMESTAMP, []), headers.getall(SIGNATURE, [])
        if len(timestamps) != 1 or len(signatures) != 1:
            return False  # bolt reads the last of repeated headers, aiohttp the first
        timestamp, signature = timestamps[0], signatures[0]
        # compare_digest refuses non-ASCII text with TypeError; int() takes more than digits.
        if not _DIGITS.fullmatch(timestamp) or not signature.isascii():
            return False
        return self.is_valid(body=body, timestamp=timestamp, signature=signature)


def parse_request(body: bytes, request: web.Request) -> AsyncBoltRequest:
    """Bolt's request for a verified body, or MalformedRequest."""
    try:
        return AsyncBoltRequest(body=body.decode("utf-8"), query=request.query_string,
                                headers=request.headers)  # type: ignore[arg-type]
    except _UNPARSABLE as exc:
        raise MalformedRequest(f"{type(exc).__name__}: {reveal(str(exc)[:200])}") from None


def events_handler(bolt: AsyncApp, deps: SlackDeps, signing_secret: str
                   ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """POST /slack/events: verify, parse, then bolt (through its aiohttp adapter)."""
    verifier = RawBodyVerifier(signing_secret)

    async def slack_events(request: web.Request) -> web.StreamResponse:
        body = await request.read()  # capped by the app's client_max_size (413 above)
        if not verifier.verifies(body, request.headers):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = parse_request(body, request)
        except MalformedRequest as exc:
            log.warning("slack.malformed_request", error=str(exc), bytes=len(body))
            return web.json_response({"error": "malformed request"}, status=400)
        with deps.background.answering():
            response = await bolt.async_dispatch(bolt_request)
            return await to_aiohttp_response(response)

    return slack_events
