"""The local Slack Web API server: the one Slack double of the tests and bench/slack.py.

An aiohttp app on loopback that answers the Web API methods the bot uses, keeps the
messages, views and ephemeral answers it was sent, records every call, and misbehaves
on demand:

- ``fail(method, "429", retry_after=1)``: answer 429 with Retry-After (nothing done);
- ``fail(method, "500")``: answer 500 (nothing done);
- ``fail(method, "hang", seconds=5)``: wait, then answer (the client gives up first);
- ``fail(method, "lost", seconds=5)``: do it, then wait (the answer never arrives in time,
  but the message exists: what a timeout looks like when Slack did its part);
- ``down()`` / ``up()``: every call answers 503 until ``up()``.

``response_url(name)`` gives a URL the server records posts to (slash commands and
interactive payloads carry one); ``/socket`` is a Socket Mode WebSocket (the URL
``apps.connections.open`` hands out) and ``send_envelope()`` pushes a request down it and
returns the app's acknowledgement.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TEAM = "T0WARDEN"
BOT_USER = "UBOTWARDEN"
_JSON_FIELDS = ("blocks", "view", "metadata", "attachments")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    status: int = 200


@dataclass
class Fault:
    kind: str
    count: int
    retry_after: int = 1
    seconds: float = 5.0


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    metadata: dict[str, Any] | None
    edits: int = 0
    broadcast: bool = False


@dataclass
class State:
    channels: dict[str, str] = field(default_factory=dict)  # name -> id
    messages: list[Message] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)
    ephemeral: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)


class SlackApiServer:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.state = State()
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.is_down = False
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._ids = itertools.count(1)
        self._socket: web.WebSocketResponse | None = None
        self._socket_ready = asyncio.Event()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/socket", self._websocket)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.url}/respond/{name}"

    # -- faults ------------------------------------------------------------------------

    def fail(self, method: str, kind: str, count: int = 1, *, retry_after: int = 1,
             seconds: float = 5.0) -> None:
        self.faults[method].append(Fault(kind, count, retry_after, seconds))

    def down(self) -> None:
        self.is_down = True

    def up(self) -> None:
        self.is_down = False

    def _fault(self, method: str) -> Fault | None:
        queue = self.faults.get(method) or []
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.pop(0)
        return fault

    # -- reading what happened -----------------------------------------------------------

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def top_level(self, channel: str | None = None) -> list[Message]:
        return [m for m in self.state.messages if m.thread_ts is None
                and (channel is None or m.channel == channel)]

    def thread(self, root: Message) -> list[Message]:
        return [m for m in self.state.messages if m.thread_ts == root.ts]

    def channel_id(self, name: str) -> str:
        name = name.lstrip("#")
        if name not in self.state.channels:
            self.state.channels[name] = f"C{next(self._ids):08d}"
        return self.state.channels[name]

    # -- HTTP ----------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        for name in _JSON_FIELDS:
            if isinstance(params.get(name), str):
                params[name] = json.loads(params[name])
        return params

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        call = Call(method, params, auth.removeprefix("Bearer ") or None, time.time())
        self.calls.append(call)
        if self.is_down:
            call.status = 503
            return web.Response(status=503, text="service unavailable")
        fault = self._fault(method)
        if fault is not None and fault.kind == "429":
            call.status = 429
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(fault.retry_after)})
        if fault is not None and fault.kind == "500":
            call.status = 500
            return web.Response(status=500, text="internal error")
        if fault is not None and fault.kind == "hang":
            await asyncio.sleep(fault.seconds)
        if call.token is None:
            return web.json_response({"ok": False, "error": "not_authed"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        body = handler(params) if handler else {"ok": False, "error": "unknown_method"}
        if fault is not None and fault.kind == "lost":
            await asyncio.sleep(fault.seconds)
        return web.json_response(body)

    async def _respond(self, request: web.Request) -> web.Response:
        self.state.responses.append({"name": request.match_info["name"], **await request.json()})
        return web.Response(text="ok")

    # -- methods -----------------------------------------------------------------------

    def _ts(self) -> str:
        return f"{time.time():.0f}.{next(self._ids):06d}"

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://warden-test.slack.com/", "team": "warden",
                "team_id": TEAM, "user": "warden", "user_id": BOT_USER, "bot_id": "BWARDEN"}

    def _resolve(self, channel: str) -> str:
        if channel.startswith(("C", "G", "D")) and channel[1:].isalnum() and channel.isupper():
            return channel
        if channel.startswith(("U", "W")):
            return "D" + channel[1:]  # the app's direct messages with that user
        return self.channel_id(channel)

    def _chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(str(p["channel"]))
        thread = p.get("thread_ts")
        if thread and not any(m.ts == thread and m.channel == channel for m in self.state.messages):
            return {"ok": False, "error": "thread_not_found"}
        message = Message(channel, self._ts(), str(p.get("text") or ""), p.get("blocks") or [],
                          thread, p.get("metadata"),
                          broadcast=str(p.get("reply_broadcast")).lower() in ("1", "true"))
        self.state.messages.append(message)
        return {"ok": True, "channel": channel, "ts": message.ts,
                "message": {"text": message.text, "ts": message.ts}}

    def _find(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.state.messages if m.channel == channel and m.ts == ts), None)

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._find(str(p["channel"]), str(p["ts"]))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text, message.blocks = str(p.get("text") or ""), p.get("blocks") or []
        message.edits += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        self.state.ephemeral.append(p)
        return {"ok": True, "message_ts": self._ts()}

    def _history(self, messages: list[Message]) -> dict[str, Any]:
        return {"ok": True, "has_more": False, "response_metadata": {"next_cursor": ""},
                "messages": [{"ts": m.ts, "text": m.text, "thread_ts": m.thread_ts,
                              **({"metadata": m.metadata} if m.metadata else {})}
                             for m in reversed(messages)]}

    def _conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        oldest = float(p.get("oldest") or 0)
        return self._history([m for m in self.top_level(str(p["channel"])) if float(m.ts) >= oldest])

    def _conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        root = self._find(str(p["channel"]), str(p["ts"]))
        if root is None:
            return {"ok": False, "error": "thread_not_found"}
        oldest = float(p.get("oldest") or 0)
        return self._history([root] + [m for m in self.thread(root) if float(m.ts) >= oldest])

    def _conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "response_metadata": {"next_cursor": ""},
                "channels": [{"id": i, "name": n} for n, i in self.state.channels.items()]}

    def _new_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        stored = {**view, "id": view_id or f"V{next(self._ids):08d}",
                  "hash": uuid.uuid4().hex[:12]}
        self.state.views[stored["id"]] = stored
        return {"ok": True, "view": stored}

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return self._new_view(p["view"])

    def _views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        current = self.state.views.get(str(p.get("view_id")))
        if current is None:
            return {"ok": False, "error": "not_found"}
        if p.get("hash") and p["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        return self._new_view(p["view"], current["id"])

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        self.state.homes[str(p["user_id"])] = p["view"]
        return {"ok": True, "view": {**p["view"], "id": "VHOME"}}

    def _apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}

    # -- Socket Mode ---------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._socket = ws
        await ws.send_json({"type": "hello", "num_connections": 1})
        self._socket_ready.set()
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                data = json.loads(frame.data)
                future = self._acks.pop(str(data.get("envelope_id")), None)
                if future is not None and not future.done():
                    future.set_result(data)
        return ws

    async def send_envelope(self, kind: str, payload: dict[str, Any],
                            wait: float = 10.0) -> dict[str, Any]:
        """Push a Socket Mode request to the connected app; its acknowledgement."""
        await asyncio.wait_for(self._socket_ready.wait(), wait)
        assert self._socket is not None
        envelope_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        await self._socket.send_json({"envelope_id": envelope_id, "type": kind,
                                      "payload": payload, "accepts_response_payload": True})
        return await asyncio.wait_for(future, wait)


async def _serve_until_stdin_closes() -> None:
    import sys

    server = SlackApiServer()
    print(f"READY {await server.start()}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop()


if __name__ == "__main__":  # standalone (python -m bot.netdoubles.slack), for bench/slack.py
    asyncio.run(_serve_until_stdin_closes())
