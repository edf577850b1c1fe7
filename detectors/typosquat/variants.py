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
from detectors.typosquat.policy import (
    BIT_FLIP_TOP,
    FIRST_LETTER_TOP,
    GENERIC_LONG,
    GENERIC_MIN_LENGTH,
    REORDER_TOP,
    SHORT_NAME,
    top,
)
from detectors.typosquat.techniques import Technique
from detectors.typosquat.verdict import Analyzer

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


def extra_letter(name: str, rng: random.Random) -> str | None:
    """Any letter inserted inside a word (not at its ends): `reqguests`."""
    i = _positions(name, rng, lambda i: i > 0 and name[i - 1] != "-" and name[i] != "-")
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return None if i is None else _valid(name[:i] + letter + name[i:])


def vowel_replaced(name: str, rng: random.Random) -> str | None:
    """One vowel (not the first letter) replaced by another: `requists`."""
    i = _positions(name, rng, lambda i: i > 0 and name[i] in VOWELS)
    if i is None:
        return None
    return _valid(name[:i] + rng.choice(sorted(VOWELS - {name[i]})) + name[i + 1:])


def first_doubled(name: str, rng: random.Random) -> str | None:
    """The first letter typed twice: `rrequests`."""
    return _valid(name[0] + name) if name[0].isalpha() else None


def moved_two(name: str, rng: random.Random) -> str | None:
    """A character moved two places within a word: `reuqests` -> `ruqeests`."""
    i = _positions(name[:-2], rng, lambda i: "-" not in name[i : i + 3]
                   and name[i] not in name[i + 1 : i + 3])
    if i is None:
        return None
    if rng.random() < 0.5:  # forward: abc -> bca
        return _valid(name[:i] + name[i + 1 : i + 3] + name[i] + name[i + 3:])
    return _valid(name[:i] + name[i + 2] + name[i : i + 2] + name[i + 3:])  # abc -> cab


def plural_moved(name: str, rng: random.Random) -> str | None:
    """An `s` dropped from one word and added to another: `request-toolbelts`."""
    tokens = name.split("-")
    plural = [i for i, t in enumerate(tokens) if len(t) > 3 and t.endswith("s")
              and not t.endswith("ss")]
    single = [i for i, t in enumerate(tokens) if t[-1:].isalpha() and not t.endswith("s")]
    if not plural or not single:
        return None
    p, q = rng.choice(plural), rng.choice(single)
    tokens[p], tokens[q] = tokens[p][:-1], tokens[q] + "s"
    return _valid("-".join(tokens))


def python_glued(name: str, rng: random.Random) -> str | None:
    """`python` glued to the name, no separator: `pythonrequests`, `requestspython`."""
    if name.startswith("python") or name.endswith("python"):
        return None
    return _valid(rng.choice((f"python{name}", f"{name}python")))


def parts_swapper(words: frozenset[str]) -> Generator:
    """Two word parts of a name written without separators swapped (`soupbeautiful`
    for `beautifulsoup`): the parts are words of protected names, at least 3 letters."""

    def swapped(name: str, rng: random.Random) -> str | None:
        if "-" in name:
            return None
        splits = [i for i in range(3, len(name) - 2) if name[:i] in words and name[i:] in words]
        if not splits:
            return None
        i = rng.choice(splits)
        return _valid(name[i:] + name[:i])

    return swapped


# The families of issue 19, by the name the evaluation prints (the pair of popular names
# joined and the word-part swap need the index, so bench/typosquat_eval.py makes those).
FAMILIES: dict[str, Generator] = {
    "extra letter inside a word": extra_letter,
    "vowel replaced": vowel_replaced,
    "first letter doubled": first_doubled,
    "character moved two places": moved_two,
    "plural s moved": plural_moved,
    "python glued": python_glued,
}

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


def scopes(analyzer: Analyzer) -> dict[str, list[str]]:
    """The protected names each technique is defined for, by the analyzer's policy."""
    entries = [e for e in analyzer.index.entries if len(e.name) >= 5]
    policy = analyzer.policy
    shaped = [e.name for e in entries if policy.shape_counts(e.name, e.rank)]
    weak = [e.name for e in entries
            if len(e.name) >= SHORT_NAME or top(e.rank, policy.short_name_top)]
    generic = [e.name for e in entries if len(e.name) >= GENERIC_LONG or (
        len(e.name) >= GENERIC_MIN_LENGTH and top(e.rank, policy.any_slip_top))]
    scope = {label: shaped for label in ("affix", "version-suffix", "combosquat",
                                         "python glued")}
    scope.update({label: weak for label in (
        "omission", "adjacent-key", "neighbour-insertion", "vowel replaced", "transposition",
        "homoglyph", "character moved two places")})
    scope["bit-flip"] = [e.name for e in entries if top(e.rank, BIT_FLIP_TOP)]
    scope["extra letter inside a word"] = generic
    scope["vowel-change"] = [e.name for e in entries if len(e.name) >= 7]
    scope["two-typos"] = [e.name for e in analyzer.index.entries if e.two_typos]
    scope["word-reorder"] = [e.name for e in entries if "-" in e.name and top(e.rank, REORDER_TOP)]
    return scope


# The slips whose variants of a name beyond the top FIRST_LETTER_TOP keep its first letter
# (the detector's rule: squats keep it); doubling it or drawing it alike is a slip of its own.
FIRST_LETTER_KEPT = frozenset({
    "omission", "transposition", "adjacent-key", "neighbour-insertion", "bit-flip",
    "vowel-change", "two-typos", "character moved two places",
})


def keeping_first_letter(make: Generator, popular: frozenset[str]) -> Generator:
    """`make`, its variants of a name beyond the top FIRST_LETTER_TOP (not in `popular`)
    keeping the name's first letter: a few tries, then none (out of scope)."""

    def kept(name: str, rng: random.Random) -> str | None:
        for _ in range(10):
            variant = make(name, rng)
            if variant is None or name in popular or variant[0] == name[0]:
                return variant
        return None

    return kept


def first_letter_popular(analyzer: Analyzer) -> frozenset[str]:
    return frozenset(e.name for e in analyzer.index.entries
                     if e.rank is not None and e.rank <= FIRST_LETTER_TOP)
