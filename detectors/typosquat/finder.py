"""Every technique, for one candidate: the entry point of name matching.

No scoring and no policy here beyond what defines a technique (that is `verdict.py`):
each technique adds the protected names the candidate imitates, and a phrase explaining
how. It runs for every name of a scan, so each technique is cheap for the common case
of a name that resembles nothing, and the cheap first test of most of them is made here,
sparing the call for such a name.
"""

from __future__ import annotations

import re

from detectors.typosquat.affixes import PREFIX_START, PREFIXES
from detectors.typosquat.index import ProtectedIndex
from detectors.typosquat.matches import Match
from detectors.typosquat.shapes import (
    ENDINGS_BY_LAST,
    affixes,
    combo_words,
    doubled,
    joined,
    look_alikes,
    plurals,
    reorder,
    swapped_parts,
    versions,
)
from detectors.typosquat.slips import slips

__all__ = ["Match", "find"]

_DOUBLE = re.compile(r"(.)\1")


def find(index: ProtectedIndex, c: str, shown: str = "") -> list[Match]:
    """Every protected name canonical candidate `c` imitates, with how; `shown` is the
    name as written, to quote a look-alike as typed (`I` for `l`)."""
    out: list[Match] = []
    slips(index, c, out, shown)
    look_alikes(index, c, out)
    # Words reordered, and a protected name after a separator, end the candidate with
    # a word of some protected name (reordered ones start with one too): most names with
    # separators end in none.
    cut = c.rfind("-")
    words = cut >= 0 and c[cut + 1:] in index.words
    if words and c[: c.find("-")] in index.words:
        reorder(index, c, out)
    double = _DOUBLE.search(c)
    if double is not None and _DOUBLE.search(c, double.start() + 1):
        doubled(index, c, out)  # two letters typed twice at least (`ll`...`mm`, `ddd`)
    if cut < 0:
        if c in index.rotated:
            swapped_parts(index, c, out)
    elif c in index.plurals:
        plurals(index, c, out)
    last = c[-1:]
    ending = c.endswith(ENDINGS_BY_LAST.get(last, ()))  # an affix or a combo word, maybe
    if ending or c in index.shaped or (c.startswith(PREFIX_START) and c.startswith(PREFIXES)):
        affixes(index, c, out)
    if last.isdigit():
        versions(index, c, out)
    if words:
        joined(index, c, out)
    if ending:
        combo_words(index, c, out)
    return out
