"""Character tables: QWERTY neighbours, look-alikes (ASCII and Unicode), bit flips, vowels.

Kept as data in one place so the techniques, the skeleton and the evaluation's variant
generators all agree on what "neighbouring key" or "look-alike" means.
"""

from __future__ import annotations

# Rows of a US QWERTY keyboard with their horizontal stagger, in key widths.
_ROWS: tuple[tuple[str, float], ...] = (
    ("1234567890-", 0.0),
    ("qwertyuiop", 0.5),
    ("asdfghjkl", 0.75),
    ("zxcvbnm", 1.25),
)


def _neighbours() -> dict[str, frozenset[str]]:
    where = {
        key: (row, col + offset)
        for row, (keys, offset) in enumerate(_ROWS)
        for col, key in enumerate(keys)
    }
    result: dict[str, frozenset[str]] = {}
    for key, (row, x) in where.items():
        # Same row: the keys either side; rows above/below: keys overlapping this one.
        result[key] = frozenset(
            other for other, (orow, ox) in where.items()
            if other != key and (
                (orow == row and abs(ox - x) == 1) or (abs(orow - row) == 1 and abs(ox - x) <= 0.75)
            )
        )
    return result


NEIGHBOURS: dict[str, frozenset[str]] = _neighbours()

# Characters a name may contain after canonicalization.
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"

# Pairs of single characters that look alike in common fonts (`1`/`l`/`i`, `0`/`o`, ...).
_GLYPH_GROUPS: tuple[str, ...] = ("o0", "l1i", "s5", "e3", "a4", "t7", "b8", "g9q", "z2")
HOMOGLYPHS: frozenset[frozenset[str]] = frozenset(
    frozenset((a, b)) for group in _GLYPH_GROUPS for a in group for b in group if a != b
)
# Sequences that render like one letter; applied before the single-character table.
MULTI_HOMOGLYPHS: tuple[tuple[str, str], ...] = (("rn", "m"), ("vv", "w"), ("cl", "d"))
# Each group collapses to its first character in the skeleton.
SKELETON_TABLE = str.maketrans({char: group[0] for group in _GLYPH_GROUPS for char in group[1:]})
# The same for ASCII text as bytes: `bytes.translate` is faster than `str.translate`
# (0.2 us against 2.3 us for a 17-character name, measured).
SKELETON_BYTES = bytes.maketrans(
    bytes(SKELETON_TABLE), "".join(str(char) for char in SKELETON_TABLE.values()).encode()
)


def collapse(text: str) -> str:
    """`text` with each look-alike character replaced by the first of its group
    (`0` -> `o`, `1`/`i` -> `l`): the per-character part of the skeleton."""
    if text.isascii():
        return text.encode().translate(SKELETON_BYTES).decode()
    return text.translate(SKELETON_TABLE)

VOWELS = frozenset("aeiou")

# Unicode characters that are drawn like an ASCII letter (Cyrillic, Greek, Armenian and
# a few Latin extensions) and that NFKD does not already reduce to ASCII.
UNICODE_CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "е": "e", "і": "i", "ј": "j", "к": "k", "м": "m", "о": "o", "р": "p",
    "с": "c", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h",
    "ӏ": "l", "ь": "b", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H",
    "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J",
    "Ѕ": "S",
    # Greek
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "υ": "u", "ι": "i", "κ": "k", "χ": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Armenian and Latin extensions
    "օ": "o", "ս": "u", "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ɡ": "g",
    "ɩ": "i",
    # Dashes that pass for a hyphen
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
}


def adjacent(a: str, b: str) -> bool:
    """True when `b` is a neighbouring key of `a` on a QWERTY keyboard."""
    return b in NEIGHBOURS.get(a, ())


def look_alike(a: str, b: str) -> bool:
    return frozenset((a, b)) in HOMOGLYPHS


def bit_flip(a: str, b: str) -> bool:
    """True when the two characters' codes differ in exactly one bit."""
    return a != b and (ord(a) ^ ord(b)).bit_count() == 1
