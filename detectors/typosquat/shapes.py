"""Name-shape techniques: separators, look-alikes, word order, affixes, versions, combos.

Each is one or a few dictionary lookups in the index, behind a cheap test on the
candidate (has a hyphen, ends in a digit, ends in a known word...) so that a name
resembling nothing costs next to nothing.
"""

from __future__ import annotations

import re

from detectors.typosquat.affixes import (
    GENERIC_WORDS,
    PREFIX_START,
    PREFIXES,
    SQUAT_WORDS,
    SUFFIXES_BY_LAST,
    by_last_character,
    strip_affixes,
    version_splits,
)
from detectors.typosquat.index import ProtectedIndex, single_letters
from detectors.typosquat.keyboard import MULTI_HOMOGLYPHS, collapse
from detectors.typosquat.matches import Match, added, differing
from detectors.typosquat.techniques import Technique

T = Technique

_SQUAT = frozenset(SQUAT_WORDS)
_GENERIC = frozenset(GENERIC_WORDS)
_ALL_WORDS = (*SQUAT_WORDS, *GENERIC_WORDS)
_WORDS_BY_LAST = by_last_character(_ALL_WORDS)
# The suffixes `affixes` strips and the words `combo_words` looks for, by last character:
# a name ending in none of them needs neither (one test for both in `find`).
ENDINGS_BY_LAST: dict[str, tuple[str, ...]] = {
    last: (*SUFFIXES_BY_LAST.get(last, ()), *_WORDS_BY_LAST.get(last, ()))
    for last in {*SUFFIXES_BY_LAST, *_WORDS_BY_LAST}
}
MIN_COMBO_BASE = 4  # a combosquat's protected part has at least this many characters
NAMESPACE_WIDE = 50  # `<name>-<generic word>` is ordinary plugin naming beyond this
_SMALL_DIGITS = frozenset({"2", "3"})
MAX_LOOK_ALIKE = 3  # longest run of look-alike characters replacing the original
# A separator between two equal characters, matched at the separator (every one, so
# overlapping ones too): a pattern starting with a literal is searched for faster (0.42 us
# against 0.70 us for `(.)-(?=\1)` on a 38-character name, measured).
_SPLIT_AT_DOUBLE = re.compile(r"-(?<=(.)-)(?=\1)")


def look_alikes(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """Same skeleton: only separators differ (`pythondateutil`), or look-alike
    characters (`rnatplotlib`, `reque5ts`), or both."""
    flat = c.replace("-", "")
    text = flat
    for seq, glyph in MULTI_HOMOGLYPHS:
        if seq in text:
            text = text.replace(seq, glyph)
    if flat != c and _SPLIT_AT_DOUBLE.search(c):
        _split_repetition(index, c, flat, out)
    text = collapse(text)
    found = index.skeletons.get(text) if text in index.shaped else None
    if found is None:
        return
    for target in found:
        name = index.entries[target].name
        if name == c:
            continue
        name_flat = name.replace("-", "")
        if name_flat == flat:
            how = (
                "its separators removed" if "-" not in c
                else "separators added" if "-" not in name else "its separators moved"
            )
            out.append(Match(target, (T.SEPARATOR,), f"is `{name}` with {how}"))
            continue
        old, new = differing(name_flat, flat)
        if max(len(old), len(new)) > MAX_LOOK_ALIKE:
            continue  # `42di` for `az-cli`: everything changed, however alike the shapes
        techniques: tuple[Technique, ...] = (T.HOMOGLYPH,)
        if c.count("-") != name.count("-"):
            techniques = (T.HOMOGLYPH, T.SEPARATOR)
        out.append(Match(
            target, techniques, f"is `{name}` with `{old}` replaced by the look-alike `{new}`"
        ))


def _split_repetition(index: ProtectedIndex, c: str, flat: str, out: list[Match]) -> None:
    """A name split into words at a doubled letter: `log-guru` for `loguru`."""
    for found in _SPLIT_AT_DOUBLE.finditer(c):
        i = found.start()  # the separator
        target = index.exact.get(c[:i] + c[i + 2:])
        if target is not None:
            name = index.entries[target].name
            how = f"split into words at a repeated `{c[i + 1]}`"
            out.append(Match(target, (T.REPETITION, T.SEPARATOR), f"is `{name}` {how}"))


def reorder(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """The same words in another order: `dateutil-python` for `python-dateutil`.
    (Nothing for a name without separators; `find` calls it only for names ending in a
    word of some protected name, as the words of one reordered do.)"""
    if c[: c.find("-")] not in index.words:
        return  # nor does it start with one
    tokens = c.split("-")
    if len(tokens) > 8:
        return
    key = "-".join(sorted(tokens))
    found = index.token_sets.get(key) if key in index.shaped else None
    for target in found or ():
        name = index.entries[target].name
        if name != c:
            out.append(Match(target, (T.WORD_REORDER,), f"is `{name}` with its words reordered"))


def doubled(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """Two or more letters typed twice: `selleniumm`, `py-corddd` (`find` calls it for
    names with a doubled letter)."""
    single = single_letters(c)
    found = index.singles.get(single) if len(c) - len(single) >= 2 else None
    for target in found or ():
        name = index.entries[target].name
        if len(c) - len(name) >= 2 and single_letters(name) == single:
            out.append(Match(target, (T.REPETITION,), f"is `{name}` with letters repeated"))


def plurals(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """A plural `s` moved from one word to another: `request-toolbelts`."""
    found = index.plurals.get(c)
    for target in found or ():
        name = index.entries[target].name
        out.append(Match(target, (T.PLURAL,), f"is `{name}` with a plural `s` moved"))


def swapped_parts(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """Two word parts of a name without separators swapped: `soupbeautiful`. Both parts
    are words of protected names."""
    for target, cut in index.rotated.get(c, ()):
        first, second = c[:cut], c[cut:]
        if first in index.words and second in index.words and c not in index.exact:
            name = index.entries[target].name
            out.append(Match(target, (T.PARTS_SWAPPED,),
                             f"is `{name}` with `{second}` and `{first}` swapped"))


def affixes(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """`python-`/`py`/`-py`/`-dev`/`s`... added to, swapped on or removed from a name."""
    exact, cores, entries = index.exact, index.cores, index.entries
    if c in index.shaped:
        cored = cores.get(c)
        for target in cored or ():
            if index.top(target):  # `dateutil` for `python-dateutil`: only the very top
                name = entries[target].name
                how = _changed(name, c, "", "")
                out.append(Match(target, (T.AFFIX,), f"is `{name}` with {how}"))
        tailed = index.tails.get(c) if c.count("-") >= 2 else None
        for target in tailed or ():
            name = entries[target].name  # `airflow-providers-x` for `apache-airflow-...`
            head = name[: len(name) - len(c)]
            if index.namespace(head.rstrip("-")):
                out.append(Match(target, (T.AFFIX,), f"is `{name}` without its prefix `{head}`"))
    if not (c.startswith(PREFIX_START) and c.startswith(PREFIXES)) and not c.endswith(
        SUFFIXES_BY_LAST.get(c[-1:], ())
    ):
        return  # the common case: nothing to strip
    for rest, head, tail in strip_affixes(c):
        if rest not in index.shaped:
            continue
        plain = exact.get(rest)
        if plain is not None and (head, tail) == ("", "s"):
            # A plural of a name (`fernets`, `easydicts`): squatted whatever the rank.
            out.append(Match(plain, (T.PLURAL,), f"is `{rest}` with a plural `s` added"))
        elif plain is not None and not (tail in _SMALL_DIGITS and rest[-1].isdigit()):
            out.append(Match(plain, (T.AFFIX,), f"is `{rest}` with {added(head, tail)}"))
        cored = cores.get(rest)
        for target in cored or ():  # swapped: `python3-dateutil`
            name = entries[target].name
            if name != c and index.top(target):
                how = _changed(name, rest, head, tail)
                out.append(Match(target, (T.AFFIX,), f"is `{name}` with {how}"))


def _changed(name: str, core: str, head: str, tail: str) -> str:
    """How `name` (= its head + `core` + its tail) became `head + core + tail`."""
    start = name.find(core)
    parts = []
    for kind, old, new in (("prefix", name[:start], head),
                           ("suffix", name[start + len(core):], tail)):
        if old and new and old != new:
            parts.append(f"the {kind} `{old}` changed to `{new}`")
        elif old and not new:
            parts.append(f"the {kind} `{old}` removed")
        elif new and not old:
            parts.append(f"the {kind} `{new}` added")
    return " and ".join(parts) or "another affix"


def versions(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """A version-looking tail (`requests-v2`); a bare `2`/`3` is an affix (`colorama2`)."""
    if not c[-1:].isdigit():
        return
    for base, suffix in version_splits(c):
        target = index.exact.get(base) if base in index.shaped else None
        if target is None:
            continue
        if suffix.lstrip("-") not in _SMALL_DIGITS:
            phrase = f"is `{base}` with the version suffix `{suffix}`"
            out.append(Match(target, (T.VERSION_SUFFIX,), phrase))
        elif not base[-1].isdigit():  # `cu11` + `2` is another number, not an affix
            out.append(Match(target, (T.AFFIX,), f"is `{base}` with the suffix `{suffix}` added"))


def _word_tails(c: str) -> list[tuple[str, str, bool]]:
    """(base, words, generic) for `c` ending in one or two combo words, with or without
    separators; `generic` when a word is one legitimate names use too."""
    found: list[tuple[str, str, bool]] = []
    for word in _WORDS_BY_LAST.get(c[-1:], ()):
        if not c.endswith(word):
            continue
        base = c[: -len(word)].rstrip("-")
        if len(base) < MIN_COMBO_BASE:
            continue
        generic = word in _GENERIC
        found.append((base, c[len(base):], generic))
        for word2 in _WORDS_BY_LAST.get(base[-1:], ()):
            if base.endswith(word2) and len(base) - len(word2) >= MIN_COMBO_BASE:
                base2 = base[: -len(word2)].rstrip("-")
                found.append((base2, c[len(base2):], generic or word2 in _GENERIC))
    return found


def _worth(index: ProtectedIndex, target: int) -> bool:
    """Popular, and not a framework whose plugins are all `<name>-<word>`."""
    name = index.entries[target].name
    return index.popular(target) and index.first_tokens.get(name, 0) < NAMESPACE_WIDE


def joined(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """Combosquats with separators: a protected name after squat words
    (`secure-requests`), or after a generic word for a popular one, or two of the very
    top names joined (`matplotlib-requests`) where the first is not a plugin namespace
    (`django-...`): `<framework>-<library>` is how integrations are named. (All end in
    a protected name, so in a word of one: `find` calls it only for such names.)"""
    exact, shaped = index.exact, index.shaped
    cut = c.find("-")
    while cut >= 0:
        # Each way to split at a separator; both ways need the right part protected.
        left, right = c[:cut], c[cut + 1:]
        cut = c.find("-", cut + 1)
        rt = exact.get(right) if right in shaped else None
        if rt is None:
            continue
        lt = exact.get(left)
        if lt is not None and (min(len(left), len(right)) >= MIN_COMBO_BASE and index.pair(lt)
                               and index.pair(rt) and c.split("-", 1)[0] not in index.hosts):
            phrase = f"joins the protected `{left}` and `{right}`"
            out.append(Match(lt, (T.COMBOSQUAT,), phrase))
            out.append(Match(rt, (T.COMBOSQUAT,), phrase))
        # A squat word that is also some project's name (`update`, `secure`) is still one.
        elif len(right) >= MIN_COMBO_BASE and all(
            t in _SQUAT or (t in _GENERIC and _worth(index, rt)) for t in left.split("-")
        ):
            out.append(Match(rt, (T.COMBOSQUAT,), f"is `{right}` with `{left}` added"))


def combo_words(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """Combosquats ending in words: a protected name with a squat word
    (`requests-lite`, `requestslite`), or a popular one with a generic word
    (`numpy-utils`)."""
    if not c.endswith(_WORDS_BY_LAST.get(c[-1:], ())):
        return
    exact, shaped = index.exact, index.shaped
    for base, words, generic in _word_tails(c):
        target = exact.get(base) if base in shaped else None
        if target is not None and (not generic or _worth(index, target)):
            phrase = f"is `{base}` with `{words.lstrip('-')}` added"
            out.append(Match(target, (T.COMBOSQUAT,), phrase))
