"""Slack app: time to HTTP response under 200 concurrent signed interactive requests.

Three processes, as in production: the app as `warden run` serves it (the bot's web app
with Slack mounted, its store), the local Slack Web API server of the tests (standing in
for Slack), and this load generator. 200 correctly signed requests (Acknowledge, Assign
to me, False positive and Restore buttons on 200 open incidents) are sent at once; each
request's time to HTTP response is measured. Slack's limit is 3 s; the target is p99 <
100 ms. Between bursts the work after the acks (status changes and their audit rows,
refusals, modals) is awaited through the store.

Baseline in the same run: the same burst against GET /healthz (the HTTP stack alone).

    python bench/slack.py [--requests 200] [--rounds 3] [--store-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from slack_sdk.signature import SignatureVerifier  # noqa: E402

SECRET = "bench-signing-secret"
ADMINS = ["UBENCH001", "UBENCH002"]
BUTTONS = ("inc_ack", "inc_assign", "inc_fp", "inc_pb:restore")


# -- the app (child process) ---------------------------------------------------------


async def serve(store_url: str, incidents: int, api_url: str) -> None:
    import sqlalchemy as sa
    from aiohttp import web

    from bot.config import load_settings
    from bot.incidents import record_finding
    from bot.slack.app import SLACK
    from bot.store.models import Incident
    from bot.types import Evidence, Finding, Severity
    from bot.web import build_app
    from bot.wiring import Warden

    os.environ.update(SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET)
    settings = load_settings(None, store={"url": store_url}, access={"admins": ADMINS},
                             notify={"console": False}, slack={"api_url": api_url},
                             log={"level": "error"})
    warden = await Warden.open(settings, notifiers={})
    async with warden.sessions.begin() as s:
        if not (await s.execute(sa.select(Incident.id).limit(1))).first():
            for n in range(incidents):
                await record_finding(s, Finding(
                    "critical", "project-removed", f"project:bench-{n}", Severity.CRITICAL,
                    f"Critical project bench-{n} was removed",
                    (Evidence(f"changelog #{n}: remove project", serial=n),), ("restore",),
                ), datetime.now(UTC), [])
    app = build_app(warden)  # mounts Slack: the bench sets its credentials
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
    await app[SLACK].background.idle(60)
    await runner.cleanup()
    await warden.close()


# -- the load (this process) -----------------------------------------------------------


def signed(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = "payload=" + quote(json.dumps(payload))
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or ""
    return body.encode(), {"Content-Type": "application/x-www-form-urlencoded",
                           "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def click(n: int, round_: int) -> dict[str, Any]:
    return {"type": "block_actions", "team": {"id": "TBENCH"}, "api_app_id": "ABENCH",
            "user": {"id": ADMINS[n % 2], "team_id": "TBENCH"},
            "trigger_id": f"trigger.{round_}.{n}", "channel": {"id": "CBENCH001"},
            "container": {"type": "message", "channel_id": "CBENCH001"},
            "actions": [{"action_id": BUTTONS[n % len(BUTTONS)], "value": str(n + 1),
                         "type": "button", "block_id": "b", "action_ts": f"{time.time():.6f}",
                         "round": round_}]}


async def burst(http: aiohttp.ClientSession, requests: Sequence[tuple[str, str, bytes | None,
                dict[str, str]]]) -> tuple[list[float], list[int]]:
    async def one(method: str, url: str, body: bytes | None,
                  headers: dict[str, str]) -> tuple[float, int]:
        started = time.perf_counter()
        async with http.request(method, url, data=body, headers=headers) as resp:
            await resp.read()
        return time.perf_counter() - started, resp.status

    results = await asyncio.gather(*(one(*r) for r in requests))
    return [r[0] for r in results], [r[1] for r in results]


def summary(label: str, seconds: list[float], statuses: list[int]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    within = sum(1 for s in seconds if s <= 3.0) / len(seconds)
    ok = sum(1 for s in statuses if s == 200)
    return (f"{label:<28} p50 {statistics.median(ordered) * 1000:7.1f} ms   "
            f"p99 {p99 * 1000:7.1f} ms   max {ordered[-1] * 1000:7.1f} ms   "
            f"within 3 s {within:6.1%}   HTTP 200 {ok}/{len(statuses)}")


async def audited(store_url: str) -> int:
    """Audit rows: each Acknowledge and Assign click ends as one (done or refused)."""
    import sqlalchemy as sa

    from bot.store.db import create_engine
    from bot.store.models import AuditEntry

    engine = create_engine(store_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(
                sa.select(sa.func.count()).select_from(AuditEntry))).scalar_one())
    finally:
        await engine.dispose()


def start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    """A child process that prints READY <address> when it serves (log lines may come first)."""
    child = subprocess.Popen([sys.executable, *args], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    assert child.stdout is not None
    while line := child.stdout.readline():
        if line.startswith("READY "):
            return child, line.split()[1]
    raise SystemExit(f"{args[0]} did not start")


def stop(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    child.wait(timeout=60)


async def main(requests: int, rounds: int, store_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="warden-bench-slack-") as tmp:
        url = store_url or f"sqlite+aiosqlite:///{Path(tmp) / 'warden.db'}"
        from bot.store.migrate import upgrade_async

        await upgrade_async(url)
        slack, api = start(["-m", "bot.netdoubles.slack"])
        app, port = start([__file__, "--serve", "--store-url", url, "--incidents", str(requests),
                           "--api-url", f"{api}/api/"])
        base = f"http://127.0.0.1:{port}"
        store = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"{requests} concurrent requests per burst, {rounds} round(s), store {store}, "
              f"{os.cpu_count()} CPU(s)")
        connector = aiohttp.TCPConnector(limit=0)
        clicks = sum(1 for n in range(requests) if BUTTONS[n % len(BUTTONS)] in
                     ("inc_ack", "inc_assign"))
        before = await audited(url)  # a reused --store-url may hold earlier runs' rows
        try:
            async with aiohttp.ClientSession(connector=connector) as http:
                await burst(http, [("GET", f"{base}/healthz", None, {})] * 20)  # warm up
                for round_ in range(rounds):
                    health = await burst(http, [("GET", f"{base}/healthz", None, {})] * requests)
                    print(summary("baseline GET /healthz", *health))
                    signed_requests = [("POST", f"{base}/slack/events", *signed(click(n, round_)))
                                       for n in range(requests)]
                    started = time.perf_counter()
                    print(summary("signed interactive requests", *await burst(http, signed_requests)))
                    for _ in range(1200):  # another process's work: poll its store, 60 s at most
                        if await audited(url) - before >= clicks * (round_ + 1):
                            break
                        await asyncio.sleep(0.05)
                    print(f"{'':<28} work after the acks ({clicks} status changes or refusals, "
                          f"audited) done {time.perf_counter() - started:.2f} s after the burst")
                    await asyncio.sleep(0.5)  # modals and ephemeral answers finish too
        finally:
            stop(app)
            stop(slack)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store-url", default=None,
                        help="the bot's store (default: a fresh SQLite file)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--incidents", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.store_url, args.incidents, args.api_url))
    else:
        asyncio.run(main(args.requests, args.rounds, args.store_url))
