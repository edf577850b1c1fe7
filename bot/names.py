"""Project name normalization (PEP 503), in one place for the whole bot."""

from __future__ import annotations

from functools import lru_cache

from packaging.utils import canonicalize_name


@lru_cache(maxsize=1 << 16)  # the feed asks about the same busy projects again and again
def canonicalize(name: str) -> str:
    """PEP 503 normalized form: runs of `-`, `_`, `.` become `-`, lower case."""
    return str(canonicalize_name(name))
