"""Project name normalization (PEP 503)."""

from __future__ import annotations

import re
from functools import lru_cache

_SEPARATORS = re.compile(r"[-_.]+")


@lru_cache(maxsize=1 << 16)  # the feed asks about the same busy projects again and again
def canonicalize(name: str) -> str:
    """PEP 503 normalized form: runs of `-`, `_`, `.` become `-`, lower case."""
    return _SEPARATORS.sub("-", name).lower()
