"""Affixes, version suffixes and the common words of combosquats.

`python-`, `py`, `-python`, `-py`, `-dev`, `-lib`, `-sdk`, `-api`, `2`, `3` and `s`
around a protected name are the classic prefix/suffix squats (`python-requests`,
`requests-py`, `colorama2`); a version-looking tail is a version-suffix squat
(`requests-v2`, `numpy-1-26`); a generic word joined to a protected name is a
combosquat (`requests-lite`, `pydantic-kit`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Longest first, so `python3-` is tried before `python-` and `py`.
# `python` glued with no separator (`pythonrequests`, `requestspython`) too.
PREFIXES: tuple[str, ...] = ("python3-", "python2-", "python-", "python", "py3-", "py")
SUFFIXES: tuple[str, ...] = (
    "-python3", "-python", "python", "-py", "-dev", "-lib", "-sdk", "-api", "s", "2", "3",
)
# Prefixes/suffixes with a separator: stripping them from a protected name gives its core
# (`python-dateutil` -> `dateutil`, `pyyaml` -> `yaml`), so `dateutil-python` and
# `python3-dateutil` meet `python-dateutil` at the same core.
_CORE_PREFIXES = ("python3-", "python2-", "python-", "py3-", "py-", "py")
_CORE_SUFFIXES = ("-python3", "-python", "-py3", "-py")
MIN_CORE = 3

# Words that turn a protected name into a plausible-looking "edition" of it, as seen in
# reported squats (`requests-lite`, `aiohttp-ssl`, `loguru-utf8`, `rich-util`). A real
# extension names what it integrates (`flask-sqlalchemy`); a squat names nothing.
# SQUAT_WORDS count with any protected name. GENERIC_WORDS are common in legitimate
# names too, so they count only with the most popular names, the ones worth
# impersonating. Words that legitimate projects use far more than squats do (`utils`,
# `tools`, `helpers`, `client`, `server`, `fixed`, `patched`...) are left out, and
# `-lib`, `-sdk`, `-api`, `-dev` are affixes already.
SQUAT_WORDS: tuple[str, ...] = (
    "new", "latest", "update", "updated", "secure", "faster", "ssl", "openssl", "os", "sl",
    "utf8", "official", "full", "darwin", "validation", "valid", "middleware", "cors",
    "beta",
)
GENERIC_WORDS: tuple[str, ...] = (
    "util", "lib", "libs", "data", "env", "kit", "kits", "module", "package", "pkg", "x",
    "lite", "light", "plus", "nightly", "fast", "linux", "windows", "win", "macos",
)
COMBO_WORDS: tuple[str, ...] = SQUAT_WORDS + GENERIC_WORDS

# Affixes tried together with one slip on the most popular names (`reqests-2`,
# `marshmellows`): precomputed in the index, so they cost nothing per candidate.
COMBINATION_AFFIXES: tuple[tuple[str, str], ...] = (
    ("python-", ""), ("py-", ""), ("py", ""), ("", "-python"), ("", "-py"),
    ("", "2"), ("", "3"), ("", "-2"), ("", "-3"), ("", "-dev"), ("", "-lib"), ("", "-sdk"),
    ("", "-api"), ("", "s"),
)

# A version tail has a separator or a `v`: `-2-0`, `v2`, `-1`; bare digits (`h5py`,
# `boto3`) are how many real names end, so only `2` and `3` count (as affixes).
_VERSION = re.compile(r"-v?\d+(?:-\d+)*|v\d+(?:-\d+)*|\d+(?:-\d+)+")


def core_of(canonical: str) -> str:
    """The name without one known prefix and one known suffix (itself if none)."""
    core = canonical
    for prefix in _CORE_PREFIXES:
        if core.startswith(prefix) and len(core) - len(prefix) >= MIN_CORE:
            core = core[len(prefix):]
            break
    for suffix in _CORE_SUFFIXES:
        if core.endswith(suffix) and len(core) - len(suffix) >= MIN_CORE:
            core = core[: -len(suffix)]
            break
    return core


def by_last_character(texts: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """`texts` grouped by their last character, in their order: a name is tried only
    against those it may end with."""
    table: dict[str, tuple[str, ...]] = {}
    for text in texts:
        table[text[-1]] = (*table.get(text[-1], ()), text)
    return table


SUFFIXES_BY_LAST = by_last_character(SUFFIXES)


def _common_start(texts: tuple[str, ...]) -> str:
    start = min(texts, key=len)
    while not all(text.startswith(start) for text in texts):
        start = start[:-1]
    return start


PREFIX_START = _common_start(PREFIXES)  # every prefix starts so (`py`)


def strip_affixes(canonical: str) -> Iterator[tuple[str, str, str]]:
    """(rest, head, tail) for each way to remove one known prefix and/or suffix, where
    `head + rest + tail == canonical` (separators next to an affix go with the affix)."""
    heads = [("", canonical)]
    if canonical.startswith(PREFIX_START):
        for prefix in PREFIXES:
            if canonical.startswith(prefix):
                k = len(prefix)
                while canonical[k : k + 1] == "-":
                    k += 1
                heads.append((canonical[:k], canonical[k:]))
    for head, rest in heads:
        if head and len(rest) >= MIN_CORE:
            yield rest, head, ""
        for suffix in SUFFIXES_BY_LAST.get(rest[-1:], ()):
            if rest.endswith(suffix):
                base = rest[: -len(suffix)]
                while base.endswith("-"):
                    base = base[:-1]
                if len(base) >= MIN_CORE:
                    yield base, head, rest[len(base):]


def version_splits(canonical: str) -> Iterator[tuple[str, str]]:
    """(base, suffix) for each version-looking tail: `requests-v2` -> (`requests`, `-v2`)."""
    if not canonical[-1:].isdigit():
        return
    i = len(canonical)
    while i > 0 and (canonical[i - 1].isdigit() or canonical[i - 1] in "-v"):
        i -= 1
    for start in range(i, len(canonical)):
        base = canonical[:start].rstrip("-")
        if len(base) >= MIN_CORE and _VERSION.fullmatch(canonical[start:]):
            yield base, canonical[len(base):]
