"""What a technique finds: a protected name imitated, how, and the phrase saying so."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.typosquat.techniques import Edit, Technique


@dataclass(frozen=True, slots=True)
class Match:
    """The candidate imitates protected name `target` (an index id) with `techniques`."""

    target: int
    techniques: tuple[Technique, ...]
    phrase: str  # completes "`candidate` ...": "is `requests` with `ue` transposed"
    edits: tuple[Edit, ...] = ()  # the slips, for the techniques made of edits

    @property
    def technique(self) -> str:
        return "+".join(self.techniques)


def differing(a: str, b: str) -> tuple[str, str]:
    """The middle parts of `a` and `b` left after removing their common prefix and suffix."""
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    j = 0
    while j < min(len(a), len(b)) - i and a[-1 - j] == b[-1 - j]:
        j += 1
    return a[i : len(a) - j], b[i : len(b) - j]


def added(head: str, tail: str) -> str:
    if head and tail:
        return f"`{head}` and `{tail}` added"
    return f"the prefix `{head}` added" if head else f"the suffix `{tail}` added"
