"""Edit-based techniques: one slip, two slips, or one slip behind an affix.

Symmetric deletion against the index's `near` table finds every protected name within
one edit (two for the top names) in at most `len(name) + 1` dictionary lookups (most
of them ruled out beforehand by `ProtectedIndex.near_keys`); the edit is then
classified (omission, repetition, transposition, neighbouring key, look-alike, bit flip,
vowel, or generic) by `techniques.classify_edit` / `classify_two`.
"""

from __future__ import annotations

from operator import ne

from detectors.typosquat.index import START, ProtectedIndex
from detectors.typosquat.matches import Match, added
from detectors.typosquat.techniques import (
    Edit,
    Technique,
    classify_edit,
    classify_two,
    moved,
)

MIN_TWO_TYPOS = 6  # shortest candidate judged at two slips from a protected name
MIN_TWO_TYPO_WORD = 6  # ... and shortest word of the protected name holding them
# Slips distinctive enough to count behind an affix (`reqests-2`, `marshmellows`).
COMBINABLE = frozenset({
    Technique.OMISSION, Technique.REPETITION, Technique.TRANSPOSITION, Technique.VOWEL,
    Technique.HOMOGLYPH,
})


def _close(a: str, b: str) -> bool:
    """Cheap necessary condition for two names to be at most two slips apart: aligned
    at their start or at their end, few characters differ."""
    if abs(len(a) - len(b)) > 2:
        return False
    start: int = sum(map(ne, a, b))
    return start <= 4 or sum(map(ne, reversed(a), reversed(b))) <= 4


def close_starts(index: ProtectedIndex, c: str) -> list[int]:
    """The two-typo names starting like `c` (same skeleton for `START` characters) and
    `_close` to it, in index order."""
    lengths = index.by_start.get(c[:START])
    starting = None if lengths is None else lengths.get(len(c))
    if not starting:
        return []
    entries = index.entries
    return [target for target in starting if _close(c, entries[target].name)]


def slips(index: ProtectedIndex, c: str, out: list[Match], shown: str = "") -> None:
    """One slip (omission, repetition, transposition, neighbouring key, look-alike,
    bit flip, vowel), two slips on a popular long name, or one slip behind an affix on
    a popular name. Symmetric deletion: the candidate and its one-deletion variants
    against the `near` table. `shown` is the name as written when it aligns with `c`
    (so a look-alike capital `I` is shown as typed)."""
    near, keys = index.near, index.near_keys(c)
    close = (close_starts(index, c) if len(c) >= MIN_TWO_TYPOS and c[:START] in index.by_start
             else [])
    if not close and index.near_set.isdisjoint(keys):
        return  # the common case: nothing within reach
    hits: set[int] = set()
    near_set = index.near_set
    for key in keys:
        if key in near_set:  # most likely just looked up, so cached: spares `near`'s misses
            hits.update(near.get(key, ()))
    hits.update(close)
    for target in hits:
        if target < 0:
            _affixed(index, c, ~target, out)
            continue
        entry = index.entries[target]
        name = entry.name
        if name == c:
            continue
        edit = classify_edit(c, name)
        if edit is not None:
            aligned = edit.technique is Technique.HOMOGLYPH and len(shown) == len(c)
            how = edit.describe(shown[edit.at] if aligned else None)
            out.append(Match(target, (edit.technique,), f"is `{name}` with {how}", (edit,)))
        elif (shift := moved(c, name)) is not None:
            out.append(Match(target, (Technique.MOVED,), f"is `{name}` with {shift.describe()}",
                             (shift,)))
        elif entry.two_typos and len(c) >= MIN_TWO_TYPOS:
            pair = classify_two(c, name)
            if pair is not None and _two_typos_ok(name, pair):
                first, second = pair
                out.append(Match(
                    target, (Technique.TWO_TYPOS,),
                    f"is `{name}` with {first.describe()} and {second.describe()}", pair,
                ))


def _two_typos_ok(name: str, pair: tuple[Edit, Edit]) -> bool:
    """Two slips count on letters (not separators) of a long word: two changes to the
    short `cov` of `pytest-cov` make another word, not a typo; and they keep the first
    letter, as squats do (`vktoken` is not `tiktoken`)."""
    if "-" in "".join(e.old + e.new for e in pair) or min(e.at for e in pair) == 0:
        return False
    for edit in pair:
        start = name.rfind("-", 0, edit.at) + 1
        end = name.find("-", edit.at)
        if (len(name) if end < 0 else end) - start < MIN_TWO_TYPO_WORD:
            return False
    return True


def _affixed(index: ProtectedIndex, c: str, number: int, out: list[Match]) -> None:
    variant = index.variants[number]
    edit = classify_edit(c, variant.text)
    name = index.entries[variant.target].name
    if edit is None or not variant.start <= edit.at < variant.start + len(name):
        return  # no slip, or the slip is in the affix: plain affix/version technique
    if edit.technique not in COMBINABLE:
        return
    out.append(Match(
        variant.target, (edit.technique, Technique.AFFIX),
        f"is `{name}` with {edit.describe()}, and {added(variant.head, variant.tail)}", (edit,),
    ))
