"""Project name normalization (PEP 503)."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[-_.]+")


def canonicalize(name: str) -> str:
    """PEP 503 normalized form: runs of `-`, `_`, `.` become `-`, lower case."""
    return _SEPARATORS.sub("-", name).lower()
