"""Where the protected names come from: ranked lists, names files, the configuration.

A protected list is a file of names one a line, or a TSV/CSV whose first column is the
name (a header line starting with `name` is skipped); order is rank. Files may be
gzip-compressed (by content, not extension) and `-` is standard input.
"""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.resources import as_file
from pathlib import Path
from typing import IO, BinaryIO

from detectors.bundled import TOP_PROJECTS
from detectors.typosquat.hosts import bundled_hosts, bundled_words
from detectors.typosquat.index import ProtectedIndex
from detectors.typosquat.names import InvalidName, parse_name
from detectors.typosquat.settings import TyposquatSection
from detectors.typosquat.verdict import Analyzer

_GZIP_MAGIC = b"\x1f\x8b"


class ProtectedListError(ValueError):
    """The protected list cannot be read; str(err) names the file and the reason."""


class NamesFile:
    """Lines of a names file (plain or gzip, or stdin for `-`), with read progress.

    `position` and `size` are in bytes of the underlying file (compressed bytes for a
    gzip file), for a progress bar; `size` is None for standard input.
    """

    def __init__(self, path: str | Path) -> None:
        self.label = "standard input" if str(path) == "-" else str(path)
        self._raw: BinaryIO
        if str(path) == "-":
            self._raw = sys.stdin.buffer
            self.size: int | None = None
        else:
            self._raw = Path(path).open("rb")  # noqa: SIM115 - closed by close()/__exit__
            self.size = Path(path).stat().st_size
        stream: IO[bytes] | gzip.GzipFile = self._raw
        peek = getattr(self._raw, "peek", None)
        head = peek(2)[:2] if peek is not None else b""
        if head == _GZIP_MAGIC:
            stream = gzip.GzipFile(fileobj=self._raw)
        self._text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)

    @property
    def position(self) -> int:
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def __iter__(self) -> Iterator[str]:
        for line in self._text:
            yield line.rstrip("\r\n")

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()

    def __enter__(self) -> NamesFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ProtectedList:
    """Canonical names with their rank (line order), and what could not be read."""

    names: list[tuple[str, int | None]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)


def first_field(line: str) -> str:
    return line.split("\t", 1)[0].split(",", 1)[0].strip()


def read_protected(path: str | Path, limit: int | None = None) -> ProtectedList:
    """The first `limit` names of a ranked list (all of them when None)."""
    result = ProtectedList()
    try:
        with NamesFile(path) as lines:
            for number, line in enumerate(lines, 1):
                text = first_field(line)
                header = number == 1 and text.lower().startswith("name")
                if not text or text.startswith("#") or header:
                    continue
                try:
                    name = parse_name(text)
                except InvalidName as exc:
                    result.skipped.append((number, str(exc)))
                    continue
                result.names.append((name.canonical, len(result.names) + 1))
                if limit is not None and len(result.names) >= limit:
                    break
    except (OSError, EOFError) as exc:  # missing, unreadable, truncated gzip
        raise ProtectedListError(f"{path}: cannot read the protected list ({exc})") from exc
    return result


def configured_protected(
    cfg: TyposquatSection, *, fallback_top_list: str | None = None,
    critical: Iterable[str] = (),
) -> list[tuple[str, int | None]]:
    """The configured protected set: top `protected_count` of the ranked list (the
    typosquat one, else the critical one, else the bundled snapshot), then the admins'
    critical projects and `extra_protected` (unranked)."""
    names: list[tuple[str, int | None]] = []
    if cfg.protected_count:
        with as_file(TOP_PROJECTS) as bundled:  # NamesFile wants a real file (its size)
            path = cfg.top_list or fallback_top_list or bundled
            names = read_protected(path, cfg.protected_count).names
    for extra in (*critical, *cfg.extra_protected):
        try:
            names.append((parse_name(extra).canonical, None))
        except InvalidName:
            continue  # a name that cannot exist on the index needs no protection
    return names


def build_analyzer(cfg: TyposquatSection, names: Iterable[tuple[str, int | None]]) -> Analyzer:
    index = ProtectedIndex.build(
        names, distance2_top=cfg.distance2_top, distance2_min_length=cfg.distance2_min_length,
        combination_top=cfg.combination_top, popular_top=cfg.popular_top,
    )
    index.hosts = bundled_hosts()
    analyzer = Analyzer.from_settings(cfg, index)
    analyzer.common_words = bundled_words()
    return analyzer
