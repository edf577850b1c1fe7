"""Characters that do not show as themselves, and text with each of them made visible.

Project names, versions, file names, registrar names and fault strings come from servers
the bot does not control, and the store keeps them as they came. Shown raw, a control
character acts on the terminal (ESC starts a sequence that retitles the window or clears
the screen, C1 CSI does the same in one byte), a bidi override or isolate reorders the
rest of the line, and a zero-width character, a soft hyphen or a BOM hides in a name that
then reads as another one (`req\\u200buests` as `requests`). `reveal` writes each such
character as a Python-style escape; the typosquat detector uses `is_hidden` to compare
names without them.
"""

from __future__ import annotations

import unicodedata

__all__ = ["is_hidden", "reveal"]

# Cc: C0 controls, DEL, C1 controls. Cf: format characters (bidi embeddings, overrides,
# isolates and marks, zero-width space/joiners, word joiner, BOM, soft hyphen, tags).
# Cs: lone surrogates (a decode with surrogateescape); printing one raises.
# Zl, Zp: line and paragraph separators, which break a line like a newline.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) outside the
# categories above: rendered as nothing, yet letters or marks by category (Hangul
# fillers, variation selectors, the combining grapheme joiner, Mongolian selectors...).
_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)


def is_hidden(char: str) -> bool:
    """Whether `char` (one character) does not show as itself: a control, a format or
    bidi character, a line separator, or another default-ignorable code point."""
    if unicodedata.category(char) in _HIDDEN_CATEGORIES:
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def reveal(text: str, *, newlines: bool = False) -> str:
    """`text` with every hidden character written as an escape (`\\x1b`, `\\u202e`), so
    it prints as one inert line; `newlines=True` keeps line breaks (a message of lines)."""
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to escape
    return "".join(
        _escape(char) if is_hidden(char) and not (newlines and char == "\n") else char
        for char in text
    )
