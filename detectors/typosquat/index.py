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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from detectors.typosquat.affixes import COMBINATION_AFFIXES, core_of
from detectors.typosquat.keyboard import SKELETON_TABLE
from detectors.typosquat.names import skeleton

# One id, or several in a list (most keys have exactly one: saves memory). Ids >= 0 are
# protected entries; negative ids are affixed variants (`~id` indexes `variants`).
Ids = int | list[int]
NAMESPACE_MIN = 3  # this many protected `<token>-...` names make `<token>` a namespace
START = 4  # characters of `by_start` keys
LONG_NAME, LONG_TOP = 12, 2000  # names this long are matched at two slips down to this rank


def ids(value: Ids | None) -> Iterator[int]:
    if value is None:
        return
    if isinstance(value, int):
        yield value
    else:
        yield from value


def _put(table: dict[str, Ids], key: str, target: int) -> None:
    found = table.get(key)
    if found is None:
        table[key] = target
    elif isinstance(found, int):
        if found != target:
            table[key] = [found, target]
    elif target not in found:
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
        self.entries: list[Protected] = []
        self.variants: list[Variant] = []
        self.exact: dict[str, int] = {}
        self.near: dict[str, Ids] = {}
        self.skeletons: dict[str, Ids] = {}
        self.token_sets: dict[str, Ids] = {}
        self.cores: dict[str, Ids] = {}
        # How many protected names start with "<token>-": plugin namespaces (django-...).
        self.first_tokens: dict[str, int] = {}
        # Two-typo names by their first four characters: two slips that the deletion
        # table cannot see (two substitutions, a slip plus an insertion) are looked for
        # among the names starting like the candidate, as squats keep the start intact.
        self.by_start: dict[str, Ids] = {}
        # Names of three words or more without their first one (`apache-airflow-x` ->
        # `airflow-x`): dropping a namespace prefix is an affix squat too.
        self.tails: dict[str, Ids] = {}

    def popular(self, target: int) -> bool:
        """Among the most popular names (rank <= popular_top): worth impersonating."""
        rank = self.entries[target].rank
        return rank is not None and rank <= self.popular_top

    def top(self, target: int) -> bool:
        """Among the very top names (rank <= distance2_top), squatted with two slips."""
        rank = self.entries[target].rank
        return rank is not None and rank <= self.distance2_top

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
        found = self.exact.get(canonical)
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
        near = self.near
        _put(near, name, target)
        deletions = {name[:i] + name[i + 1:] for i in range(len(name))}
        for variant in deletions:
            _put(near, variant, target)
        if two:
            for variant in deletions:
                for i in range(len(variant)):
                    _put(near, variant[:i] + variant[i + 1:], target)
            _put(self.by_start, name[:START].translate(SKELETON_TABLE), target)
        if rank is not None and rank <= self.combination_top:
            self._add_affixed(target, name)
        _put(self.skeletons, skeleton(name), target)
        if "-" in name:
            tokens = name.split("-")
            _put(self.token_sets, "-".join(sorted(tokens)), target)
            self.first_tokens[tokens[0]] = self.first_tokens.get(tokens[0], 0) + 1
            if len(tokens) > 2:
                _put(self.tails, name[len(tokens[0]) + 1:], target)
        core = core_of(name)
        if core != name:
            _put(self.cores, core, target)

    def _add_affixed(self, target: int, name: str) -> None:
        for head, tail in COMBINATION_AFFIXES:
            text = head + name + tail
            key = ~len(self.variants)
            self.variants.append(Variant(target, text, len(head), head, tail))
            _put(self.near, text, key)
            for i in range(len(head), len(head) + len(name)):
                _put(self.near, text[:i] + text[i + 1:], key)
