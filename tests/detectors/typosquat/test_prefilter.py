"""The prefilters that let most names skip the per-technique work must be exact.

Each test compares a prefiltered path with the full one it stands for: the deletion
keys the half tables rule out, the two-typo names compared by integers, the character
counts and the alignment checked before the two-slip dynamic programme, the affixes
tried by last character, and, end to end, every verdict with all prefilters switched
off. The names
are variants of protected names made with every technique (what gets flagged), random
edits of them, and random names (what mostly does not): a prefilter that dropped a
single name the full path flags would fail here.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator

import pytest

from detectors.typosquat import slips as slips_module
from detectors.typosquat import techniques
from detectors.typosquat.affixes import MIN_CORE, PREFIXES, SUFFIXES, core_of, strip_affixes
from detectors.typosquat.index import START, ProtectedIndex
from detectors.typosquat.keyboard import ALPHABET, SKELETON_TABLE
from detectors.typosquat.names import InvalidName, parse_name
from detectors.typosquat.settings import TyposquatSection
from detectors.typosquat.slips import MIN_TWO_TYPOS, _close, close_starts
from detectors.typosquat.techniques import _counts_within_two, _osa_table, _within
from detectors.typosquat.variants import GENERATORS, ISSUE_AFFIXES
from detectors.typosquat.verdict import Analyzer

_LETTERS = ALPHABET.replace("-", "")


class _Everything:
    """Stands for a prefilter's set that lets every key through."""

    def __contains__(self, item: object) -> bool:
        return True

    def isdisjoint(self, other: Iterable[object]) -> bool:
        return False


def _all_keys(index: ProtectedIndex, c: str) -> list[str]:
    """Every one-deletion variant of `c`, then `c`: what `near_keys` prefilters."""
    return [*(c[:i] + c[i + 1:] for i in range(len(c))), c]


def _all_close_starts_of(index: ProtectedIndex) -> Callable[[ProtectedIndex, str], list[int]]:
    """`close_starts` as it was before the prefilter: the two-typo names by their
    skeleton start, each compared with `_close`."""
    by_start: dict[str, list[int]] = {}
    for target, entry in enumerate(index.entries):
        if entry.two_typos:
            by_start.setdefault(entry.name[:START].translate(SKELETON_TABLE), []).append(target)

    def all_close_starts(index: ProtectedIndex, c: str) -> list[int]:
        starting = by_start.get(c[:START].translate(SKELETON_TABLE), [])
        return [t for t in starting if _close(c, index.entries[t].name)]

    return all_close_starts


def _random_name(rng: random.Random) -> str:
    words = [
        "".join(rng.choice(_LETTERS) for _ in range(rng.randint(1, 9)))
        for _ in range(rng.choice((1, 1, 2, 2, 3)))
    ]
    return "-".join(words)


def _edited(name: str, rng: random.Random, edits: int) -> str:
    """`name` with random deletions, insertions, substitutions or swaps."""
    for _ in range(edits):
        i = rng.randrange(len(name))
        kind = rng.randrange(4)
        if kind == 0 and len(name) > 1:
            name = name[:i] + name[i + 1:]
        elif kind == 1:
            name = name[:i] + rng.choice(ALPHABET) + name[i:]
        elif kind == 2:
            name = name[:i] + rng.choice(ALPHABET) + name[i + 1:]
        elif i + 1 < len(name):
            name = name[:i] + name[i + 1] + name[i] + name[i + 2:]
    return name


def _names(analyzer: Analyzer, seed: int = 5) -> list[str]:
    """Valid candidate names: every technique's variants of protected names
    (all the two-typo ones, a sample of the others), one or two random edits of them,
    the names without their first word or with their affix swapped, and random names."""
    rng = random.Random(seed)
    entries = analyzer.index.entries
    targets = [e.name for e in entries if e.two_typos] + [e.name for e in entries[::40]]
    made: list[str] = []
    for target in targets:
        for generate in GENERATORS.values():
            variant = generate(target, rng)
            if variant is not None:
                made.append(variant)
        made.append(_edited(target, rng, 1))
        made.append(_edited(target, rng, 2))
        made.append(target.partition("-")[2])
        core = core_of(target)
        made += [head + core + tail for head, tail in ISSUE_AFFIXES]
    made += [_random_name(rng) for _ in range(3000)]
    made += ["reqυests", "Ρython-dateutil", "nυmpy-utils"]  # Unicode look-alikes
    return list(dict.fromkeys(_valid(made)))


def _valid(names: Iterable[str]) -> Iterator[str]:
    for name in names:
        try:
            parse_name(name)
        except InvalidName:
            continue
        yield name


@pytest.fixture(scope="module")
def names(bundled: Analyzer) -> list[str]:
    return _names(bundled)


def test_near_keys_keep_every_key_in_the_table(bundled: Analyzer, names: list[str]) -> None:
    index = bundled.index
    pruned = 0
    for name in names:
        c = parse_name(name).canonical
        kept = index.near_keys(c)
        full = _all_keys(index, c)
        assert [k for k in kept if k in index.near] == [k for k in full if k in index.near], c
        pruned += len(full) - len(kept)
    assert pruned > len(names)  # it does prune: most deletions are ruled out


def test_close_starts_are_all_the_close_two_typo_names(
    bundled: Analyzer, names: list[str]
) -> None:
    index = bundled.index
    all_close_starts = _all_close_starts_of(index)
    found = 0
    for name in names:
        c = parse_name(name).canonical
        if len(c) >= MIN_TWO_TYPOS:
            expected = all_close_starts(index, c)
            assert close_starts(index, c) == expected, c
            found += bool(expected)
    assert found > 100


def test_character_counts_never_rule_out_two_edits(bundled: Analyzer) -> None:
    rng = random.Random(11)
    entries = [e.name for e in bundled.index.entries if len(e.name) >= 4]
    within = 0
    for _ in range(5000):
        target = rng.choice(entries)
        candidate = _edited(target, rng, rng.choice((1, 2, 2, 3)))
        if _osa_table(candidate, target) is not None:
            within += 1
            assert _counts_within_two(candidate, target), (candidate, target)
    assert within > 2000


def test_within_two_is_the_dynamic_programme(bundled: Analyzer) -> None:
    """`_within` answers exactly what `_osa_table` does, both ways: near pairs, and
    pairs a few edits apart sharing their start or end (what reaches it)."""
    rng = random.Random(12)
    entries = [e.name for e in bundled.index.entries if len(e.name) >= 4]
    within = 0
    for _ in range(5000):
        target = rng.choice(entries)
        candidate = _edited(target, rng, rng.choice((1, 2, 2, 3, 4)))
        expected = _osa_table(candidate, target) is not None
        within += expected
        assert _within(candidate, target, 2) == expected, (candidate, target)
    assert 1000 < within < 4500


def _all_affix_strips(canonical: str) -> list[tuple[str, str, str]]:
    """`strip_affixes` trying every prefix and suffix, as before its prefilter."""
    heads = [("", canonical)]
    for prefix in PREFIXES:
        if canonical.startswith(prefix):
            k = len(prefix)
            while canonical[k : k + 1] == "-":
                k += 1
            heads.append((canonical[:k], canonical[k:]))
    found = []
    for head, rest in heads:
        if head and len(rest) >= MIN_CORE:
            found.append((rest, head, ""))
        for suffix in SUFFIXES:
            if rest.endswith(suffix):
                base = rest[: -len(suffix)].rstrip("-")
                if len(base) >= MIN_CORE:
                    found.append((base, head, rest[len(base):]))
    return found


def test_affix_strips_try_every_affix(names: list[str]) -> None:
    for name in [*names, "python3-requests-python3", "py-py3", "pypy3", "py3-x-sdk"]:
        c = parse_name(name).canonical
        assert list(strip_affixes(c)) == _all_affix_strips(c), c


def test_verdicts_are_those_of_the_full_path(
    bundled: Analyzer, names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every name's verdict, and so what is flagged, with every prefilter switched off:
    all deletion keys looked up, all two-typo names compared, every table looked up."""
    fast = [bundled.check(name) for name in names]
    index = bundled.index
    monkeypatch.setattr(ProtectedIndex, "near_keys", _all_keys)
    monkeypatch.setattr(slips_module, "close_starts", _all_close_starts_of(index))
    monkeypatch.setattr(techniques, "_counts_within_two", lambda a, b: True)
    monkeypatch.setattr(techniques, "_within", lambda a, b, k: True)
    for table in ("near_set", "shaped", "words", "by_start"):
        monkeypatch.setattr(index, table, _Everything())
    full = [bundled.check(name) for name in names]
    assert fast == full
    assert sum(v.flagged for v in full) > len(names) // 3  # the flagged path is exercised


def test_prefilters_follow_names_protected_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """`add` after the build (critical projects) files the new names in the prefilter
    tables too."""
    index = ProtectedIndex.build([("requests", 1), ("matplotlib", 2)])
    index.add("zanzibar-toolkit", 3)
    index.add("quokkaframework", 4)
    analyzer = Analyzer.from_settings(TyposquatSection(allowlist=[]), index)
    candidates = ["zanzibar-tolkit", "toolkit-zanzibar", "quokkaframwork", "qukkaframewrk",
                  "python-quokkaframework", "zanzibartoolkit", "qu0kkaframework"]
    fast = [analyzer.check(name) for name in candidates]
    assert all(v.flagged for v in fast), [v for v in fast if not v.flagged]
    monkeypatch.setattr(ProtectedIndex, "near_keys", _all_keys)
    monkeypatch.setattr(slips_module, "close_starts", _all_close_starts_of(index))
    for table in ("near_set", "shaped", "words", "by_start"):
        monkeypatch.setattr(index, table, _Everything())
    assert [analyzer.check(name) for name in candidates] == fast

