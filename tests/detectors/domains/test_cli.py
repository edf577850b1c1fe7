"""`warden domain check|history|sweep`: the command contract, against servers in a thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.domain import app
from bot.config import Settings
from bot.netdoubles import NetDoubles, RdapDomain, ZoneSpec, threaded
from detectors.domains.rdap import Bootstrap
from tests.support import REPO

CONTRACT_KEYS = {"domain", "state", "expires", "registered", "last_changed", "registrar",
                 "nameservers", "statuses", "findings"}


def _setup(d: NetDoubles) -> None:
    for name in ("fine.com", "soon.com", "lapsed.com", "redeem.com", "deleting.com", "held.com",
                 "broken.com", "parked.com", "quiet.com"):
        d.dns.set_zone(name)
    d.dns.set_zone("parked.com", ZoneSpec(ns=("ns1.bodis.com", "ns2.bodis.com")))
    d.dns.set_zone("quiet.com", ZoneSpec(behaviour="timeout"))
    d.rdap.set_domain("fine.com")
    d.rdap.set_domain("quiet.com")
    d.rdap.expire_in("soon.com", 9)
    d.rdap.set_domain("lapsed.com", RdapDomain(state="grace"))
    d.rdap.set_domain("redeem.com", RdapDomain(state="redemption"))
    d.rdap.set_domain("deleting.com", RdapDomain(state="pending-delete"))
    d.rdap.set_domain("held.com", RdapDomain(state="hold"))
    d.rdap.set_domain("parked.com", RdapDomain(nameservers=("ns1.bodis.com",)))
    d.rdap.set_raw("broken.com", 200, '{"objectClassName": "domain", "events": {"oops": 1}}')
    d.rdap.set_domain("old.com", RdapDomain(expires=datetime(2022, 5, 20, tzinfo=UTC)))


@pytest.fixture(scope="module")
def servers() -> Iterator[NetDoubles]:
    with threaded(setup=_setup) as doubles:
        yield doubles


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env: None) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no ./config/warden.toml: the defaults, plus the env below
    monkeypatch.setenv("WARDEN_STORE_URL", f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("WARDEN_LOG_LEVEL", "error")
    return CliRunner()


def check(cli: CliRunner, servers: NetDoubles, *args: str) -> tuple[int, list[dict[str, object]]]:
    result = cli.invoke(app, ["check", "--json", "--rdap-url", servers.rdap.base_url.rstrip("/"),
                              "--resolver", servers.dns.resolver, *args])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines


def test_clean_domain_exits_0_with_the_contract_fields(cli: CliRunner, servers: NetDoubles) -> None:
    code, [report] = check(cli, servers, "fine.com")
    assert code == 0 and set(report) == CONTRACT_KEYS
    assert report["domain"] == "fine.com" and report["state"] == "active"
    assert report["registrar"] == "Example Registrar, Inc."
    assert report["nameservers"] == ["ns1.dns-host.example", "ns2.dns-host.example"]
    assert report["registered"] == "2015-03-01T12:00:00+00:00" and report["findings"] == []


@pytest.mark.parametrize(("domain", "state", "kinds"), [
    ("soon.com", "expiring", {("expiring", "warning")}),
    ("lapsed.com", "grace", {("expired", "high")}),
    ("redeem.com", "redemption", {("redemption", "high")}),
    ("deleting.com", "pending-delete", {("pending-delete", "high")}),
    ("held.com", "hold", {("hold", "warning")}),
    ("gone.com", "unregistered", {("unregistered", "high")}),
    ("parked.com", "active", {("parked", "critical")}),
    ("broken.com", "unknown", {("unknown", "info")}),
])
def test_states_and_findings(cli: CliRunner, servers: NetDoubles, domain: str, state: str,
                             kinds: set[tuple[str, str]]) -> None:
    code, [report] = check(cli, servers, f"someone@{domain}")
    assert code == 1 and report["state"] == state
    findings: list[dict[str, str]] = report["findings"]  # type: ignore[assignment]
    assert {(f["kind"], f["severity"]) for f in findings} == kinds


def test_malformed_answer_says_why(cli: CliRunner, servers: NetDoubles) -> None:
    _, [report] = check(cli, servers, "broken.com")
    findings: list[dict[str, str]] = report["findings"]  # type: ignore[assignment]
    assert len(findings) == 1 and "'events' is a dict, not a list" in findings[0]["summary"]


def test_dns_timeout_is_not_evidence(cli: CliRunner, servers: NetDoubles) -> None:
    code, [report] = check(cli, servers, "quiet.com")
    assert (code, report["state"], report["findings"]) == (0, "active", [])


def test_skip_dns_asks_no_dns(cli: CliRunner, servers: NetDoubles) -> None:
    before = servers.dns.asked["fine.org"]
    servers.rdap.set_domain("fine.org")
    code, [report] = check(cli, servers, "--skip-dns", "fine.org")
    assert code == 0 and report["state"] == "active"
    assert servers.dns.asked["fine.org"] == before


def test_as_of_evaluates_old_evidence(cli: CliRunner, servers: NetDoubles) -> None:
    code, [then] = check(cli, servers, "--skip-dns", "--as-of", "2022-05-01", "old.com")
    assert code == 1 and then["state"] == "expiring"
    _, [later] = check(cli, servers, "--skip-dns", "--as-of", "2022-06-01", "old.com")
    assert later["state"] == "grace"


def test_many_domains_one_object_each(cli: CliRunner, servers: NetDoubles) -> None:
    code, reports = check(cli, servers, "fine.com", "a@soon.com", "b@mail.soon.com", "held.com")
    assert code == 1 and [r["domain"] for r in reports] == ["fine.com", "soon.com", "held.com"]


@pytest.mark.parametrize("args", [
    ["check", "not a domain"], ["check", "alice@co.uk"],
    ["check", "--as-of", "2022-13-01", "fine.com"],
    ["check", "--rdap-url", "ftp://example", "fine.com"],
    ["check", "--resolver", "127.0.0.1:99999", "fine.com"],
    ["check"],
])
def test_usage_errors_exit_2(cli: CliRunner, args: list[str]) -> None:
    assert cli.invoke(app, args).exit_code == 2


def test_history_shows_what_check_recorded(cli: CliRunner, servers: NetDoubles) -> None:
    check(cli, servers, "lapsed.com")
    check(cli, servers, "lapsed.com")
    result = cli.invoke(app, ["history", "--json", "lapsed.com"])
    rows = json.loads(result.stdout)
    assert result.exit_code == 0
    assert {(r["source"], r["outcome"], r["times"]) for r in rows} == {
        ("dns", "noerror", 2), ("rdap", "found", 2)}
    assert cli.invoke(app, ["history", "never-seen.com"]).exit_code == 1


@pytest.mark.skipif("domains" not in Settings.model_fields,
                    reason="needs the [domains] section registered in Settings")
def test_sweep_command(
    cli: CliRunner, servers: NetDoubles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDEN_DOMAINS_RESOLVER", servers.dns.resolver)
    monkeypatch.setenv("WARDEN_DOMAINS_RDAP_URL", servers.rdap.base_url.rstrip("/"))
    monkeypatch.setenv("WARDEN_DOMAINS_DNS_RETRY_SECONDS", "0.05")
    monkeypatch.setenv("WARDEN_DOMAINS_DNS_TIMEOUT_SECONDS", "0.3")
    dry = cli.invoke(app, ["sweep", "--dry-run", "--json", "--only", "lapsed.com"])
    assert dry.exit_code == 0 and json.loads(dry.stdout)["planned"] == 1
    result = cli.invoke(app, ["sweep", "--json", "--only", "lapsed.com", "--only", "fine.com"])
    summary = json.loads(result.stdout)
    assert result.exit_code == 1 and summary["finished"] and len(summary["incidents"]) == 1


def test_netdoubles_run_as_a_process(cli: CliRunner) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "bot.netdoubles", "serve"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY ")
        where = json.loads(line.removeprefix("READY "))
        assert set(where) == {"dns", "rdap", "whois"}
        result = cli.invoke(app, ["check", "--json", "--resolver", where["dns"],
                                  "--rdap-url", where["rdap"], "nothing.com"])
        assert json.loads(result.stdout)["state"] == "unregistered"
    finally:
        proc.terminate()
        proc.wait(10)


def test_bootstrap_refresh(cli: CliRunner, servers: NetDoubles, tmp_path: Path) -> None:
    target = tmp_path / "dns.json"
    result = cli.invoke(app, ["bootstrap", "--url", servers.rdap.base_url + "dns.json",
                              "--output", str(target)])
    assert result.exit_code == 0, result.output
    boot = Bootstrap.load(target)
    assert boot.base_url("example.org") == servers.rdap.base_url
    broken = cli.invoke(app, ["bootstrap", "--url", servers.rdap.base_url + "domain/x.com",
                              "--output", str(target)])
    assert broken.exit_code == 1 and Bootstrap.load(target).services  # the old file is kept
    # An installed wheel's bundled copy may be read-only: one clear message, no traceback.
    unwritable = cli.invoke(app, ["bootstrap", "--url", servers.rdap.base_url + "dns.json",
                                  "--output", str(tmp_path / "missing" / "dns.json")])
    assert unwritable.exit_code == 1 and "could not write" in unwritable.output, unwritable.output
