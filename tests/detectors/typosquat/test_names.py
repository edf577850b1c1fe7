"""Name parsing: PEP 503, Unicode look-alikes, skeletons, and clear errors for non-names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.events import MAX_NAME_LENGTH
from bot.names import canonicalize
from detectors.typosquat.names import InvalidName, parse_name, skeleton, squash
from detectors.typosquat.verdict import Analyzer


@pytest.mark.parametrize(("raw", "canonical"), [
    ("Requests", "requests"),
    ("python_dateutil", "python-dateutil"),
    ("Python.Date__Util", "python-date-util"),
    ("  zope.interface\n", "zope-interface"),
    ("a", "a"),
    ("Flask-Login", "flask-login"),
    ("flask--login", "flask-login"),
])
def test_pep503(raw: str, canonical: str) -> None:
    assert parse_name(raw).canonical == canonical


@given(st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,30}[A-Za-z0-9])?", fullmatch=True))
def test_canonical_form_is_the_bots(name: str) -> None:
    assert parse_name(name).canonical == canonicalize(name)


@pytest.mark.parametrize(("raw", "message"), [
    ("", "empty project name"),
    ("   ", "empty project name"),
    ("req uests", "not a valid project name"),
    ("-requests", "not a valid project name"),
    ("requests-", "not a valid project name"),
    ("-", "not a valid project name"),
    ("requests/evil", "not a valid project name"),
    ("x" * (MAX_NAME_LENGTH + 1), f"too long: {MAX_NAME_LENGTH + 1} characters"),
    ("字典", "has no ASCII look-alike"),
    ("\u200b\u202e", "not a valid project name"),  # nothing but invisible characters
    ("🐍", "has no ASCII look-alike"),
])
def test_invalid_names_give_one_clear_line(raw: str, message: str) -> None:
    with pytest.raises(InvalidName) as info:
        parse_name(raw)
    text = str(info.value)
    assert message in text and "\n" not in text and len(text) < 200


def test_longest_valid_name_is_accepted() -> None:
    assert parse_name("a" * MAX_NAME_LENGTH).canonical == "a" * MAX_NAME_LENGTH


@pytest.mark.parametrize(("raw", "ascii_form"), [
    ("reqυests", "requests"),  # Greek upsilon
    ("rеquests", "requests"),  # Cyrillic ie
    ("ｒequests", "requests"),  # fullwidth r (NFKD)
    ("réquests", "requests"),  # accent dropped
    ("flask\u2013cors", "flask-cors"),  # en dash
])
def test_unicode_look_alikes_are_folded(raw: str, ascii_form: str) -> None:
    name = parse_name(raw)
    assert name.ascii == ascii_form and name.folded and name.raw == raw


def test_ascii_names_are_not_folded() -> None:
    assert parse_name("requests").folded == ()


def test_skeleton_collapses_look_alikes_and_separators() -> None:
    assert skeleton("rnatplotlib") == skeleton("matplotlib")
    assert skeleton("jeilyfish") == skeleton("jellyfish") == skeleton("je1lyfish")
    assert skeleton("py-thon-date-util") == skeleton("pythondateutil")
    assert skeleton("requests") != skeleton("request")
    assert squash("python-dateutil") == "pythondateutil"


def test_a_pep503_spelling_of_a_protected_name_is_that_project(analyzer: Analyzer) -> None:
    verdict = analyzer.check("Python_DateUtil")
    assert not verdict.flagged and verdict.note is not None and "itself protected" in verdict.note


def test_unicode_spelling_of_a_protected_name_is_a_homoglyph(analyzer: Analyzer) -> None:
    verdict = analyzer.check("reqυests")
    assert verdict.flagged and verdict.target == "requests" and verdict.technique == "homoglyph"
    assert "U+03C5" in (verdict.explanation or "")
