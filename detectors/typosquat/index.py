"""The protected names and the precomputed variant tables looked up for every candidate.

Built once per process. Each table maps a key derived from a protected name to the
names that produce it, so checking a candidate is a handful of dictionary lookups rather
than a comparison with every protected name:

- `near`: each name and its one-deletion variants; for the most popular long names
  (`distance2_top`, `distance2_min_length`) also the two-deletion variants; and for the
  `combination_top` names, the one-deletion variants of the name with each common affix
  (`requests-2`, `requestss`). A candidate or one of its one-deletion variants meeting a
  key is a symmetric-deletion hit: the names are one (or two) edits apart, and the edit
  is then classified.
- `skeletons` (separators removed, look-alikes collapsed), `token_sets` (hyphenated
  words sorted), `cores` (name without a `python-`/`-py`... affix) and `tails` (name
  without its first word, for namespaced names: `apache-airflow-x` -> `airflow-x`).
- `by_start`: the two-typo names by their first letters, for the two-slip changes the
  deletion table cannot see (two substitutions, a slip plus an insertion).

Most candidates resemble nothing, so the per-candidate cost is mostly spent proving
that, and the index also keeps exact prefilters for it (each test in
tests/detectors/typosquat/test_prefilter.py checks one against the full lookups; the
figures are CPU seconds to check 200,000 PyPI names on the shared 2-core machine):

- `near_keys`: every `near` key is also filed by its first half (`heads`) and its
  second half (`halves`); a deletion of the candidate can only be a key if the part of
  the candidate it leaves intact is filed there, so two lookups rule out most of the
  candidate's deletions instead of one lookup each (4.3-4.6 s with it, 5.0-7.0 s
  without).
- `near_set` and `shaped`: the keys of `near`, and those of the smaller tables, as
  sets, which answer "absent" (the common case) in about one memory access where a
  large dictionary takes two or three (and the small set stays in the processor's
  cache for the strings made from a candidate: its skeleton, its words sorted...;
  4.3-4.6 s with the set, 4.6-5.7 s looking up `near` itself).
- `words`: every word of every name; a candidate whose last word is none of them can
  be no protected name's words reordered nor end in a protected name.
- `by_start` is filed under every spelling of a start with the same skeleton (no
  skeleton to compute per candidate) and by candidate length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from detectors.typosquat.affixes import COMBINATION_AFFIXES, core_of
from detectors.typosquat.keyboard import ALPHABET, SKELETON_TABLE
from detectors.typosquat.names import skeleton

# The protected names a key stands for: ids >= 0 are protected entries; negative ids
# are affixed variants (`~id` indexes `variants`).
Ids = list[int]
Cuts = tuple[tuple[slice, slice], ...]  # (head, tail) slices making deletions of a text
NAMESPACE_MIN = 3  # this many protected `<token>-...` names make `<token>` a namespace
START = 4  # characters of `by_start` keys
MIN_DOUBLED = 6  # shortest name looked for with several letters typed twice
PAIR_TOP = 1000  # two names this popular joined by `-` ride on both (`matplotlib-requests`)
LONG_NAME, LONG_TOP = 12, 2000  # names this long are matched at two slips down to this rank


def _preimages() -> dict[str, str]:
    """Each skeleton character and the name characters it stands for (`l`: `l1i`)."""
    table: dict[str, str] = {}
    for char in ALPHABET:
        key = char.translate(SKELETON_TABLE)
        table[key] = table.get(key, "") + char
    return table


_PREIMAGES = _preimages()


def _unskeleton(key: str) -> list[str]:
    """Every text whose skeleton (per character) is `key`."""
    texts = [""]
    for char in key:
        texts = [text + other for text in texts for other in _PREIMAGES.get(char, char)]
    return texts


def plural_moves(name: str) -> set[str]:
    """`name` with the plural `s` of one word moved to another (`requests-toolbelt` ->
    `request-toolbelts`), or added to a word but the last (`importlibs-resources`; at the
    end it is an affix); `ss` and short words keep theirs (`boss`, `gis`)."""
    words = name.split("-")
    plural = [i for i, w in enumerate(words) if len(w) > 3 and w[-1] == "s" and w[-2] != "s"]
    single = [i for i, w in enumerate(words) if w[-1:].isalpha() and w[-1] != "s"]
    moves = set()
    for q in single:
        for p in plural:
            moved = words[:]
            moved[p], moved[q] = words[p][:-1], words[q] + "s"
            moves.add("-".join(moved))
        if q < len(words) - 1 and len(words[q]) > 3:
            moves.add("-".join([*words[:q], words[q] + "s", *words[q + 1:]]))
    return moves


_DOUBLED = re.compile(r"(.)\1+")


def single_letters(text: str) -> str:
    """`text` with each run of a repeated character written once: `py-corddd` -> `py-cord`."""
    return _DOUBLED.sub(r"\1", text)


def rotations(name: str) -> dict[str, int]:
    """`name` (no separators) with its two parts swapped, for each cut leaving at least
    3 characters each side: `soupbeautiful` -> 8 (where `beautiful` ended)."""
    return {name[i:] + name[:i]: i for i in range(3, len(name) - 2)}


def _put(table: dict[str, Ids], key: str, target: int) -> None:
    found = table.setdefault(key, [])
    if target not in found:
        found.append(target)


@dataclass(frozen=True, slots=True)
class Protected:
    name: str  # canonical
    rank: int | None  # position in the ranked list; None for names protected otherwise
    two_typos: bool  # also matched at two edits (popular and long)


@dataclass(frozen=True, slots=True)
class Variant:
    """A protected name with an affix, for a slip hidden behind the affix."""

    target: int
    text: str  # e.g. "requests-2"
    start: int  # where the protected name begins in `text`
    head: str
    tail: str


class ProtectedIndex:
    """Protected names and their variant tables; `add` grows it in place."""

    def __init__(
        self, *, distance2_top: int = 300, distance2_min_length: int = 8,
        combination_top: int = 300, popular_top: int = 1500,
    ) -> None:
        self.distance2_top = distance2_top
        self.popular_top = popular_top
        self.distance2_min_length = distance2_min_length
        self.combination_top = combination_top
        # First words of plugin names (`pytest-`, `django-`), learned from all of PyPI's
        # names (hosts.py): `<host>-<popular>` is a plugin, not two popular names joined.
        self.hosts: frozenset[str] = frozenset()
        self.entries: list[Protected] = []
        self.variants: list[Variant] = []
        self.exact: dict[str, int] = {}
        self.near: dict[str, Ids] = {}
        self.skeletons: dict[str, Ids] = {}
        self.token_sets: dict[str, Ids] = {}
        self.cores: dict[str, Ids] = {}
        # How many protected names start with "<token>-": plugin namespaces (django-...).
        self.first_tokens: dict[str, int] = {}
        # Prefilter of `near`: its keys by length, their first halves and second halves;
        # and for a candidate one longer, the slices making its deletions: none, those
        # before the middle, those after, all (made once: building the keys is most of
        # the filter's cost; one list built from the right slices, not two joined).
        self.heads: list[set[str]] = []
        self.halves: list[set[str]] = []
        self.cuts: list[tuple[Cuts, Cuts, Cuts, Cuts]] = []
        # The keys of `near`, and of `exact`, `skeletons`, `token_sets`, `cores` and
        # `tails` (`shaped`), as sets: most lookups are of absent keys.
        self.near_set: set[str] = set()
        self.shaped: set[str] = set()
        # Two-typo names by their first four characters: two slips that the deletion
        # table cannot see (two substitutions, a slip plus an insertion) are looked for
        # among the names starting like the candidate, as squats keep the start intact.
        # Filed under every spelling of the start that has the same skeleton (so the
        # candidate's start is looked up as is), then by the candidate lengths at most
        # two away from the name's; one inner table is shared by all those spellings.
        self.by_start: dict[str, dict[int, list[int]]] = {}
        # Names of three words or more without their first one (`apache-airflow-x` ->
        # `airflow-x`): dropping a namespace prefix is an affix squat too.
        self.tails: dict[str, Ids] = {}
        # Names of several words with the plural `s` of one word moved to another
        # (`request-toolbelts` for `requests-toolbelt`).
        self.plurals: dict[str, Ids] = {}
        # Names without separators with two parts swapped (`soupbeautiful`), and where
        # the swapped name's first part ends: whether both parts are words is decided
        # when one is met (the words of names added later count too).
        self.rotated: dict[str, list[tuple[int, int]]] = {}
        # Names by their letters written once (`selenium`), for several letters typed
        # twice (`selleniumm`); one doubled letter is a slip the `near` table finds.
        self.singles: dict[str, Ids] = {}
        # Every word of every name: a candidate whose last word is none of them has no
        # protected name after a separator nor the words of one in another order.
        self.words: set[str] = set()

    def near_keys(self, c: str) -> list[str]:
        """The keys of candidate `c` that may be in `near`: its one-deletion variants,
        then `c` itself, leaving out the deletions the half tables rule out (in that
        order, so the hits come out as without the prefilter)."""
        n = len(c) - 1  # the length of a deletion
        if n >= len(self.heads):
            return [c]
        h = n // 2  # as in `_near`
        # Deleting before `h` leaves the tail `c[h + 1:]` intact, at or after `h` the
        # head `c[:h]`.
        cuts = self.cuts[n][(c[h + 1:] in self.halves[n]) + 2 * (c[:h] in self.heads[n])]
        if not cuts:
            return [c]  # nearly half the names: no list comprehension to set up
        keys = [c[head] + c[tail] for head, tail in cuts]
        keys.append(c)
        return keys

    def popular(self, target: int) -> bool:
        """Among the most popular names (rank <= popular_top): worth impersonating."""
        rank = self.entries[target].rank
        return rank is not None and rank <= self.popular_top

    def top(self, target: int) -> bool:
        """Among the very top names (rank <= distance2_top), squatted with two slips."""
        rank = self.entries[target].rank
        return rank is not None and rank <= self.distance2_top

    def pair(self, target: int) -> bool:
        """Popular enough (rank <= PAIR_TOP) for `<this>-<other popular>` to ride on both."""
        rank = self.entries[target].rank
        return rank is not None and rank <= PAIR_TOP

    def namespace(self, token: str) -> bool:
        return self.first_tokens.get(token, 0) >= NAMESPACE_MIN

    @classmethod
    def build(
        cls, names: Iterable[tuple[str, int | None]], *, distance2_top: int = 300,
        distance2_min_length: int = 8, combination_top: int = 300, popular_top: int = 1500,
    ) -> ProtectedIndex:
        """An index of (canonical name, rank) pairs; a repeated name keeps its best rank."""
        index = cls(
            distance2_top=distance2_top, distance2_min_length=distance2_min_length,
            combination_top=combination_top, popular_top=popular_top,
        )
        for name, rank in names:
            index.add(name, rank)
        return index

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, canonical: object) -> bool:
        return canonical in self.exact

    def get(self, canonical: str) -> Protected | None:
        found = self.exact.get(canonical) if canonical in self.shaped else None
        return None if found is None else self.entries[found]

    def add(self, name: str, rank: int | None = None) -> None:
        """Protect `name` (canonical). Adding a known name only improves its rank; the
        distance-2 and combination tables keep what the first rank gave."""
        known = self.exact.get(name)
        if known is not None:
            old = self.entries[known]
            if rank is not None and (old.rank is None or rank < old.rank):
                self.entries[known] = Protected(name, rank, old.two_typos)
            return
        # Two slips: the top names, and long names a bit further down (long names
        # rarely come within two edits of each other by chance).
        two = rank is not None and len(name) >= self.distance2_min_length and (
            rank <= self.distance2_top
            or (rank <= LONG_TOP and len(name) >= LONG_NAME)
        )
        target = len(self.entries)
        self.entries.append(Protected(name, rank, two))
        self.exact[name] = target
        self.shaped.add(name)
        self._near(name, target)
        deletions = {name[:i] + name[i + 1:] for i in range(len(name))}
        for variant in deletions:
            self._near(variant, target)
        if two:
            for variant in deletions:
                for i in range(len(variant)):
                    self._near(variant[:i] + variant[i + 1:], target)
            self._add_start(name, target)
        if rank is not None and rank <= self.combination_top:
            self._add_affixed(target, name)
        self._put_shaped(self.skeletons, skeleton(name), target)
        self.words.update(name.split("-"))
        if "-" in name:
            tokens = name.split("-")
            self._put_shaped(self.token_sets, "-".join(sorted(tokens)), target)
            self.first_tokens[tokens[0]] = self.first_tokens.get(tokens[0], 0) + 1
            if len(tokens) > 2:
                self._put_shaped(self.tails, name[len(tokens[0]) + 1:], target)
            for moved in plural_moves(name):
                _put(self.plurals, moved, target)
        else:
            for text, cut in rotations(name).items():
                self.rotated.setdefault(text, []).append((target, len(name) - cut))
        if len(name) >= MIN_DOUBLED:
            _put(self.singles, single_letters(name), target)
        core = core_of(name)
        if core != name:
            self._put_shaped(self.cores, core, target)

    def _put_shaped(self, table: dict[str, Ids], key: str, target: int) -> None:
        _put(table, key, target)
        self.shaped.add(key)

    def _near(self, key: str, target: int) -> None:
        _put(self.near, key, target)
        self.near_set.add(key)
        n = len(key)
        while len(self.heads) <= n:
            self.heads.append(set())
            self.halves.append(set())
            m = len(self.cuts)  # deletions of this length: of candidates one longer
            deletions = tuple((slice(0, i), slice(i + 1, None)) for i in range(m + 1))
            before, after = deletions[: m // 2], deletions[m // 2:]
            self.cuts.append(((), before, after, deletions))
        h = n // 2  # a key is cut into its filed head and tail in the middle
        self.heads[n].add(key[:h])
        self.halves[n].add(key[h:])

    def _add_start(self, name: str, target: int) -> None:
        key = name[:START].translate(SKELETON_TABLE)
        lengths: dict[int, list[int]] | None = None
        for spelling in _unskeleton(key):
            lengths = self.by_start.setdefault(spelling, lengths if lengths is not None else {})
        assert lengths is not None  # a name has a start
        for length in range(max(len(name) - 2, 0), len(name) + 3):
            lengths.setdefault(length, []).append(target)

    def _add_affixed(self, target: int, name: str) -> None:
        for head, tail in COMBINATION_AFFIXES:
            text = head + name + tail
            key = ~len(self.variants)
            self.variants.append(Variant(target, text, len(head), head, tail))
            self._near(text, key)
            for i in range(len(head), len(head) + len(name)):
                self._near(text[:i] + text[i + 1:], key)
