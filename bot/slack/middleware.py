"""Global middleware: replay protection, the dependencies, and the admin check.

Order on a request over HTTP: the signature check on the raw bytes (bot.slack.inbound:
401 unverified, 400 unparsable) → bolt's own signature check (signing secret, 5-minute
window) → `ReplayGuard` (before authorization, so a refused request costs no Web API call)
→ authorization → `AttachDeps` → `AdminGuard` → the listener.

Replays: bolt accepts any correctly signed request within the window, so a captured
request could be sent again; bot.slack.replay remembers accepted signatures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.actions.errors import NotAuthorized
from bot.slack.deps import CONTEXT_KEY, SlackDeps
from bot.slack.replay import SeenSignatures
from bot.slack.reply import Who, tell

__all__ = ["AdminGuard", "AttachDeps", "ReplayGuard", "refusal_text"]

Next = Callable[[], Awaitable[BoltResponse]]


class ReplayGuard(AsyncMiddleware):
    """401 for a request whose signature was accepted before (see bot.slack.replay)."""

    def __init__(self, seen: SeenSignatures) -> None:
        self.seen = seen

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Next) -> BoltResponse | None:
        if req.mode == "socket_mode":  # no signature: the app token authenticates the socket
            return await next()
        signature = (req.headers.get("x-slack-signature") or [""])[0]
        if not signature or not await self.seen.first_time(signature):
            return BoltResponse(status=401, body={"error": "invalid request"})
        return await next()


class AttachDeps(AsyncMiddleware):
    """Puts the shared dependencies in the context (listeners read them with deps_of)."""

    def __init__(self, deps: SlackDeps) -> None:
        self.deps = deps

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Next) -> BoltResponse | None:
        req.context[CONTEXT_KEY] = self.deps
        return await next()


def refusal_text(user: str) -> str:
    return (f"Only index-warden admins can do that: <@{user}> is not in `access.admins`. "
            "The attempt was recorded in the audit log.")


def _what(body: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(audit action, target, detail) describing an interaction."""
    if body.get("command"):
        text = str(body.get("text") or "")
        return f"slack.command {body['command']}", "slack", {"text": text[:500]}
    kind = str(body.get("type") or "unknown")
    if kind == "block_actions":
        action = (body.get("actions") or [{}])[0]
        action_id, value = str(action.get("action_id", "")), str(action.get("value") or "")
        prefix = {"inc": "incident", "run": "run"}.get(action_id.partition("_")[0])
        target = f"{prefix}:{value}" if prefix and value.isdigit() else "slack"
        return f"slack.button {action_id}", target, {}
    if kind == "view_submission":
        return f"slack.view {(body.get('view') or {}).get('callback_id')}", "slack", {}
    return f"slack.{kind}", "slack", {}


class AdminGuard(AsyncMiddleware):
    """Only the Slack user IDs in access.admins get past; the others are told and audited."""

    def __init__(self, deps: SlackDeps) -> None:
        self.deps = deps

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Next) -> BoltResponse | None:
        body = req.body
        user = req.context.user_id or ""
        # Events carry no action; App Home shows non-admins a notice instead of incidents.
        if body.get("type") == "event_callback" or user in self.deps.options.admins:
            return await next()
        action, target, detail = _what(body)
        gate = self.deps.gate  # the door's own check, here before any listener runs
        await gate.refuse(NotAuthorized(gate.why_not(user)), actor=user, action=action,
                          target=target, via="slack", **detail)
        text = refusal_text(user)
        if body.get("command"):
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
        if body.get("type") == "view_submission":
            state = ((body.get("view") or {}).get("state") or {}).get("values") or {}
            errors = {block: text[:150] for block in list(state)[:1]}
            return BoltResponse(status=200, body={"response_action": "errors", "errors": errors}
                                if errors else "")
        self.deps.spawn(tell(req.context.client, Who.of(body), text), "refusal")
        return BoltResponse(status=200, body="")
