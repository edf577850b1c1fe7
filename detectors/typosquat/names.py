"""Project-name parsing for the typosquat detector: validation, PEP 503, confusable skeleton.

A name is checked exactly once, at the edge (CLI argument, names file, changelog event);
everything after works on the canonical form. Unicode look-alikes (Cyrillic `а`, Greek
`ο`, fullwidth letters...) are folded to ASCII first, so `reqυests` can be reported as a
homoglyph of `requests` instead of being rejected. Invisible characters (zero-width
spaces and joiners, bidi controls, BOM, soft hyphen: bot.plaintext.is_hidden) are left
out of the compared form, so `req\u200buests` is compared as `requests`, and recorded so
the name is flagged (PEP 503 names cannot hold them). Other characters with no ASCII
look-alike make the name invalid, as they would on PyPI.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.events import MAX_NAME_LENGTH
from bot.names import canonicalize
from bot.plaintext import is_hidden
from detectors.typosquat.keyboard import (
    MULTI_HOMOGLYPHS,
    UNICODE_CONFUSABLES,
    collapse,
)

# PyPI's rule (warehouse forklift, packaging.utils): ASCII letters, digits, `.`, `_`, `-`;
# starts and ends with a letter or digit.
_VALID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


class InvalidName(ValueError):
    """A string that cannot be a project name; str(err) says why, in one line."""


# (original character, ASCII look-alike) pairs; the look-alike of an invisible one is "".
Folded = tuple[tuple[str, str], ...]
Parts = tuple[str, str, str, Folded]  # a Name's fields: raw, ascii, canonical, folded


@dataclass(frozen=True, slots=True)
class Name:
    """A validated project name."""

    raw: str  # as given, surrounding whitespace removed
    ascii: str  # raw with Unicode look-alikes folded to ASCII, invisible characters left
    # out (== raw for ASCII input)
    canonical: str  # PEP 503 form of `ascii`
    folded: Folded = ()




def _describe(char: str) -> str:
    return f"{char!r} (U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')})"


def hidden_in(folded: Folded) -> tuple[str, ...]:
    """The invisible characters a name held, in order."""
    return tuple(char for char, ascii_char in folded if not ascii_char)


def describe_hidden(chars: tuple[str, ...]) -> str:
    """`U+200B ZERO WIDTH SPACE, U+202E RIGHT-TO-LEFT OVERRIDE`: each kind once."""
    return ", ".join(f"U+{ord(char):04X} {_name_of(char)}" for char in dict.fromkeys(chars))


def _name_of(char: str) -> str:
    if unicodedata.category(char) == "Cc":
        return "control character"  # controls have no name in the Unicode database
    return unicodedata.name(char, "unnamed character")


def _fold(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Map every non-ASCII character to an ASCII look-alike or, if invisible, to nothing;
    raise InvalidName for any other."""
    out: list[str] = []
    folded: list[tuple[str, str]] = []
    for char in text:
        if char.isascii():
            out.append(char)
            continue
        ascii_char = UNICODE_CONFUSABLES.get(char)
        if ascii_char is None and is_hidden(char):
            folded.append((char, ""))
            continue
        if ascii_char is None:
            # NFKD splits compatibility forms (fullwidth `ｒ`, ligatures) and accents
            # (`é` = `e` + combining mark); only the ASCII remainder is kept.
            decomposed = unicodedata.normalize("NFKD", char)
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            if base and base.isascii() and base.isprintable():
                ascii_char = base
        if ascii_char is None:
            raise InvalidName(
                f"not a valid project name: {_describe(char)} has no ASCII look-alike"
            )
        out.append(ascii_char)
        folded.append((char, ascii_char))
    return "".join(out), tuple(folded)


def parse_name(raw: str) -> Name:
    """Validate `raw` as a project name and compute its forms; raises InvalidName."""
    return Name(*name_parts(raw))


def name_parts(raw: str) -> Parts:
    """`parse_name` as a plain tuple (raw, ascii, canonical, folded), for callers that
    check millions of names and need no Name object."""
    text = raw.strip()
    if not text:
        raise InvalidName("empty project name")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"project name too long: {len(text)} characters (at most {MAX_NAME_LENGTH})"
        )
    folded: tuple[tuple[str, str], ...] = ()
    ascii_text = text
    if not text.isascii():
        ascii_text, folded = _fold(text)
    if ascii_text.isalnum():  # most names: ASCII letters and digits only, so valid
        return text, ascii_text, ascii_text.lower(), folded
    if (ascii_text.replace("-", "").isalnum() and ascii_text[0] != "-" and ascii_text[-1] != "-"
            and "--" not in ascii_text):
        # Most of the others: words joined by single hyphens, valid and canonical but
        # for the case, without the regular expressions.
        return text, ascii_text, ascii_text.lower(), folded
    if not _VALID.fullmatch(ascii_text):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise InvalidName(
            f"not a valid project name: {shown!r} (use ASCII letters, digits, '.', '_' and "
            "'-', starting and ending with a letter or digit)"
        )
    return text, ascii_text, canonicalize(ascii_text), folded


def squash(canonical: str) -> str:
    """The canonical name without separators: `python-dateutil` -> `pythondateutil`."""
    return canonical.replace("-", "")


def skeleton(canonical: str) -> str:
    """What the name looks like: look-alikes collapsed (`rn`->`m`, `0`->`o`, `1`/`i`->`l`),
    separators removed. Two names with one skeleton are hard to tell apart on screen."""
    text = canonical.replace("-", "")
    for seq, glyph in MULTI_HOMOGLYPHS:
        if seq in text:
            text = text.replace(seq, glyph)
    return collapse(text)
