"""Name-shape techniques: separators, look-alikes, word order, affixes, versions, combos.

Each is one or a few dictionary lookups in the index, behind a cheap test on the
candidate (has a hyphen, ends in a digit, ends in a known word...) so that a name
resembling nothing costs next to nothing.
"""

from __future__ import annotations

from detectors.typosquat.affixes import (
    GENERIC_WORDS,
    PREFIXES,
    SQUAT_WORDS,
    SUFFIXES,
    strip_affixes,
    version_splits,
)
from detectors.typosquat.index import ProtectedIndex, ids
from detectors.typosquat.keyboard import MULTI_HOMOGLYPHS, SKELETON_TABLE
from detectors.typosquat.matches import Match, added, differing
from detectors.typosquat.techniques import Technique

T = Technique

_SQUAT = frozenset(SQUAT_WORDS)
_GENERIC = frozenset(GENERIC_WORDS)
_ALL_WORDS = (*SQUAT_WORDS, *GENERIC_WORDS)
_WORDS_BY_LAST: dict[str, tuple[str, ...]] = {}
for _word in _ALL_WORDS:
    _WORDS_BY_LAST[_word[-1]] = (*_WORDS_BY_LAST.get(_word[-1], ()), _word)
MIN_COMBO_BASE = 4  # a combosquat's protected part has at least this many characters
NAMESPACE_WIDE = 50  # `<name>-<generic word>` is ordinary plugin naming beyond this
_SMALL_DIGITS = frozenset({"2", "3"})
MAX_LOOK_ALIKE = 3  # longest run of look-alike characters replacing the original
_FLAT = str.maketrans("", "", "-")


def look_alikes(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """Same skeleton: only separators differ (`pythondateutil`), or look-alike
    characters (`rnatplotlib`, `reque5ts`), or both."""
    flat = c.translate(_FLAT)
    text = flat
    for seq, glyph in MULTI_HOMOGLYPHS:
        if seq in text:
            text = text.replace(seq, glyph)
    if flat != c:
        _split_repetition(index, c, flat, out)
    found = index.skeletons.get(text.translate(SKELETON_TABLE))
    if found is None:
        return
    for target in ids(found):
        name = index.entries[target].name
        if name == c:
            continue
        name_flat = name.translate(_FLAT)
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
    for i in range(1, len(c) - 1):
        if c[i] == "-" and c[i - 1] == c[i + 1]:
            target = index.exact.get(c[:i] + c[i + 2:])
            if target is not None:
                name = index.entries[target].name
                how = f"split into words at a repeated `{c[i + 1]}`"
                out.append(Match(target, (T.REPETITION, T.SEPARATOR), f"is `{name}` {how}"))


def reorder(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """The same words in another order: `dateutil-python` for `python-dateutil`."""
    if "-" not in c:
        return
    tokens = c.split("-")
    if len(tokens) > 8:
        return
    for target in ids(index.token_sets.get("-".join(sorted(tokens)))):
        name = index.entries[target].name
        if name != c:
            out.append(Match(target, (T.WORD_REORDER,), f"is `{name}` with its words reordered"))


def affixes(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """`python-`/`py`/`-py`/`-dev`/`s`... added to, swapped on or removed from a name."""
    exact, cores, entries = index.exact, index.cores, index.entries
    for target in ids(cores.get(c)):
        if index.top(target):  # `dateutil` for `python-dateutil`: only the very top
            name = entries[target].name
            out.append(Match(target, (T.AFFIX,), f"is `{name}` with {_changed(name, c, '', '')}"))
    if c.count("-") >= 2:
        for target in ids(index.tails.get(c)):  # `airflow-providers-x` for `apache-...`
            name = entries[target].name
            head = name[: len(name) - len(c)]
            if index.namespace(head.rstrip("-")):
                out.append(Match(target, (T.AFFIX,), f"is `{name}` without its prefix `{head}`"))
    if not c.startswith(PREFIXES) and not c.endswith(SUFFIXES):
        return  # the common case: nothing to strip
    for rest, head, tail in strip_affixes(c):
        plain = exact.get(rest)
        if plain is not None and not (tail in _SMALL_DIGITS and rest[-1].isdigit()):
            out.append(Match(plain, (T.AFFIX,), f"is `{rest}` with {added(head, tail)}"))
        for target in ids(cores.get(rest)):  # swapped: `python3-dateutil`
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
        target = index.exact.get(base)
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


def combos(index: ProtectedIndex, c: str, out: list[Match]) -> None:
    """A protected name with a squat word (`requests-lite`), a popular one with a
    generic word (`numpy-utils`), or two of the very top names joined
    (`matplotlib-requests`) where the first is not a plugin namespace (`django-...`):
    `<framework>-<library>` is how integrations are named."""
    exact = index.exact
    if "-" in c:
        tokens = c.split("-")
        for k in range(1, len(tokens)):
            left, right = "-".join(tokens[:k]), "-".join(tokens[k:])
            lt, rt = exact.get(left), exact.get(right)
            if lt is not None and rt is not None:
                if (min(len(left), len(right)) >= MIN_COMBO_BASE and index.top(lt)
                        and index.top(rt) and not index.namespace(tokens[0])):
                    phrase = f"joins the protected `{left}` and `{right}`"
                    out.append(Match(lt, (T.COMBOSQUAT,), phrase))
                    out.append(Match(rt, (T.COMBOSQUAT,), phrase))
            elif rt is not None and len(right) >= MIN_COMBO_BASE and all(
                t in _SQUAT or (t in _GENERIC and _worth(index, rt)) for t in tokens[:k]
            ):
                out.append(Match(rt, (T.COMBOSQUAT,), f"is `{right}` with `{left}` added"))
    if not c.endswith(_ALL_WORDS):
        return
    for base, words, generic in _word_tails(c):
        target = exact.get(base)
        if target is not None and (not generic or _worth(index, target)):
            phrase = f"is `{base}` with `{words.lstrip('-')}` added"
            out.append(Match(target, (T.COMBOSQUAT,), phrase))
