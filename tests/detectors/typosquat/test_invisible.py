"""Project names with invisible characters (issue 14, item 8): zero-width spaces and
joiners, bidi overrides and isolates, BOM, soft hyphen, tags, variation selectors.

PEP 503 names cannot hold them, so the detector compares a name without them (a
look-alike of what remains) and flags every name that holds one, whatever it resembles;
the name itself is kept as the index gave it, and the incident is about that project,
never about the protected one it imitates.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from bot.cli.typosquat import app
from bot.config import load_settings
from bot.events import IndexEvent, parse_action
from bot.ledger import Ledger, TrackedProjects
from bot.pipeline import Pipeline
from bot.store.db import create_engine, session_factory
from bot.store.models import Event, Incident
from bot.wiring import Warden
from detectors.typosquat.allowlist import add_false_positive
from detectors.typosquat.detector import TyposquatDetector
from detectors.typosquat.index import ProtectedIndex
from detectors.typosquat.names import InvalidName, parse_name
from detectors.typosquat.settings import TyposquatSection
from detectors.typosquat.verdict import Analyzer
from tests.support.indexdouble import IndexDouble

T0 = datetime(2024, 3, 27, 12, tzinfo=UTC)
INVISIBLE = {
    "\u200b": "ZERO WIDTH SPACE", "\u200c": "ZERO WIDTH NON-JOINER",
    "\u200d": "ZERO WIDTH JOINER", "\u2060": "WORD JOINER", "\ufeff": "ZERO WIDTH NO-BREAK SPACE",
    "\u00ad": "SOFT HYPHEN", "\u202e": "RIGHT-TO-LEFT OVERRIDE", "\u202a": "LEFT-TO-RIGHT EMBEDDING",
    "\u2066": "LEFT-TO-RIGHT ISOLATE", "\u2069": "POP DIRECTIONAL ISOLATE",
    "\u200f": "RIGHT-TO-LEFT MARK", "\u061c": "ARABIC LETTER MARK",
    "\u180e": "MONGOLIAN VOWEL SEPARATOR", "\u034f": "COMBINING GRAPHEME JOINER",
    "\ufe0f": "VARIATION SELECTOR-16", "\U000e0041": "TAG LATIN CAPITAL LETTER A",
    "\u3164": "HANGUL FILLER", "\x9b": "control character",
}


@pytest.mark.parametrize("char", list(INVISIBLE))
@pytest.mark.parametrize("at", [0, 3, 8])
def test_invisible_characters_are_left_out_of_the_compared_form(char: str, at: int) -> None:
    raw = "requests"[:at] + char + "requests"[at:]
    name = parse_name(raw)
    assert (name.raw, name.ascii, name.canonical) == (raw, "requests", "requests")
    assert name.folded == ((char, ""),)


@pytest.mark.parametrize("char", list(INVISIBLE))
def test_a_protected_name_with_an_invisible_character_is_flagged_high(
        analyzer: Analyzer, char: str) -> None:
    verdict = analyzer.check(f"req{char}uests")
    assert verdict.flagged and verdict.target == "requests"
    assert verdict.technique == "invisible-characters" and verdict.score >= 0.95
    assert f"U+{ord(char):04X} {INVISIBLE[char]}" in (verdict.explanation or "")
    assert char not in (verdict.explanation or "")  # quoted as an escape, not hidden in it


@pytest.mark.parametrize(("raw", "target", "technique"), [
    ("reqeu\u200bsts", "requests", "transposition+invisible-characters"),
    ("r\u0435q\u200buests", "requests", "invisible-characters+homoglyph"),  # Cyrillic e too
    ("six\u200b", "six", "invisible-characters"),  # short protected names too
    ("zanzibar\u202equokka", None, "invisible-characters"),  # resembles nothing: still flagged
    ("s\u200bx", None, "invisible-characters"),  # `sx` alone would not count as `six`
])
def test_names_with_invisible_characters_are_always_flagged(
        analyzer: Analyzer, raw: str, target: str | None, technique: str) -> None:
    for policy in (analyzer, Analyzer(analyzer.index, threshold=1.0, allowlist=["requests:*"])):
        verdict = policy.check(raw)
        assert verdict.flagged, (raw, verdict)
        assert (verdict.target, verdict.technique) == (target, technique)
        assert verdict.score >= 0.95
        assert verdict.as_json() == {"name": raw, "target": target, "technique": technique,
                                     "score": verdict.score}


def test_ascii_names_are_judged_as_before(analyzer: Analyzer) -> None:
    assert not analyzer.check("zanzibar-quokka").flagged
    assert analyzer.check("reqeusts").technique == "transposition"


def test_a_name_of_invisible_characters_only_is_no_name() -> None:
    with pytest.raises(InvalidName):
        parse_name("\u200b\u200d\u202e")


async def test_scan_reports_them_in_the_jsonl_contract(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    protected = tmp_path / "top.tsv"
    protected.write_text("name\trank\nrequests\t1\nflask\t2\n", encoding="utf-8")
    names = tmp_path / "names.txt"
    names.write_text("req\u200buests\nflask\nhonest-project\nhonest\u00adproject\n",
                     encoding="utf-8")
    result = CliRunner().invoke(app, ["scan", "--names", str(names), "--protected",
                                      str(protected), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"name": "req\u200buests", "target": "requests", "technique": "invisible-characters",
         "score": 1.0},
        {"name": "honest\u00adproject", "target": None, "technique": "invisible-characters",
         "score": 0.95},
    ]
    assert "\u200b" not in result.stdout and "\\u200b" in result.stdout  # JSON escapes it
    checked = CliRunner().invoke(app, ["check", "honest\u00adproject", "--protected",
                                       str(protected)])
    assert checked.exit_code == 1
    assert "honest\\xadproject: FLAGGED (invisible-characters, score 0.95)" in checked.stdout
    assert "\u00ad" not in checked.stdout


async def test_an_invisible_name_can_never_be_allowlisted(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with session_factory(engine).begin() as session:
            with pytest.raises(InvalidName, match="invisible characters"):
                await add_false_positive(session, "req\u200buests", "requests", "alice", "ours")
    finally:
        await engine.dispose()


def ev(serial: int, project: str, action: str, version: str | None = None) -> IndexEvent:
    return parse_action(serial, T0 + timedelta(seconds=serial), project, version, action)


@pytest.fixture
async def sessions(store_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(store_url)
    yield session_factory(engine)
    await engine.dispose()


async def incidents(sessions: async_sessionmaker[AsyncSession]) -> list[Incident]:
    async with sessions() as session:
        return list((await session.execute(select(Incident).order_by(Incident.id))).scalars())


async def test_the_detector_raises_incidents_about_the_look_alike_itself(
    sessions: async_sessionmaker[AsyncSession], fresh_index: ProtectedIndex,
) -> None:
    tracked = TrackedProjects()
    async with sessions.begin() as session:  # kennethreitz maintains requests
        ledger = Ledger(session, tracked)
        await ledger.track("requests", T0)
        await ledger.apply_event(ev(1, "requests", "add Owner kennethreitz"))
    section = TyposquatSection(allowlist=[])
    detector = TyposquatDetector(section, analyzer=Analyzer.from_settings(section, fresh_index))
    settings = load_settings(notify={"console": False})
    await Pipeline(sessions, settings, [detector], tracked, []).commit_batch([
        # Made by a maintainer of the original: still never legitimate.
        ev(10, "req\u200buests", "create"), ev(11, "req\u200buests", "add Owner kennethreitz"),
        # Made by someone else: the look-alike's ASCII form is the original itself, whose
        # maintainers must not count as the look-alike's (they did, and exempted it).
        ev(12, "r\u0435quests", "create"), ev(13, "r\u0435quests", "add Owner mallory"),
        ev(14, "zanzibar\u202equokka", "create"),
        ev(15, "requests-py", "create"), ev(16, "requests-py", "add Owner kennethreitz"),
    ])
    found = await incidents(sessions)
    assert [(i.kind, i.subject, i.severity) for i in found] == [
        ("typosquat", "project:req\u200buests", "high"),
        ("typosquat", "project:r\u0435quests", "high"),
        ("invisible-characters", "project:zanzibar\u202equokka", "high"),
    ]
    squat, _, alone = found
    assert "U+200B ZERO WIDTH SPACE" in squat.summary and "\u200b" not in squat.summary
    assert squat.evidence[0]["data"]["candidate"] == "req\u200buests"
    assert squat.evidence[0]["url"] == "https://pypi.org/project/req%E2%80%8Buests/"
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in alone.summary
    assert "zanzibar\\u202equokka" in alone.summary and "\u202e" not in alone.summary
    async with sessions() as session:  # the changelog keeps the names verbatim
        stored = set((await session.execute(select(Event.project))).scalars())
    assert {"req\u200buests", "zanzibar\u202equokka"} <= stored


async def test_feed_sync_from_the_index_double(index_double: IndexDouble, store_url: str) -> None:
    s = index_double.store
    s.create_project("requests", "nateprewitt", at=T0)
    s.create_project("req\u200buests", "mallory", at=T0 + timedelta(days=1))
    s.create_project("\ufeffhonest-project", "mallory", at=T0 + timedelta(days=2))
    settings = load_settings(
        store={"url": store_url},
        index={"url": index_double.url, "backoff_seconds": 0.05, "max_retries": 2},
        feed={"start_serial": 0}, critical={"top": "0"}, notify={"console": False})
    warden = await Warden.open(settings, detectors=[TyposquatDetector(
        settings.typosquat, extra_protected=tuple(settings.critical.projects),
        index_url=settings.index.url)])
    try:
        await warden.feed.sync()
        found = await incidents(warden.sessions)
    finally:
        await warden.close()
    assert [(i.kind, i.subject) for i in found] == [
        ("typosquat", "project:req\u200buests"),
        ("invisible-characters", "project:\ufeffhonest-project"),
    ]
