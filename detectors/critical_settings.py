"""`[critical]`: how the critical set is computed and how its detector grades changes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from bot.sections import Section, name_list

__all__ = ["CriticalSection"]


class CriticalSection(Section):
    downloads: str | None = None
    top: str = Field(default="1%", pattern=r"^\s*(\d+|\d+(\.\d+)?\s*%)\s*$")
    total_projects: int = Field(default=600_000, gt=0)
    stack: Annotated[list[str], NoDecode] = Field(default_factory=list)
    projects: Annotated[list[str], NoDecode] = Field(default_factory=list)
    dependency_limit: int = Field(default=5000, gt=0)
    new_maintainer_hours: float = Field(default=72.0, gt=0)
    severity: dict[str, Literal["info", "warning", "high", "critical"]] = Field(
        default_factory=dict
    )

    _lists_from_env = field_validator("stack", "projects", mode="before")(
        lambda cls, value: name_list(value)
    )
