"""Noise control: which of the finder's matches count, by technique, the imitated
name's length and its popularity (its rank in the download list).

A technique means something only on a name long enough (a one-letter change to a
four-letter name is mostly another word) or popular enough to be worth squatting: the
real squats aim at the most downloaded projects, while an obscure or short name collides
with existing projects by chance. Each rule below carries the figures it was set on: the
names it flagged among 40,000 random existing PyPI names and the reported squats of the
tuning set (tests/data/typosquat/reported.tsv) it kept. `python -m bench.typosquat_eval`
measures the whole; `--ceiling` shows what the techniques reach with no rule at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.typosquat.index import ProtectedIndex
from detectors.typosquat.keyboard import bit_flip
from detectors.typosquat.matches import Match
from detectors.typosquat.techniques import GENERIC_EDITS, STRONG_SLIPS, Edit, Technique

T = Technique
_SLIPS = frozenset({
    T.OMISSION, T.REPETITION, T.TRANSPOSITION, T.ADJACENT_KEY, T.NEIGHBOUR_INSERTION,
    T.HOMOGLYPH, T.BIT_FLIP, T.VOWEL, T.TWO_TYPOS,
})
# A first letter typed twice or drawn alike is still read as the name (`fflask`, `Iogging`).
_FIRST_LETTER_KEPT = frozenset({T.REPETITION, T.HOMOGLYPH, T.INVISIBLE})
_SHORT_WORDS = frozenset({T.TRANSPOSITION, T.HOMOGLYPH, T.MOVED})
# Affixes, versions and combo words: counted for the popular names (`shape_top`) only.
_SHAPED = frozenset({T.AFFIX, T.VERSION_SUFFIX, T.COMBOSQUAT})
MIN_NAME_TARGET = 5  # shortest target for the name-shape techniques (separator, affix...)
VOWEL_MIN_LENGTH = 7
GENERIC_MIN_LENGTH = 7  # a change of any kind counts on names at least this long
# A slip plus any other change (`fastwire` for `fastcore`) on names this popular only:
# between ranks 200 and 1,000 it flagged 0.04% of all names (40,000 sampled), no tuning squat.
TWO_GENERIC_TOP = 200
GENERIC_LONG = 9  # ... and once on any protected name at least this long
# A bit flip (`numqy`) counts on names this popular only: beyond, 0.04% of all names
# (40,000 sampled) were flagged for one, and none of the 256 tuning squats.
BIT_FLIP_TOP = 1000
SHORT_NAME = 7  # a weak slip on a name shorter than this counts for the popular ones only
# Squats keep the first letter (doubling it aside: `fflask`): a slip right there counts on
# the most squatted names only. None of the 256 tuning squats of a name beyond the top 200
# changed its first letter; 28 of 40,000 random names were flagged for such a slip.
FIRST_LETTER_TOP = 200
# An affix or combo word on a name of 6 letters or fewer (`torch-lib`, `faker-py`) is
# mostly a project of its own beyond the top 200: 20 of 40,000 random names, 1 tuning squat.
SHORT_SHAPE_TOP = 200
# Words of a less popular name in another order (`firestore-mock`, `nacos-python-sdk`) are
# mostly another project: beyond the top 3,000, 8 of 40,000 random names, no tuning squat.
REORDER_TOP = 3000


def inside_word(target: str, edit: Edit) -> bool:
    """Is the change inside a word, not at a word's ends nor in a number? Squats keep the
    first letter; a character added at the end is an affix (`venv-pack2`)."""
    at = edit.at
    if at == 0 or at >= len(target) or (edit.old + edit.new).isdigit():
        return False
    return target[at - 1] != "-" and target[at] != "-"


def top(rank: int | None, limit: int) -> bool:
    """Among the `limit` most downloaded (a critical project has no rank: never)."""
    return rank is not None and rank <= limit


@dataclass(frozen=True)
class Policy:
    """The rules, with the limits `[typosquat]` sets (config/warden.toml explains them)."""

    index: ProtectedIndex
    min_target_length: int = 5
    short_name_top: int = 5000
    any_slip_top: int = 200
    shape_top: int = 1000

    def refusal(self, match: Match) -> str | None:
        """Why the match does not count (None when it does): the imitated name is too
        short, or not popular enough, for this technique to mean something."""
        first = match.techniques[0]
        if first is T.INVISIBLE:
            return None  # the protected name itself, but for invisible characters
        entry = self.index.entries[match.target]
        target, rank = entry.name, entry.rank
        if (first not in _FIRST_LETTER_KEPT and any(e.at == 0 for e in match.edits)
                and not top(rank, FIRST_LETTER_TOP)):
            return f"a slip of the first letter counts on the top {FIRST_LETTER_TOP} only"
        if first is T.WORD_REORDER and not top(rank, REORDER_TOP):
            return f"words reordered count on the top {REORDER_TOP} only"
        if first in GENERIC_EDITS or first is T.TWO_TYPOS:
            return None if self._any_change(match, target, rank) else (
                "a letter that is no particular slip counts once, inside a word, on the most "
                "popular or the longest names only")
        if first is T.VOWEL and match.edits:
            return None if self._vowel(match, target, rank) else (
                f"a vowel change counts on names of {VOWEL_MIN_LENGTH}+ characters (6 if "
                "popular) only, the first letter kept")
        if first in _SHORT_WORDS and match.edits and len(target) < SHORT_NAME:
            # A letter swapped, moved or drawn alike in a short, less popular name is
            # mostly another word (`anony`, `d3lta`): 17 of 40,000 random names, no tuning
            # squat. A repeated one still reads as the name (`py-cordd`).
            if len(target) >= 4 and top(rank, self.short_name_top):
                return None
            return (f"a letter swapped, moved or drawn alike in a name under {SHORT_NAME} "
                    f"characters counts on the top {self.short_name_top} only")
        if first in STRONG_SLIPS:
            return None if len(target) >= 4 else "the name is too short (under 4 characters)"
        if first is T.BIT_FLIP and not top(rank, BIT_FLIP_TOP):
            # `porthog` for `posthog`: mostly another word beyond the top.
            return f"a bit flip counts on the top {BIT_FLIP_TOP} only"
        if first in _SLIPS:
            return None if self._weak_slip(target, rank) else (
                f"a slip of a name under {SHORT_NAME} characters counts on the top "
                f"{self.short_name_top} only (and none under {self.min_target_length})")
        if first in _SHAPED and not self.shape_counts(target, rank):
            return (f"affixes and combo words count on the top {self.shape_top} only (the top "
                    f"{SHORT_SHAPE_TOP} for names of 6 letters or fewer)")
        length = len(target.replace("-", ""))
        if length >= MIN_NAME_TARGET or (
            first is T.COMBOSQUAT and length == MIN_NAME_TARGET - 1
            and top(rank, self.any_slip_top)  # `richx`: among the few squatted so
        ):
            return None
        return f"the name is too short for this technique (under {MIN_NAME_TARGET} letters)"

    def _any_change(self, match: Match, target: str, rank: int | None) -> bool:
        """A letter that is no particular slip (generic), alone or with a slip."""
        first = match.techniques[0]
        generic = sum(e.technique in GENERIC_EDITS for e in match.edits)
        if not generic:
            return True
        # Any change at all, once, on the most squatted names, keeping the first
        # character (squats keep it; unrelated names often differ right there).
        popular = top(rank, TWO_GENERIC_TOP if first is T.TWO_TYPOS else self.any_slip_top)
        if first is not T.TWO_TYPOS and len(target) >= GENERIC_LONG:
            popular = True  # `custoqtkinter`: one change to a long name is no coincidence
        shortest = GENERIC_MIN_LENGTH - top(rank, TWO_GENERIC_TOP)
        if (first is T.INSERTION and top(rank, TWO_GENERIC_TOP)
                and all(e.new.isalnum() for e in match.edits)):
            shortest = 4  # `ritch`, `falask`: 1 of 40,000 random names, 2 tuning squats
        return (generic == 1 and popular and len(target) >= shortest
                and all(inside_word(target, e) for e in match.edits))

    def _vowel(self, match: Match, target: str, rank: int | None) -> bool:
        """A spelling slip (`colourama`, `telegrem`) more than a keyboard one: frequent
        among short names by chance, so it needs a long or a popular target, and the
        name's first letter kept, unless the two vowels are also one bit apart."""
        edit = match.edits[0]
        long_enough = len(target) >= VOWEL_MIN_LENGTH or (
            len(target) == VOWEL_MIN_LENGTH - 1 and self.index.popular(match.target))
        if edit.at > 0 and long_enough:
            return True
        return (len(edit.old) == len(edit.new) == 1 and bit_flip(edit.old, edit.new)
                and self._weak_slip(target, rank))

    def _weak_slip(self, target: str, rank: int | None) -> bool:
        """One weak slip on a short, obscure name is mostly a coincidence."""
        if len(target) < self.min_target_length:
            return False
        return len(target) >= SHORT_NAME or rank is None or rank <= self.short_name_top

    def shape_counts(self, target: str, rank: int | None) -> bool:
        """`sentinel-python`, `pycyclic`, `textx-dev`: wrappers and editions of less
        popular names are mostly their own projects (0.3% of all names, 40,000 sampled,
        for 9 of the 256 tuning squats), of short ones even more (`torch-lib`)."""
        short = len(target.replace("-", "")) <= 6
        return top(rank, min(self.shape_top, SHORT_SHAPE_TOP) if short else self.shape_top)
