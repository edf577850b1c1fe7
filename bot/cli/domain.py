"""`warden domain`: maintainer email domains: check, sweep, history, bootstrap."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.resources import as_file
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.cli.common import (
    ConfigOption,
    JsonOption,
    err,
    fail,
    out,
    run_async,
    settings_from,
    with_warden,
)
from bot.cli.plain import markup, plain
from bot.jobs import domain_sweep, read_accounts
from bot.pipeline import Pipeline
from bot.wiring import Warden
from detectors.domains.check import CheckOptions, check_domains
from detectors.domains.coverage import coverage as measure_coverage
from detectors.domains.coverage import publish
from detectors.domains.detector import DomainDetector
from detectors.domains.history import history, load_row_by_name
from detectors.domains.names import BadDomain, registrable_domain
from detectors.domains.plan import enqueue, sync_domains
from detectors.domains.rdap import (
    BUNDLED_BOOTSTRAP,
    IANA_BOOTSTRAP_URL,
    dump_bootstrap,
    fetch_bootstrap,
)
from detectors.domains.settings import split_host_port

app = typer.Typer(help="Maintainer email domains: expiring, lapsed, resurrected.",
                  no_args_is_help=True)
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "warning": "yellow", "info": "dim"}


def _domains(values: list[str]) -> list[str]:
    """Registrable domains of the arguments (domains or email addresses), deduplicated."""
    names: list[str] = []
    for value in values:
        host = value.rpartition("@")[2]
        try:
            name = registrable_domain(host)
        except BadDomain as exc:
            raise fail(str(exc)) from None
        if name not in names:
            names.append(name)
    return names


@app.command("check")
def check(
    domains: Annotated[list[str], typer.Argument(help="Domains (or email addresses).")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
    rdap_url: Annotated[str | None, typer.Option(
        "--rdap-url", help="Send every RDAP query to {URL}/domain/{name}.")] = None,
    resolver: Annotated[str | None, typer.Option(
        "--resolver", help="DNS resolver HOST[:PORT] (default: domains.resolver).")] = None,
    skip_dns: Annotated[bool, typer.Option("--skip-dns", help="RDAP (and WHOIS) only.")] = False,
    as_of: Annotated[datetime | None, typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="Evaluate the rules as on this date.")] = None,
) -> None:
    """Full report for each domain. Exit 0: clean, 1: findings, 2: usage."""
    names = _domains(domains)
    if rdap_url is not None and not rdap_url.startswith(("http://", "https://")):
        raise fail("--rdap-url must be an http:// or https:// URL")
    if resolver is not None:
        try:
            split_host_port(resolver, 53)
        except ValueError as exc:
            raise fail(f"--resolver: {exc}") from None
    settings = settings_from(config)
    opts = CheckOptions(rdap_url=rdap_url, resolver=resolver, skip_dns=skip_dns,
                        as_of=as_of.replace(tzinfo=UTC) if as_of else None)

    async def work(warden: Warden) -> list[dict[str, Any]]:
        return await check_domains(names, settings.domains, opts, warden.sessions,
                                   datetime.now(UTC))

    reports = run_async(lambda: with_warden(settings, work))
    for report in reports:
        if as_json:
            typer.echo(json.dumps(report))
            continue
        facts = [f"expires {report['expires'][:10]}" if report["expires"] else "",
                 f"registered {report['registered'][:10]}" if report["registered"] else "",
                 report["registrar"] or ""]
        # Registrar, nameservers, statuses and summaries quote the RDAP server: plain text.
        out.print(markup("[bold]{}[/]: {}  {}", report["domain"], report["state"],
                         "  ".join(f for f in facts if f)))
        if report["nameservers"]:
            out.print(plain(f"  nameservers: {', '.join(report['nameservers'])}"))
        if report["statuses"]:
            out.print(plain(f"  statuses: {', '.join(report['statuses'])}"))
        for finding in report["findings"]:
            style = SEVERITY_STYLE.get(finding["severity"], "")
            out.print(plain("  ") + plain(f"{finding['severity']:>8}", style)
                      + plain(f" {finding['kind']}: {finding['summary']}"))
    if any(r["findings"] for r in reports):
        raise typer.Exit(1)


@app.command("sweep")
def sweep(
    config: ConfigOption = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Check these domains now (repeatable).")] = None,
    critical_only: Annotated[bool, typer.Option(
        "--critical-only", help="Only critical maintainers' domains.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what a sweep would check; check and store nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run the domain sweep now (resuming an interrupted one). Exit 1 if it raised findings.

    The same path as the scheduled job: the maintainers' accounts are read first (from
    the index's database when playbooks.warehouse_url is set, else package metadata)."""
    names = _domains(only) if only else None
    settings = settings_from(config)
    cfg = settings.domains

    async def plan_only(warden: Warden) -> dict[str, Any]:
        # The accounts are read as the sweep reads them (that is what there is to plan);
        # no domain is checked and the plan is rolled back.
        await read_accounts(warden, datetime.now(UTC))
        async with warden.sessions() as session:
            try:
                stats = await sync_domains(session, cfg, datetime.now(UTC))
                planned = await enqueue(session, cfg, datetime.now(UTC), only=names,
                                        critical_only=critical_only)
                return {"dry_run": True, "planned": planned.planned, **planned.stats,
                        "bad_addresses": len(stats.bad)}
            finally:
                await session.rollback()  # a dry run leaves the store as it was

    async def run(warden: Warden) -> dict[str, Any]:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, disable=as_json) as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(f"{stage:>8}", total=total)
                bar.update(tasks[stage], completed=done, total=max(total, done))

            detector = DomainDetector(cfg, sessions=warden.sessions, progress=progress,
                                      only=names, critical_only=critical_only, force=True)
            pipeline = Pipeline(warden.sessions, settings, [detector], warden.pipeline.tracked,
                                warden.pipeline.notifiers)
            incidents = await domain_sweep(warden, pipeline)  # the scheduled job's path
        report = detector.last_report
        return {"incidents": sorted(set(incidents)), **(asdict(report) if report else {})}

    summary = run_async(lambda: with_warden(settings, plan_only if dry_run else run))
    if as_json:
        typer.echo(json.dumps(summary, default=str))
    else:
        for key, value in summary.items():
            out.print(plain(f"{key:>18}: {value}"))
    if summary.get("incidents"):
        raise typer.Exit(1)


@app.command("coverage")
def show_coverage(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """How much of the maintainers' domains the sweep covers: accounts, domains, how many
    were checked within the period (domains.everyone_every_days), the oldest check."""
    settings = settings_from(config)

    async def work(warden: Warden) -> dict[str, Any]:
        now = datetime.now(UTC)
        async with warden.sessions() as session:
            found = await measure_coverage(session, settings.domains, now)
        publish(found, now)
        return found.as_dict()

    data = run_async(lambda: with_warden(settings, work))
    if as_json:
        typer.echo(json.dumps(data))
        return
    out.print(plain(
        f"accounts: {data['accounts']}  domains: {data['domains']} "
        f"(critical {data['critical_domains']}, from package metadata only "
        f"{data['metadata_only_domains']})"))
    out.print(plain(
        f"checked within {data['period_days']} days: {data['checked_within_period']} "
        f"({data['share_checked']:.1%}); critical within {data['critical_period_days']} "
        f"day(s): {data['critical_checked_within_period']}; never checked: "
        f"{data['never_checked']}"))
    out.print(plain(f"oldest check: {data['oldest_check'] or '-'}"))


@app.command("history")
def show_history(
    domain: Annotated[str, typer.Argument(help="Domain (or email address).")],
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Every stored observation of a domain, newest first."""
    name = _domains([domain])[0]
    settings = settings_from(config)

    async def work(warden: Warden) -> list[dict[str, Any]] | None:
        async with warden.sessions() as session:
            row = await load_row_by_name(session, name)
            if row is None:
                return None
            return [{"source": o.source, "server": o.server, "outcome": o.outcome,
                     "evidence": o.evidence, "first_seen_at": o.first_seen_at.isoformat(),
                     "last_seen_at": o.last_seen_at.isoformat(), "times": o.times,
                     "data": o.data} for o in await history(session, row.id, limit)]

    rows = run_async(lambda: with_warden(settings, work))
    if rows is None:
        raise fail(f"no observations of {name}", code=1)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("first seen", "last seen", "times", "source", "outcome", "facts", box=None)
    for r in rows:
        data = r["data"]
        facts = data.get("detail") or ", ".join(
            str(v) for v in (data.get("ns") or data.get("nameservers") or [])) or ""
        if data.get("expires"):
            facts = f"expires {data['expires'][:10]} {', '.join(data.get('statuses', []))}"
        table.add_row(*map(plain, (  # observations quote DNS, RDAP and WHOIS answers
            r["first_seen_at"][:16], r["last_seen_at"][:16], r["times"], r["source"],
            r["outcome"] + ("" if r["evidence"] else " (no evidence)"), facts)))
    out.print(table)


@app.command("bootstrap")
def bootstrap(
    url: Annotated[str, typer.Option("--url", help="Where to fetch it.")] = IANA_BOOTSTRAP_URL,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write here (default: domains.rdap_bootstrap, else the bundled copy).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Refresh the RDAP bootstrap file (TLD -> RDAP server) from IANA."""
    settings = settings_from(config)
    try:
        data = run_async(lambda: fetch_bootstrap(url))
    except (ValueError, OSError, aiohttp.ClientError) as exc:
        raise fail(f"could not refresh the bootstrap file: {exc}", code=1) from None
    # The bundled copy is package data: in an installed wheel it may not be writable.
    with as_file(BUNDLED_BOOTSTRAP) as bundled:
        target = output or Path(settings.domains.rdap_bootstrap or bundled)
        try:
            target.write_text(dump_bootstrap(data), encoding="utf-8")
        except OSError as exc:
            raise fail(f"could not write {target}: {exc.strerror or exc}; "
                       "choose a file with --output or domains.rdap_bootstrap", code=1) from None
    out.print(plain(f"wrote {len(data['services'])} services "
                    f"(published {data.get('publication')}) to {target}"))
