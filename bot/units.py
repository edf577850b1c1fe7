"""Sizes as people read them: decimal units, as PyPI shows them (12.3 kB, 4.5 MB)."""

from __future__ import annotations

__all__ = ["human_size"]

_UNITS = ("kB", "MB", "GB", "TB", "PB")


def human_size(size: int) -> str:
    """``580`` -> ``580 B``, ``12_345`` -> ``12.3 kB``, ``1_354_000`` -> ``1.4 MB``."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in _UNITS:
        value /= 1000
        # 999.96 kB would print as "1000.0 kB": it is 1.0 MB.
        if round(value, 1) < 1000 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
