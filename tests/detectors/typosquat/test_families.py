"""The families of issue 19, each on real reported squats of the tuning set
(tests/data/typosquat/reported.tsv) or the issue's own shapes, and the plugin names
that must stay clean. Each test fails when its technique or noise control breaks."""

from __future__ import annotations

import pytest

from detectors.typosquat.hosts import HOST_MIN, bundled_hosts, bundled_words, count_first_words
from detectors.typosquat.verdict import Analyzer
from tests.support import REPO


@pytest.mark.parametrize(("name", "target", "technique"), [
    ("requists", "requests", "vowel-change"),  # a vowel replaced (malregistry)
    ("rrequests", "requests", "repetition"),  # the first letter doubled
    ("aiohhttp", "aiohttp", "repetition"),  # OSV MAL-2023-1576
    ("fflask", "flask", "repetition"),  # kam193 2024-12-reqesst
    ("jutpyer", "jupyter", "moved-character"),  # a character moved two places
    ("request-toolbelts", "requests-toolbelt", "plural"),  # an `s` moved
    ("pythonrequests", "requests", "affix"),  # `python` glued, no separator
    ("requestspython", "requests", "affix"),
    ("parsimonius", "parsimonious", "omission"),  # kam193 2026-06-parsimonius
    ("tennacity", "tenacity", "repetition"),  # kam193 2026-07-tennacity
    ("fernets", "fernet", "plural"),  # kam193 2025-05-fernets: an obscure name's plural
    ("selleniumm", "selenium", "repetition"),  # malregistry: two letters typed twice
    ("py-corddd", "py-cord", "repetition"),
    ("custoqtkinter", "customtkinter", "substitution"),  # malregistry: any letter, long name
    ("seleenimu", "selenium", "two-typos"),  # malregistry: two slips, top 1,000
    ("request", "requests", "omission"),  # a common word, but one slip from a top-100 name
])
def test_each_family_is_caught(bundled: Analyzer, name: str, target: str,
                               technique: str) -> None:
    verdict = bundled.check(name)
    assert verdict.flagged and verdict.target == target, verdict
    assert verdict.technique == technique


def test_word_parts_swapped_without_separator(bundled: Analyzer) -> None:
    index = bundled.index
    # Built from the index's own words so it holds whatever the bundled list is.
    swapped = next(
        name[i:] + name[:i]
        for entry in index.entries if "-" not in (name := entry.name) and len(name) >= 8
        for i in range(3, len(name) - 2)
        if name[:i] in index.words and name[i:] in index.words
        and name[i:] + name[:i] not in index
    )
    verdict = bundled.check(swapped)
    assert verdict.flagged and verdict.technique == "parts-swapped", verdict


@pytest.mark.parametrize("name", [
    "pytest-django", "flask-sqlalchemy", "django-redis", "pytest-requests",
    "flask-requests", "django-numpy",
])
def test_plugin_names_stay_clean(bundled: Analyzer, name: str) -> None:
    assert not bundled.check(name).flagged


def test_two_popular_names_joined_are_flagged(bundled: Analyzer) -> None:
    verdict = bundled.check("matplotlib-requests")
    assert verdict.flagged and verdict.technique == "combosquat"
    assert verdict.target in {"matplotlib", "requests"}


def test_plugin_hosts_are_learned_from_the_names() -> None:
    names = [f"host-thing{i}" for i in range(HOST_MIN)] + ["lonely-thing", "host"]
    counts = count_first_words(names)
    assert counts["host"] == HOST_MIN and counts["lonely"] == 1
    hosts = bundled_hosts()
    assert {"django", "flask", "pytest"} <= hosts and "requests" not in hosts


def test_a_common_word_is_not_a_slip(bundled: Analyzer) -> None:
    # `asteroid` is one insertion from `astroid`, and a word 14 projects use.
    assert "asteroid" in bundled_words()
    verdict = bundled.check("asteroid")
    assert not verdict.flagged and "word many projects use" in (verdict.note or "")
    alone = Analyzer(bundled.index)  # no common words: the slip counts
    assert alone.check("asteroid").flagged


def test_the_held_aside_set_is_apart_from_the_tuning_set() -> None:
    """held-aside.tsv is only measured (bench/typosquat_eval.py): here its shape. Whole
    (source, target) groups are held aside, so no sibling of a held-aside name is tuned on."""
    data = REPO / "tests" / "data" / "typosquat"

    def rows(name: str) -> list[list[str]]:
        return [line.split("\t") for line in (data / name).read_text(encoding="utf-8")
                .splitlines() if line and not line.startswith(("#", "name\t"))]

    held, tuning = rows("held-aside.tsv"), rows("reported.tsv")
    assert len(held) >= 100 and all(len(row) == 3 for row in held)
    assert not {r[0] for r in held} & {r[0] for r in tuning}
    assert not {(r[2], r[1]) for r in held} & {(r[2], r[1]) for r in tuning}
    assert not any("datadog" in r[2].lower() for r in held + tuning)
