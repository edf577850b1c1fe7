"""Project name normalization (PEP 503), in one place for the whole bot."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from packaging.utils import canonicalize_name


@lru_cache(maxsize=1 << 16)  # the feed asks about the same busy projects again and again
def canonicalize(name: str) -> str:
    """PEP 503 normalized form: runs of `-`, `_`, `.` become `-`, lower case."""
    return str(canonicalize_name(name))


# -- name likeness (shared by detectors that protect names; base layer, so each detector
# stays independent of the others) ------------------------------------------------------

# Words squatters put around a name: `python-acme`, `acme-py`, `acme-lib`.
AFFIXES = ("python", "py", "lib", "dev", "sdk", "client", "utils", "util", "api", "core",
           "tools", "cli", "official", "pkg", "package", "module")
# Characters that read alike in a project name (after PEP 503 lower-casing).
_LOOK_ALIKE = str.maketrans({"0": "o", "1": "l", "5": "s", "3": "e"})
MIN_EDIT_LENGTH = 5  # one edit away from a shorter name is too often just another name


def _skeleton(canonical: str) -> str:
    return canonical.replace("-", "").translate(_LOOK_ALIKE).replace("rn", "m").replace(
        "vv", "w")


def _one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance exactly 1 (insert, delete, substitute, swap)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y),
             len(short))
    return short[i:] == long[i + 1:]


def likeness(candidate: str, target: str) -> str | None:
    """How `candidate` imitates `target` (both any spelling), or None: `same-name`,
    `separator`, `homoglyph`, `affix` or `one-edit`."""
    c, t = canonicalize(candidate), canonicalize(target)
    if c == t:
        return "same-name"
    if c.replace("-", "") == t.replace("-", ""):
        return "separator"
    if _skeleton(c) == _skeleton(t):
        return "homoglyph"
    if len(t) >= 4:
        for affix in AFFIXES:
            if c in (f"{affix}-{t}", f"{t}-{affix}", f"{affix}{t}", f"{t}{affix}"):
                return "affix"
    if min(len(c), len(t)) >= MIN_EDIT_LENGTH and _one_edit(c, t):
        return "one-edit"
    return None


def _deletions(text: str) -> set[str]:
    return {text[:i] + text[i + 1:] for i in range(len(text))}


class LikenessIndex:
    """Protected names looked up by what `likeness` compares, so checking one candidate
    costs a few dictionary lookups, not one comparison per protected name."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._keys: dict[str, set[str]] = {}
        for name in names:
            self.add(name)

    def _put(self, key: str, canonical: str) -> None:
        self._keys.setdefault(key, set()).add(canonical)

    def add(self, name: str) -> None:
        c = canonicalize(name)
        self._put(c.replace("-", ""), c)
        self._put("~" + _skeleton(c), c)
        if len(c) >= MIN_EDIT_LENGTH:
            for variant in _deletions(c):  # symmetric deletion: one edit either way
                self._put("-" + variant, c)
            self._put("-" + c, c)

    @staticmethod
    def _cores(c: str) -> set[str]:
        """What `c` would be without an affix (`python-acme`, `acmelib` -> `acme`)."""
        cores = set()
        # One C-level test rejects most names before any loop (a scan checks ~900,000).
        if c.startswith(AFFIXES):
            for affix in AFFIXES:
                if c.startswith(affix) and len(c) > len(affix) + 1:
                    cores.add(c[len(affix):].removeprefix("-"))
        if c.endswith(AFFIXES):
            for affix in AFFIXES:
                if c.endswith(affix) and len(c) > len(affix) + 1:
                    cores.add(c[: -len(affix)].removesuffix("-"))
        return cores

    def matches(self, candidate: str) -> list[tuple[str, str]]:
        """[(protected canonical name, technique)] that `candidate` is or imitates."""
        c = canonicalize(candidate)
        keys = {c.replace("-", ""), "~" + _skeleton(c)}
        keys |= {core.replace("-", "") for core in self._cores(c)}
        if len(c) >= MIN_EDIT_LENGTH - 1:
            keys |= {"-" + c} | {"-" + v for v in _deletions(c)}
        found: dict[str, str] = {}
        for key in keys:
            for target in self._keys.get(key, ()):
                if target not in found:
                    technique = likeness(c, target)
                    if technique is not None:
                        found[target] = technique
        order = ("same-name", "separator", "homoglyph", "affix", "one-edit")
        return sorted(found.items(), key=lambda item: (order.index(item[1]), item[0]))
