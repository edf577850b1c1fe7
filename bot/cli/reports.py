"""`warden reports`: malware reports from the index's database — poll once, statistics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from bot.cli.common import ConfigOption, JsonOption, err, fail, out, run_async, settings_from, with_warden
from bot.cli.plain import plain
from bot.config import Settings
from bot.feed.reports_stats import report_stats
from bot.wiring import Warden
from playbooks.index_admin.warehouse_connect import WarehouseUnavailable, open_engine

app = typer.Typer(help="Malware reports (Warehouse's is_malware observations).",
                  no_args_is_help=True)


def _warehouse_url(settings: Settings) -> str:
    url = settings.reports.warehouse_url or settings.playbooks.warehouse_url
    if not url:
        raise fail("reports need a Warehouse database: set reports.warehouse_url "
                   "(or playbooks.warehouse_url)")
    return url


def _day(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise fail(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "-"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.1f} h" if minutes < 48 * 60 else f"{minutes / 1440:.1f} d"


@app.command("poll")
def poll(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Read new reports into incidents once, and close those decided meanwhile."""
    settings = settings_from(config)
    _warehouse_url(settings)

    async def work(warden: Warden) -> dict[str, Any]:
        if warden.reports is None:
            raise fail("reports are disabled (reports.enabled)")
        polled = await warden.reports.poll()
        closed = await warden.reports.settle()
        await warden.feed.deliver()
        return {"reports": polled.reports, "incidents": sorted(set(polled.incidents)),
                "closed": closed,
                "cursor": polled.cursor.isoformat() if polled.cursor else None}

    result = run_async(lambda: with_warden(settings, work, json_output=as_json))
    if as_json:
        out.print_json(json.dumps(result))
        return
    out.print(f"{result['reports']} new report(s); incidents opened or updated: "
              f"{', '.join(f'#{i}' for i in result['incidents']) or 'none'}; closed by a "
              f"verdict: {', '.join(f'#{i}' for i in result['closed']) or 'none'}")


@app.command("stats")
def stats(
    days: Annotated[float, typer.Option("--days", min=0.01,
                                        help="The period: this many days up to --until.")] = 30,
    since: Annotated[str | None, typer.Option("--since", help="Start (YYYY-MM-DD, UTC); "
                                              "overrides --days.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="End (YYYY-MM-DD, UTC, "
                                              "exclusive); default now.")] = None,
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Time to verdict (percentiles) and each observer's accuracy over a period."""
    settings = settings_from(config)
    url = _warehouse_url(settings)
    end = _day(until, "--until") or datetime.now(UTC)
    start = _day(since, "--since") or end - timedelta(days=days)
    if start >= end:
        raise fail("--since must be before --until")

    async def work() -> dict[str, Any]:
        try:
            engine = await open_engine(url)
        except WarehouseUnavailable as exc:
            raise fail(str(exc)) from None
        try:
            return (await report_stats(engine, start, end)).as_dict()
        finally:
            await engine.dispose()

    result = run_async(work)
    if as_json:
        out.print_json(json.dumps(result))
        return
    p = result["time_to_verdict_seconds"]
    out.print(f"{result['since'][:16]} .. {result['until'][:16]} UTC: {result['reports']} "
              f"report(s), {result['decided']} decided, {result['pending']} pending")
    out.print("time to verdict: " + ", ".join(f"{k} {_duration(v)}" for k, v in p.items())
              + (f"; {result['decided_within_4h']}% within 4 h"
                 if result["decided_within_4h"] is not None else ""))
    if result["oldest_pending_seconds"] is not None:
        out.print(f"oldest pending report has waited {_duration(result['oldest_pending_seconds'])}")
    if result["verdicts"]:
        out.print("verdicts: " + ", ".join(f"{k} {v}" for k, v in result["verdicts"].items()))
    for o in result["observers"]:
        accuracy = "-" if o["accuracy"] is None else f"{o['accuracy']:g}%"
        out.print(plain(f"  {o['observer']:<24} {'trusted' if o['trusted'] else '':<8}"
                        f"{o['reports']:>5} report(s)  {o['confirmed']} confirmed, "
                        f"{o['false_positives']} false positive(s), {o['pending']} pending, "
                        f"accuracy {accuracy}"))
    if not result["observers"]:
        err.print("no reports in the period")
