"""The web face of `warden run`: health, readiness and metrics (Slack mounts beside them)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from bot.jobs import count_open, feed_age_seconds
from bot.metrics import REGISTRY
from bot.slack.options import configured
from bot.wiring import Warden

WARDEN = web.AppKey("warden", Warden)


async def healthz(request: web.Request) -> web.Response:
    """The process is alive and its event loop answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The store answers and the feed (run by whichever replica leads) is not stale."""
    warden = request.app[WARDEN]
    try:
        async with warden.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        age = await feed_age_seconds(warden)
    except Exception as exc:  # any store failure means "not ready", with the reason
        return web.json_response({"status": "store unreachable", "error": str(exc)[:200]},
                                 status=503)
    bound = warden.settings.service.ready_max_feed_age_seconds
    if age is None or age > bound:
        return web.json_response(
            {"status": "feed stale", "feed_age_seconds": age, "bound": bound}, status=503)
    return web.json_response({"status": "ready", "feed_age_seconds": round(age, 1)})


async def metrics(request: web.Request) -> web.Response:
    await count_open(request.app[WARDEN])
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(warden: Warden, *, with_slack: bool = True) -> web.Application:
    """The web app; Slack is mounted when configured (tests mount their own variant)."""
    app = web.Application()
    app[WARDEN] = warden
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    if with_slack and configured(warden.settings):  # bot token + signing secret, or Socket Mode
        from bot.slack.app import mount  # slack-bolt loads only where Slack is used

        mount(app, warden)
    return app
