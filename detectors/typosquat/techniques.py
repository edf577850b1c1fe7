"""The techniques a look-alike name can use, and how one or two edits are classified.

`classify_edit` answers "which single slip turns the target into the candidate?" for
two canonical names one Damerau-Levenshtein edit apart; `classify_two` does the same for
two edits. A difference that is no particular slip (say `b`->`x`) is a generic
SUBSTITUTION or INSERTION, which the verdict counts only for the most squatted names:
edit distance alone does not flag a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from itertools import compress, count
from operator import ne

from detectors.typosquat.keyboard import VOWELS, adjacent, bit_flip, look_alike


class Technique(StrEnum):
    OMISSION = "omission"
    REPETITION = "repetition"
    TRANSPOSITION = "transposition"
    ADJACENT_KEY = "adjacent-key"
    NEIGHBOUR_INSERTION = "neighbour-insertion"
    HOMOGLYPH = "homoglyph"
    BIT_FLIP = "bit-flip"
    VOWEL = "vowel-change"
    SEPARATOR = "separator"
    WORD_REORDER = "word-reorder"
    AFFIX = "affix"
    VERSION_SUFFIX = "version-suffix"
    COMBOSQUAT = "combosquat"
    TWO_TYPOS = "two-typos"
    MOVED = "moved-character"  # one character moved two places: `jutpyer` for `jupyter`
    PLURAL = "plural"  # an `s` added (`pydantics`) or moved to another word (`request-toolbelts`)
    PARTS_SWAPPED = "parts-swapped"  # word parts swapped, no separator: `soupbeautiful`
    SUBSTITUTION = "substitution"  # any other character: counts for the most popular only
    INSERTION = "insertion"
    # Zero-width, bidi, BOM, soft hyphen...: no project name can hold them, so a name
    # that does is flagged whatever it resembles (see names.py).
    INVISIBLE = "invisible-characters"


# Typing slips that are strong on their own; the others need a longer target.
STRONG_SLIPS = frozenset({Technique.REPETITION, Technique.TRANSPOSITION, Technique.HOMOGLYPH})
# A change that is no particular slip: only the most squatted names are judged on it.
GENERIC_EDITS = frozenset({Technique.SUBSTITUTION, Technique.INSERTION})


@dataclass(frozen=True, slots=True)
class Edit:
    """One slip: `technique` turned `old` (in the target) into `new` (in the candidate)."""

    technique: Technique
    old: str
    new: str
    at: int  # position in the target

    def describe(self, shown: str | None = None) -> str:
        """The slip in words; `shown` is the candidate's character as displayed (`I`)."""
        t = self.technique
        if shown is not None and t is Technique.HOMOGLYPH:
            return f"`{self.old}` replaced by the look-alike `{shown}`"
        if t is Technique.OMISSION:
            return f"`{self.old}` omitted"
        if t is Technique.REPETITION:
            return f"`{self.new[0]}` repeated"
        if t is Technique.TRANSPOSITION:
            return f"`{self.old}` transposed"
        if t is Technique.NEIGHBOUR_INSERTION:
            return f"the neighbouring key `{self.new}` inserted"
        if t is Technique.ADJACENT_KEY:
            return f"`{self.old}` replaced by the neighbouring key `{self.new}`"
        if t is Technique.HOMOGLYPH:
            return f"`{self.old}` replaced by the look-alike `{self.new}`"
        if t is Technique.BIT_FLIP:
            return f"`{self.old}` replaced by `{self.new}` (one bit flipped)"
        if t is Technique.INSERTION:
            return f"`{self.new}` inserted"
        if t is Technique.MOVED:
            return f"`{self.old}` written `{self.new}` (a character moved two places)"
        if t is Technique.VOWEL:
            if not self.old:
                return f"the vowel `{self.new}` added"
            return f"the vowel `{self.old}` replaced by `{self.new}`"
        return f"`{self.old}` changed to `{self.new}`"


def moved(candidate: str, target: str) -> Edit | None:
    """One character of `target` moved two places (`abc` -> `bca` or `cab`)."""
    if len(candidate) != len(target) or candidate == target:
        return None
    i = _first_difference(candidate, target)
    window, other = target[i : i + 3], candidate[i : i + 3]
    if len(window) < 3 or candidate[i + 3:] != target[i + 3:] or "-" in window + other:
        return None
    if other in (window[1:] + window[0], window[2] + window[:2]):
        return Edit(Technique.MOVED, window, other, i)
    return None


def _substitution(old: str, new: str, at: int) -> Edit:
    if look_alike(old, new):
        return Edit(Technique.HOMOGLYPH, old, new, at)
    if adjacent(old, new):
        return Edit(Technique.ADJACENT_KEY, old, new, at)
    if old in VOWELS and new in VOWELS:
        return Edit(Technique.VOWEL, old, new, at)
    if old != "-" and new != "-" and bit_flip(old, new):
        return Edit(Technique.BIT_FLIP, old, new, at)
    return Edit(Technique.SUBSTITUTION, old, new, at)


def _insertion(candidate: str, at: int) -> Edit:
    """`candidate[at]` is the inserted character."""
    char = candidate[at]
    before = candidate[at - 1] if at > 0 else ""
    after = candidate[at + 1] if at + 1 < len(candidate) else ""
    if char in (before, after):
        return Edit(Technique.REPETITION, "", char * 2, at)
    if adjacent(before, char) or adjacent(after, char):
        return Edit(Technique.NEIGHBOUR_INSERTION, "", char, at)
    if char in VOWELS and (before in VOWELS or after in VOWELS):
        return Edit(Technique.VOWEL, "", char, at)  # colour for color: a spelling slip
    return Edit(Technique.INSERTION, "", char, at)


def _in_number(text: str, at: int) -> bool:
    """Is position `at` next to a digit? A changed digit inside a number (`cu12` ->
    `cu13`, `cu11` -> `cu111`) names another version, not a slip of the finger."""
    return any(text[j].isdigit() for j in (at - 1, at + 1) if 0 <= j < len(text))


def classify_edit(candidate: str, target: str) -> Edit | None:
    """The slip turning `target` into `candidate`, if they differ by exactly one edit."""
    edit = _one_edit(candidate, target)
    if edit is None or _numeric(edit, candidate, target):
        return None
    return edit


def _numeric(edit: Edit, candidate: str, target: str) -> bool:
    """Does the edit change a digit inside a number (another version, not a slip)?"""
    if edit.technique is Technique.TRANSPOSITION or not (edit.old + edit.new).isdigit():
        return False
    return _in_number(target if edit.old else candidate, edit.at)


def _first_difference(a: str, b: str) -> int:
    """The first position where `a` and `b` differ, or the shorter one's length (the
    comparisons run in C: this is on the path of every near hit; 1.7 us against 26 us for
    a loop over a 31-character common start, measured)."""
    return next(compress(count(), map(ne, a, b)), min(len(a), len(b)))


def _one_edit(candidate: str, target: str) -> Edit | None:
    lc, lt = len(candidate), len(target)
    if lc == lt - 1:  # something of the target is missing
        i = _first_difference(candidate, target)
        if candidate[i:] != target[i + 1:]:
            return None
        return Edit(Technique.OMISSION, target[i], "", i)
    if lc == lt + 1:  # the candidate has one character more
        i = _first_difference(candidate, target)
        if candidate[i + 1:] != target[i:]:
            return None
        return _insertion(candidate, i)
    if lc != lt or candidate == target:
        return None
    diff = list(compress(range(lc), map(ne, candidate, target)))
    if len(diff) == 1:
        i = diff[0]
        return _substitution(target[i], candidate[i], i)
    if len(diff) == 2 and diff[1] == diff[0] + 1:
        i = diff[0]
        if candidate[i] == target[i + 1] and candidate[i + 1] == target[i]:
            return Edit(Technique.TRANSPOSITION, target[i : i + 2], candidate[i : i + 2], i)
    return None


def _counts_within_two(a: str, b: str) -> bool:
    """Cheap necessary condition for `a` and `b` to be two edits apart, before the
    dynamic programme: a substitution, insertion or deletion changes the count of at
    most one character each way (a transposition none), so at most two characters of
    one may be missing from the other, counted with repetition. The common start and
    end hold the same characters and are left out."""
    i = _first_difference(a, b)
    j = min(_first_difference(a[::-1], b[::-1]), min(len(a), len(b)) - i)
    x, y = a[i : len(a) - j], b[i : len(b) - j]
    if len(x) <= 2 and len(y) <= 2:
        return True
    in_x, in_y = set(x), set(y)
    if len(in_x - in_y) > 2 or len(in_y - in_x) > 2:  # distinct characters: fewer still
        return False
    return (sum(max(0, x.count(ch) - y.count(ch)) for ch in in_x) <= 2
            and sum(max(0, y.count(ch) - x.count(ch)) for ch in in_y) <= 2)


def _within(a: str, b: str, k: int) -> bool:
    """Is the optimal-string-alignment distance of `a` and `b` at most `k`?

    For `k` = 2, the same answer as `_osa_table` (not None) without the table: at the
    first difference a substitution, insertion, deletion or transposition must be made,
    and at most `k` are allowed. A few string comparisons instead of the table's few
    hundred steps, for the pairs (nearly all) that are further apart."""
    i = _first_difference(a, b)
    a, b = a[i:], b[i:]
    if not a or not b:
        return len(a) + len(b) <= k
    if k == 0:
        return False
    a1, b1 = a[1:], b[1:]
    swap = len(a) > 1 and len(b) > 1 and a[0] == b[1] and a[1] == b[0]
    if k == 1:
        return a1 in (b1, b) or a == b1 or (swap and a[2:] == b[2:])
    return (_within(a1, b1, k - 1) or _within(a1, b, k - 1) or _within(a, b1, k - 1)
            or (swap and _within(a[2:], b[2:], k - 1)))


def _osa_table(a: str, b: str) -> list[list[int]] | None:
    """Optimal-string-alignment distances between prefixes of `a` and `b`, or None if
    the distance exceeds 2 (banded: such alignments never leave |i - j| <= 2)."""
    n, m = len(a), len(b)
    if abs(n - m) > 2:
        return None
    big = 99
    d = [[big] * (m + 1) for _ in range(n + 1)]
    for i in range(min(n, 2) + 1):
        d[i][0] = i
    for j in range(min(m, 2) + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        row, up = d[i], d[i - 1]
        ai = a[i - 1]
        lowest = big
        for j in range(max(1, i - 2), min(m, i + 2) + 1):
            best = min(up[j] + 1, row[j - 1] + 1, up[j - 1] + (ai != b[j - 1]))
            if i > 1 and j > 1 and ai == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, d[i - 2][j - 2] + 1)
            row[j] = best
            lowest = min(lowest, best)
        if lowest > 2:
            return None
    return d if d[n][m] <= 2 else None


Op = tuple[str, int, int]


def _osa_paths(a: str, b: str, d: list[list[int]], i: int, j: int) -> list[list[Op]]:
    """Every optimal list of edit operations turning b[:j] into a[:i].

    Each op is (kind, i, j): "sub", "del" (b[j] missing from a), "ins" (a[i] extra),
    "swap" (a[i:i+2] is b[j:j+2] reversed). Optimal alignments are few at distance 2.
    """
    if i == 0 and j == 0:
        return [[]]
    here = d[i][j]
    paths: list[list[Op]] = []
    steps: list[tuple[int, int, Op | None]] = []
    if i > 0 and j > 0 and a[i - 1] == b[j - 1] and here == d[i - 1][j - 1]:
        steps.append((i - 1, j - 1, None))
    if i > 0 and j > 0 and a[i - 1] != b[j - 1] and here == d[i - 1][j - 1] + 1:
        steps.append((i - 1, j - 1, ("sub", i - 1, j - 1)))
    if (i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]
            and a[i - 1] != a[i - 2] and here == d[i - 2][j - 2] + 1):
        steps.append((i - 2, j - 2, ("swap", i - 2, j - 2)))
    if i > 0 and here == d[i - 1][j] + 1:
        steps.append((i - 1, j, ("ins", i - 1, j)))
    if j > 0 and here == d[i][j - 1] + 1:
        steps.append((i, j - 1, ("del", i, j - 1)))
    for pi, pj, op in steps:
        for path in _osa_paths(a, b, d, pi, pj):
            paths.append([*path, op] if op is not None else path)
    return paths


def classify_two(candidate: str, target: str) -> tuple[Edit, Edit] | None:
    """The two edits turning `target` into `candidate`, or None if they are further apart.

    All optimal alignments are tried and the one with the fewest generic edits wins:
    `reqeuts` is `requests` with `ue` transposed and `s` omitted, though another
    alignment of the same cost would replace `s` by `u`.
    """
    if not _counts_within_two(candidate, target) or not _within(candidate, target, 2):
        return None
    table = _osa_table(candidate, target)
    if table is None:
        return None
    found: tuple[Edit, Edit] | None = None
    for ops in _osa_paths(candidate, target, table, len(candidate), len(target)):
        if len(ops) != 2:
            continue
        first, second = (_op_edit(candidate, target, op) for op in ops)
        if _numeric(first, candidate, target) or _numeric(second, candidate, target):
            continue
        generic = (first.technique in GENERIC_EDITS) + (second.technique in GENERIC_EDITS)
        if found is None or generic < sum(e.technique in GENERIC_EDITS for e in found):
            found = first, second
    return found


def _op_edit(candidate: str, target: str, op: Op) -> Edit:
    kind, i, j = op
    if kind == "del":
        return Edit(Technique.OMISSION, target[j], "", j)
    if kind == "ins":
        return _insertion(candidate, i)
    if kind == "swap":
        return Edit(Technique.TRANSPOSITION, target[j : j + 2], candidate[i : i + 2], j)
    return _substitution(target[j], candidate[i], j)
