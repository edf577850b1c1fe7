"""Generators of single-technique variants of a protected name, for the evaluation.

Each generator makes one look-alike with one technique at a random place, or returns
None when the name offers no place for it (no separator to remove, no vowel...). They
share the detector's tables (keyboard, look-alikes, affixes, words) so "adjacent key"
means the same thing on both sides; they do not share its code paths.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bot.names import canonicalize
from detectors.typosquat.affixes import SQUAT_WORDS
from detectors.typosquat.keyboard import HOMOGLYPHS, MULTI_HOMOGLYPHS, NEIGHBOURS, VOWELS
from detectors.typosquat.techniques import Technique

Generator = Callable[[str, random.Random], str | None]
_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
# The prefixes and suffixes of the issue: python-, py, -python, -py, 2, 3, -dev, -lib,
# -sdk, -api, s.
ISSUE_AFFIXES: tuple[tuple[str, str], ...] = (
    ("python-", ""), ("py", ""), ("", "-python"), ("", "-py"), ("", "2"), ("", "3"),
    ("", "-dev"), ("", "-lib"), ("", "-sdk"), ("", "-api"), ("", "s"),
)


def _valid(text: str) -> str | None:
    text = canonicalize(text)
    if not text or text[0] == "-" or text[-1] == "-" or "--" in text:
        return None
    return text


def _positions(name: str, rng: random.Random, ok: Callable[[int], bool]) -> int | None:
    places = [i for i in range(len(name)) if ok(i)]
    return rng.choice(places) if places else None


def omission(name: str, rng: random.Random) -> str | None:
    i = _positions(name, rng, lambda i: name[i] != "-")
    return None if i is None else _valid(name[:i] + name[i + 1:])


def repetition(name: str, rng: random.Random) -> str | None:
    i = _positions(name, rng, lambda i: name[i].isalpha())
    return None if i is None else _valid(name[: i + 1] + name[i:])


def transposition(name: str, rng: random.Random) -> str | None:
    i = _positions(
        name[:-1], rng, lambda i: "-" not in name[i : i + 2] and name[i] != name[i + 1]
    )
    return None if i is None else _valid(name[:i] + name[i + 1] + name[i] + name[i + 2:])


def adjacent_key(name: str, rng: random.Random) -> str | None:
    i = _positions(name, rng, lambda i: name[i] != "-")
    if i is None:
        return None
    keys = sorted(k for k in NEIGHBOURS[name[i]] if k != "-")
    return _valid(name[:i] + rng.choice(keys) + name[i + 1:])


def neighbour_insertion(name: str, rng: random.Random) -> str | None:
    i = _positions(name, rng, lambda i: name[i] != "-")
    if i is None:
        return None
    key = rng.choice(sorted(k for k in NEIGHBOURS[name[i]] if k != "-"))
    at = i + rng.choice((0, 1))
    return _valid(name[:at] + key + name[at:])


def homoglyph(name: str, rng: random.Random) -> str | None:
    options: list[str] = []
    for i, char in enumerate(name):
        options += [name[:i] + other + name[i + 1:]
                    for pair in HOMOGLYPHS if char in pair for other in pair if other != char]
    for seq, glyph in MULTI_HOMOGLYPHS:
        if glyph in name:
            options.append(name.replace(glyph, seq, 1))
    return _valid(rng.choice(sorted(set(options)))) if options else None


def bit_flip(name: str, rng: random.Random) -> str | None:
    options = [
        name[:i] + flipped + name[i + 1:]
        for i, char in enumerate(name) if char != "-"
        for bit in range(7)
        if (flipped := chr(ord(char) ^ (1 << bit))) in _LETTERS
    ]
    return _valid(rng.choice(options)) if options else None


def separator(name: str, rng: random.Random) -> str | None:
    if "-" in name and rng.random() < 0.5:
        return _valid(name.replace("-", ""))
    i = _positions(name, rng, lambda i: i > 0 and name[i - 1] != "-" and name[i] != "-")
    return None if i is None else _valid(name[:i] + "-" + name[i:])


def word_reorder(name: str, rng: random.Random) -> str | None:
    tokens = name.split("-")
    if len(tokens) < 2 or len(set(tokens)) < 2:
        return None
    shuffled = tokens[:]
    while shuffled == tokens:
        rng.shuffle(shuffled)
    return _valid("-".join(shuffled))


def affix(name: str, rng: random.Random) -> str | None:
    head, tail = rng.choice(ISSUE_AFFIXES)
    return _valid(head + name + tail)


def version_suffix(name: str, rng: random.Random) -> str | None:
    a, b, c = rng.randint(0, 12), rng.randint(0, 30), rng.randint(0, 9)
    return _valid(name + rng.choice((f"-v{a + 1}", f"v{a + 1}", f"-{a}-{b}", f"-{a}-{b}-{c}")))


def combosquat(name: str, rng: random.Random) -> str | None:
    word = rng.choice(SQUAT_WORDS)
    return _valid(rng.choice((f"{name}-{word}", f"{name}{word}", f"{word}-{name}")))


def vowel_change(name: str, rng: random.Random) -> str | None:
    i = _positions(name, rng, lambda i: name[i] in VOWELS)
    if i is None:
        return None
    if rng.random() < 0.5:
        return _valid(name[:i] + rng.choice(sorted(VOWELS - {name[i]})) + name[i + 1:])
    at = i + rng.choice((0, 1))
    return _valid(name[:at] + rng.choice(sorted(VOWELS)) + name[at:])


def two_typos(name: str, rng: random.Random) -> str | None:
    first = rng.choice((omission, transposition, adjacent_key, repetition))
    second = rng.choice((omission, transposition, adjacent_key, repetition))
    once = first(name, rng)
    return None if once is None else second(once, rng)


GENERATORS: dict[Technique, Generator] = {
    Technique.OMISSION: omission,
    Technique.REPETITION: repetition,
    Technique.TRANSPOSITION: transposition,
    Technique.ADJACENT_KEY: adjacent_key,
    Technique.NEIGHBOUR_INSERTION: neighbour_insertion,
    Technique.HOMOGLYPH: homoglyph,
    Technique.BIT_FLIP: bit_flip,
    Technique.SEPARATOR: separator,
    Technique.WORD_REORDER: word_reorder,
    Technique.AFFIX: affix,
    Technique.VERSION_SUFFIX: version_suffix,
    Technique.COMBOSQUAT: combosquat,
    Technique.VOWEL: vowel_change,
    Technique.TWO_TYPOS: two_typos,
}
