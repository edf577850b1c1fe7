"""`[typosquat]` configuration section (added to bot.config.Settings as `typosquat`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import NoDecode

from detectors.typosquat.names import parse_name

# Pairs that look like squats and are not: "candidate:target" (PEP 503 names), or
# "candidate:*" for a name that may resemble anything. These are established projects of
# the top list that the rules would otherwise report against a more popular name. Admins
# add more at run time with `warden typosquat allow` (stored in the database, audited).
DEFAULT_ALLOWLIST: tuple[str, ...] = (
    "boto:boto3",  # the original AWS SDK
    "pyaml:pyyaml",  # a separate YAML pretty-printer
    "attr:attrs",
    "python-jwt:pyjwt",  # a separate JWT library
    "vyper:typer",  # the Ethereum contract language
    "pymantic:pydantic",  # an RDF library
    "idna-ssl:idna",  # aio-libs helper
    "dateutils:python-dateutil",
    "pyasn:pyasn1",  # IP address to AS number lookups
    "tensorflow-gpu:tensorflow-cpu",
)


def _list(value: Any) -> Any:
    # From the environment: a JSON list, or items separated by commas.
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class TyposquatSection(BaseModel):
    """Typosquat detector options; config/warden.toml explains each one."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    top_list: str | None = None
    protected_count: int = Field(default=15000, ge=0)
    protect_critical: bool = True
    extra_protected: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWLIST)
    )
    threshold: float = Field(default=0.6, ge=0, le=1)
    high_threshold: float = Field(default=0.85, ge=0, le=1)
    min_target_length: int = Field(default=5, ge=1)
    popular_top: int = Field(default=1500, ge=0)
    distance2_top: int = Field(default=1000, ge=0)
    distance2_min_length: int = Field(default=8, ge=3)
    combination_top: int = Field(default=300, ge=0)
    short_name_top: int = Field(default=1000, ge=0)
    shape_top: int = Field(default=1000, ge=0)
    any_slip_top: int = Field(default=1000, ge=0)
    established_rank_ratio: float = Field(default=100.0, ge=1)
    first_release: bool = True

    _lists_from_env = field_validator("extra_protected", "allowlist", mode="before")(
        lambda cls, value: _list(value)
    )

    @field_validator("extra_protected")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_name(item)  # InvalidName is a ValueError: reported as a config error
        return value

    @field_validator("allowlist")
    @classmethod
    def _pairs(cls, value: list[str]) -> list[str]:
        for item in value:
            candidate, sep, target = item.partition(":")
            if not sep or not candidate.strip() or not target.strip():
                raise ValueError(f"{item!r} is not 'candidate:target' (or 'candidate:*')")
        return value
