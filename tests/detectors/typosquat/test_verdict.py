"""Noise control and quality: established candidates, allowlist, scores, and recall on
generated variants and on real reported typosquats with the bundled protected set."""

from __future__ import annotations

import gzip
import random
from importlib.resources import as_file
from typing import Any

import pytest

from detectors.bundled import TOP_PROJECTS
from detectors.typosquat.index import ProtectedIndex
from detectors.typosquat.protected import read_protected
from detectors.typosquat.settings import TyposquatSection
from detectors.typosquat.techniques import Technique
from detectors.typosquat.variants import (
    FIRST_LETTER_KEPT,
    GENERATORS,
    first_letter_popular,
    keeping_first_letter,
    scopes,
)
from detectors.typosquat.verdict import Analyzer, Verdict, parse_allowlist
from tests.support import REPO

REPORTED = REPO / "tests" / "data" / "typosquat" / "reported.tsv"
RANDOM_NAMES = REPO / "tests" / "data" / "typosquat" / "random-names.txt.gz"


def test_a_name_resembling_nothing_has_the_default_verdict(small_index: ProtectedIndex) -> None:
    # The common path (resembling nothing) gives the default verdict, of the same type.
    verdict = Analyzer(small_index).check("Zanzibar-Quokka")
    assert verdict == Verdict("Zanzibar-Quokka", "zanzibar-quokka", False)
    assert type(verdict) is Verdict and verdict.note is None and verdict.score == 0.0


def test_a_far_less_established_protected_name_can_still_be_flagged(
    small_index: ProtectedIndex,
) -> None:
    # pyaml (rank 5000) vs pyyaml (rank 20): 250 times further down the list.
    assert Analyzer(small_index, established_rank_ratio=100).check("pyaml").flagged
    verdict = Analyzer(small_index, established_rank_ratio=1000).check("pyaml")
    assert not verdict.flagged and "itself protected (rank 5000)" in (verdict.note or "")


def test_configured_allowlist_pairs_and_wildcards(small_index: ProtectedIndex) -> None:
    pair = Analyzer(small_index, allowlist=["PyAML:PyYAML"]).check("pyaml")
    assert not pair.flagged and "allowlisted" in (pair.note or "")
    wildcard = Analyzer(small_index, allowlist=["reqeusts:*"]).check("reqeusts")
    assert not wildcard.flagged
    other = Analyzer(small_index, allowlist=["reqeusts:flask"]).check("reqeusts")
    assert other.flagged and other.target == "requests"
    assert parse_allowlist(["A_b:C.d", "x:*"]) == {("a-b", "c-d"), ("x", "*")}


def test_default_allowlist_is_applied(small_index: ProtectedIndex) -> None:
    analyzer = Analyzer.from_settings(TyposquatSection(), small_index)
    assert not analyzer.check("pyaml").flagged


def test_threshold_and_scores(small_index: ProtectedIndex) -> None:
    strict = Analyzer(small_index, threshold=0.9)
    assert strict.check("reqeusts").flagged  # transposition on the top name: 0.95
    weak = strict.check("requests-lite")  # combosquat: 0.75
    assert not weak.flagged and weak.target == "requests"
    assert "below the threshold" in (weak.note or "")
    default = Analyzer(small_index)
    obscure, popular = default.check("kombuxha"), default.check("requezts")
    assert obscure.score < popular.score  # the same slip weighs more on a popular name


def test_settings_validate_allowlist_entries() -> None:
    with pytest.raises(ValueError, match="candidate:target"):
        TyposquatSection(allowlist=["no-colon-here"])
    from_env: Any = "a:b, c:*"  # how the environment gives it
    assert TyposquatSection(allowlist=from_env).allowlist == ["a:b", "c:*"]


def test_index_grows_in_place_and_keeps_the_best_rank(fresh_index: ProtectedIndex) -> None:
    index = fresh_index
    analyzer = Analyzer(index)
    assert not analyzer.check("zebrafish-toolz").flagged
    index.add("zebrafish-tools", None)
    assert analyzer.check("zebrafish-toolz").flagged
    index.add("zebrafish-tools", 3)
    entry = index.get("zebrafish-tools")
    assert entry is not None and entry.rank == 3


@pytest.mark.parametrize("technique", list(GENERATORS))
def test_generated_variants_are_caught(bundled: Analyzer, technique: Technique) -> None:
    """A quick version of bench/typosquat_eval.py: 60 variants per technique."""
    rng = random.Random(f"test-{technique}")
    index = bundled.index
    # The names the technique is defined for, as the evaluation scopes them.
    targets = scopes(bundled).get(technique.value) or [
        e.name for e in index.entries if len(e.name) >= 5]
    make = GENERATORS[technique]
    if technique.value in FIRST_LETTER_KEPT:  # beyond the top 200, as the detector scopes it
        make = keeping_first_letter(make, first_letter_popular(bundled))
    made = flagged = 0
    while made < 60:
        variant = make(rng.choice(targets), rng)
        if variant is None or variant in index:
            continue
        made += 1
        flagged += bundled.check(variant).flagged
    needed = 0.4 if technique is Technique.TWO_TYPOS else 0.9
    assert flagged / made >= needed, (technique, flagged, made)


def test_real_reported_typosquats(bundled: Analyzer) -> None:
    """The tuning set (held-aside.tsv is only measured, by bench/typosquat_eval.py). Issue
    19's target is 0.92 on the held-aside set; this floor is what the detector reaches on
    the tuning set now (203 of 256, 0.793), so a regression fails."""
    rows = [line.split("\t") for line in REPORTED.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#") and not line.startswith("name\t")]
    assert len(rows) >= 250
    verdicts = [(bundled.check(name), target) for name, target, _source in rows]
    flagged = [(verdict, target) for verdict, target in verdicts if verdict.flagged]
    assert len(flagged) / len(rows) >= 0.79, sorted(
        {r[0] for r in rows} - {v.canonical for v, _ in flagged})
    # A protected name that the listed one extends, or that extends it, is as right a
    # reading (`beautifulsoup` for the `beautifulsoup4` squats, `alembic-utils`).
    wrong = [(verdict.canonical, target) for verdict, target in flagged
             if not (verdict.target or "").startswith(target)
             and not target.startswith(verdict.target or "")]
    assert wrong == []


def test_flag_rate_on_random_existing_names(bundled: Analyzer) -> None:
    """Issue 19's flag budget on 20,000 existing PyPI names outside the protected set
    (drawn once from the 886k, seeded, and kept in tests/data): at most 0.8% flagged, at
    most 0.2% in the high tier (0.59% and 0.045% when drawn)."""
    with gzip.open(RANDOM_NAMES, "rt", encoding="utf-8") as lines:
        names = [line.strip() for line in lines if line.strip()]
    assert len(names) == 20_000
    verdicts = [bundled.check(name) for name in names]
    flagged = [v for v in verdicts if v.flagged]
    high = [v for v in flagged if v.score >= TyposquatSection().high_threshold]
    assert len(flagged) / len(names) <= 0.008, len(flagged)
    assert len(high) / len(names) <= 0.002, len(high)


def test_bundled_list_reads_as_ranked_protected_names() -> None:
    with as_file(TOP_PROJECTS) as bundled_list:
        listed = read_protected(bundled_list, limit=3)
    assert listed.names == [("boto3", 1), ("packaging", 2), ("urllib3", 3)]


@pytest.mark.parametrize(("candidate", "flagged"), [
    # A slip of the first letter counts on the top 200 only (squats keep it).
    ("tequests", True),  # requests, rank 6: `r` -> neighbouring `t`
    ("fflask", True),  # the first letter doubled still reads as the name
    ("dnotify", False),  # sdnotify (rank ~10,000) without its first letter
    ("sfinance", False),  # efinance, first letter replaced
    # An affix or combo word on a name of 6 letters or fewer: the top 200 only.
    ("aiohttp-util", True),  # aiohttp, rank 49
    ("faker-py", False),  # faker, rank ~430
    # Words of a name beyond the top 3,000 in another order are mostly another project.
    ("firestore-mock", False),
    # A letter swapped in a short name beyond the top 1,000 is mostly another word.
    ("anony", False),  # annoy
    # Any letter inserted inside a word of a top-200 name, however short.
    ("falask", True),
    ("ritch", True),
    ("i-dna", False),  # but not a separator in a four-letter one
    # A squat word before a popular name, even when the word is some project's name too.
    ("update-pyjwt", True),
    ("secure-types-cffi", True),
    # A plural `s` added to a word but the last (at the end it is an affix).
    ("importlibs-resources", True),
])
def test_popularity_rules(bundled: Analyzer, candidate: str, flagged: bool) -> None:
    """Each rule of issue 19's noise control, both ways, on the bundled ranks."""
    assert bundled.check(candidate).flagged is flagged, bundled.check(candidate)


@pytest.mark.parametrize(("candidate", "said"), [
    ("dnotify", "resembles `sdnotify` (omission), but a slip of the first letter counts on "
                "the top 200 only"),
    ("faker-py", "resembles `faker` (affix), but affixes and combo words count on the top "
                 "1000 only"),
    ("anony", "resembles `annoy` (transposition), but a letter swapped, moved or drawn "
              "alike in a name under 7 characters counts on the top 1000 only"),
])
def test_a_dropped_match_says_why(bundled: Analyzer, candidate: str, said: str) -> None:
    """`warden typosquat check` answers "why was this not flagged?" with the rule."""
    verdict = bundled.check(candidate)
    assert not verdict.flagged and (verdict.note or "").startswith(said), verdict.note
