"""Every technique, for one candidate: the entry point of name matching.

No scoring and no policy here beyond what defines a technique (that is `verdict.py`):
each technique adds the protected names the candidate imitates, and a phrase explaining
how. It runs for every name of a scan, so each technique is cheap for the common case
of a name that resembles nothing.
"""

from __future__ import annotations

from detectors.typosquat.index import ProtectedIndex
from detectors.typosquat.matches import Match
from detectors.typosquat.shapes import (
    affixes,
    combo_words,
    joined,
    look_alikes,
    reorder,
    versions,
)
from detectors.typosquat.slips import slips

__all__ = ["Match", "find"]


def find(index: ProtectedIndex, c: str, shown: str = "") -> list[Match]:
    """Every protected name canonical candidate `c` imitates, with how; `shown` is the
    name as written, to quote a look-alike as typed (`I` for `l`)."""
    out: list[Match] = []
    slips(index, c, out, shown)
    look_alikes(index, c, out)
    # Words reordered, and a protected name after a separator, end the candidate with
    # a word of some protected name: most names with separators end in none.
    cut = c.rfind("-")
    words = cut >= 0 and c[cut + 1:] in index.words
    if words:
        reorder(index, c, out)
    affixes(index, c, out)
    if c[-1:].isdigit():  # its own first test, saving a call for most names
        versions(index, c, out)
    if words:
        joined(index, c, out)
    combo_words(index, c, out)
    return out
