"""Upstream text reaches the terminal as plain text (issue 14, item 4).

Each test puts hostile text where an upstream server can put it (an incident's summary
and evidence, a ledger version and file name, an RDAP registrar name, an XML-RPC fault
string), runs the real `warden` command in a subprocess that rich takes for a colour
terminal (FORCE_COLOR), and checks what a terminal would receive: the command exits as
usual, the text is shown literally, and none of it acts on the terminal.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from rich.console import Console

from bot.config import load_settings
from bot.incidents import record_finding
from bot.logs import configure_logging
from bot.netdoubles import NetDoubles, RdapDomain, threaded
from bot.notify.console import ConsoleNotifier
from bot.store.models import File, Project, Release
from bot.types import Evidence, Finding, Severity
from bot.wiring import Warden
from tests.support.indexdouble import IndexDouble

# Rich markup (a crash, a hyperlink, an emoji), terminal sequences (window title, clear
# screen, C1 CSI, BEL, DEL) and bidi controls that reorder the rest of the line.
MARKUP = "[/] [link=https://evil.example/]click[/link] [bold]bold[/bold] :warning:"
CONTROLS = "\x1b]0;pwned\x07 \x1b[2J \x9b6n \x7f \u202egnp.exe \u2066x\u2069 \u200b"
HOSTILE = f"{MARKUP} {CONTROLS} end\\"
# The same text as the terminal must show it: markup literal, controls escaped.
SHOWN = (f"{MARKUP} \\x1b]0;pwned\\x07 \\x1b[2J \\x9b6n \\x7f \\u202egnp.exe "
         "\\u2066x\\u2069 \\u200b end\\")

# What an XML-RPC fault string can hold (XML 1.0 has no C0 controls but tab and newlines).
FAULT = f"{MARKUP} \x9b6n \x7f \u202egnp.exe \u2066x\u2069 \u200b end\\"
FAULT_SHOWN = f"{MARKUP} \\x9b6n \\x7f \\u202egnp.exe \\u2066x\\u2069 \\u200b end\\"

_SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colours rich itself writes to a terminal


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


def assert_inert(text: str) -> None:
    """Nothing in `text` but rich's own colours acts on a terminal."""
    bare = _SGR.sub("", text)
    assert "\x1b]8;" not in text  # an OSC 8 hyperlink
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]",
                         bare), repr(bare)
    assert "⚠" not in text  # :warning: stayed text


async def warden(*args: str, store: str, **env: str) -> Ran:
    """`python -m bot ARGS` as a user at a colour terminal runs it (from a directory with
    no config/warden.toml: the defaults and the store given)."""
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith(("WARDEN_", "SLACK_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=Path(store.split(":///", 1)[1]).parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**base, "FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "400",
             "WARDEN_STORE_URL": store, "WARDEN_LOG_LEVEL": "error", **env})
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())


def assert_clean_run(ran: Ran, code: int = 0) -> None:
    assert "Traceback" not in ran.stderr and "MarkupError" not in ran.stderr, ran.stderr
    assert ran.code == code, (ran.stdout, ran.stderr)
    assert_inert(ran.stdout)
    assert_inert(ran.stderr)


def shown(ran: Ran) -> str:
    return _SGR.sub("", ran.stdout + ran.stderr)


async def _seed(url: str) -> None:
    warden = await Warden.open(load_settings(store={"url": url}, notify={"console": False}))
    try:
        finding = Finding(
            detector="critical", kind="project-removed", subject=f"project:{HOSTILE}",
            severity=Severity.HIGH, summary=HOSTILE,
            evidence=(Evidence(summary=HOSTILE, serial=7, url=f"https://x.example/{MARKUP}"),))
        async with warden.sessions.begin() as s:
            await record_finding(s, finding, datetime.now(UTC), [])
        async with warden.sessions.begin() as s:  # again: a "repeated" timeline entry
            await record_finding(s, finding, datetime.now(UTC), [])
        async with warden.sessions.begin() as s:
            project = Project(name=f"evil{HOSTILE}", normalized_name="evil")
            release = Release(project=project, version=HOSTILE)
            release.files.append(File(filename=f"evil-{HOSTILE}.tar.gz", size=3, sha256="a" * 64,
                                      blake2b_256="b" * 64, path="packages/x"))
            s.add(project)
    finally:
        await warden.close()


@pytest.fixture
async def seeded(sqlite_url: str) -> str:
    await _seed(sqlite_url)
    return sqlite_url


async def test_incidents_list_shows_upstream_text_as_plain_text(seeded: str) -> None:
    ran = await warden("incidents", "list", store=seeded)
    assert_clean_run(ran)
    assert SHOWN in shown(ran)


async def test_incidents_show_shows_summary_evidence_and_timeline_as_plain_text(
        seeded: str) -> None:
    ran = await warden("incidents", "show", "1", store=seeded)
    assert_clean_run(ran)
    text = shown(ran)
    assert text.count(SHOWN) >= 3  # subject, summary, evidence
    assert f"https://x.example/{MARKUP}" in text
    assert "repeated" in text and '"summary": "[/] [link=' in text  # the timeline's JSON


async def test_ledger_show_shows_versions_and_file_names_as_plain_text(seeded: str) -> None:
    ran = await warden("ledger", "show", "evil", store=seeded)
    assert_clean_run(ran)
    text = shown(ran)
    assert f"evil{SHOWN}" in text and f"  {SHOWN}\n" in text and f"evil-{SHOWN}.tar.gz" in text


async def test_json_output_is_unchanged_json(seeded: str) -> None:
    ran = await warden("incidents", "show", "1", "--json", store=seeded,
                       FORCE_COLOR="", NO_COLOR="1")
    assert ran.code == 0
    assert json.loads(ran.stdout)["summary"] == HOSTILE


@pytest.fixture(scope="module")
def rdap() -> Iterator[NetDoubles]:
    def setup(d: NetDoubles) -> None:
        d.rdap.set_domain("hostile.com", RdapDomain(registrar=HOSTILE))
    with threaded(setup=setup) as doubles:
        yield doubles


async def test_domain_check_shows_the_registrar_as_plain_text(
        rdap: NetDoubles, sqlite_url: str) -> None:
    ran = await warden("domain", "check", "--skip-dns", "--rdap-url",
                       rdap.rdap.base_url.rstrip("/"), "hostile.com", store=sqlite_url)
    assert_clean_run(ran)
    assert SHOWN in shown(ran)


async def test_an_xmlrpc_fault_string_in_an_error_is_plain_text(
        index_double: IndexDouble, sqlite_url: str) -> None:
    index_double.server.faults.add("rpc-fault", count=100, message=FAULT)
    ran = await warden("feed", "sync", "--index-url", index_double.url, store=sqlite_url,
                       WARDEN_INDEX_MAX_RETRIES="0")
    assert_clean_run(ran, code=1)
    text = shown(ran)
    assert "error: the index did not answer usefully" in text and FAULT_SHOWN in text


async def test_the_console_notifier_prints_incidents_as_plain_text() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, color_system="truecolor", width=400,
                      highlight=False)
    await ConsoleNotifier(console).deliver("incident.opened", {
        "severity": "high", "incident_id": 1, "status": "open", "summary": HOSTILE,
        "occurrences": 1, "playbooks": [HOSTILE]})
    assert_inert(screen.getvalue())
    assert _SGR.sub("", screen.getvalue()).count(SHOWN) == 2


def test_readable_logs_write_hidden_characters_as_escapes(
        capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "false")  # the console renderer, as on a terminal
    log = structlog.get_logger("hostile")
    try:
        log.warning(f"fault {HOSTILE}", error=HOSTILE)
        try:
            raise ValueError(HOSTILE)
        except ValueError:
            log.exception("feed.failed")
    finally:
        structlog.reset_defaults()
    logged = _SGR.sub("", capsys.readouterr().err)
    assert_inert(logged)
    assert f"fault {SHOWN}" in logged and f"ValueError: {SHOWN}" in logged
