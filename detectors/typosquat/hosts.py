"""What the detector learns from all of PyPI's names: plugin hosts and common words.

Plugin hosts are first words that thousands of existing projects start with.

`pytest-django`, `flask-sqlalchemy` and `django-redis` join two popular names, yet they
are how plugins are named: `<host>-<library>`. Which first words are hosts is learned
from all of PyPI's names rather than kept by hand: a word that at least `HOST_MIN`
projects start with (`django-`, `flask-`, `pytest-`, `odoo14-`...). The bundled
detectors/data/plugin-hosts.tsv is that count over the ~886k names; regenerate it with

    python -m detectors.typosquat.hosts ../shared/data/pypi-project-names.txt.gz

Common words: `asteroid` is one edit from `astroid`, `reader` from `readers`, yet many
projects use them as words of their names: a word that at least `WORD_MIN` projects
use is a word of its own, not a slip. detectors/data/common-words.tsv lists those
words that a protected name's slip would otherwise reach (the same command writes it).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

from bot.names import canonicalize

HOST_MIN = 300  # projects starting with `<word>-` (`sphinx-`: 779, `flake8-`: 489)
LISTED_MIN = 100  # the bundled file lists words down to this count, to tune HOST_MIN
WORD_MIN = 5  # projects using a word (`-asteroid-`) for it to be a word of its own
PLUGIN_HOSTS = files("detectors") / "data" / "plugin-hosts.tsv"
COMMON_WORDS = files("detectors") / "data" / "common-words.tsv"


def count_first_words(names: Iterable[str]) -> Counter[str]:
    """How many names start with each `<word>-` (canonical names, one per project)."""
    counts: Counter[str] = Counter()
    for name in {canonicalize(raw.strip()) for raw in names if raw.strip()}:
        word, sep, _ = name.partition("-")
        if sep and word:
            counts[word] += 1
    return counts


def count_words(names: Iterable[str]) -> Counter[str]:
    """How many names use each word (split at separators, one count per name)."""
    counts: Counter[str] = Counter()
    for name in {canonicalize(raw.strip()) for raw in names if raw.strip()}:
        counts.update(set(name.split("-")))
    return counts


def bundled_words() -> frozenset[str]:
    """The common words of the bundled list."""
    return frozenset(
        line.split("\t")[0]
        for line in COMMON_WORDS.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith(("#", "word\t"))
    )


def bundled_hosts() -> frozenset[str]:
    """The hosts of the bundled count."""
    hosts = set()
    for line in PLUGIN_HOSTS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", "word\t")):
            word, count = line.split("\t")
            if int(count) >= HOST_MIN:
                hosts.add(word)
    return frozenset(hosts)


def main(argv: list[str]) -> int:
    from detectors.typosquat.protected import NamesFile  # only for the regeneration

    with NamesFile(argv[0]) as lines:
        names = list(lines)
    counts = count_first_words(names)
    target = Path(str(PLUGIN_HOSTS))
    rows = [f"{word}\t{n}" for word, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if n >= LISTED_MIN]
    target.write_text(
        f"# First words that at least {LISTED_MIN} PyPI projects start with (`<word>-...`), counted\n"
        f"# over {argv[0].rsplit('/', 1)[-1]} by `python -m detectors.typosquat.hosts`.\n"
        "word\tprojects\n" + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} first words written to {target}")
    _write_words(argv[0], count_words(names))
    return 0


def _write_words(source: str, counts: Counter[str]) -> None:
    """The common words that one of the detector's slips reaches from a protected name."""
    from detectors.typosquat.protected import build_analyzer, configured_protected
    from detectors.typosquat.settings import TyposquatSection

    cfg = TyposquatSection()
    analyzer = build_analyzer(cfg, configured_protected(cfg))
    analyzer.common_words = frozenset()  # judged without the rule being learned
    rows = [f"{word}\t{n}" for word, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if n >= WORD_MIN and word not in analyzer.index and analyzer.check(word).flagged]
    target = Path(str(COMMON_WORDS))
    target.write_text(
        f"# Words that at least {WORD_MIN} PyPI projects use in their names and that a slip of\n"
        f"# a protected name reaches, counted over {source.rsplit('/', 1)[-1]} by\n"
        "# `python -m detectors.typosquat.hosts`: words of their own, not typos.\n"
        "word\tprojects\n" + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} common words written to {target}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
