"""`[devpi]`: the devpi server index-warden follows, and which of its indexes are private.

The replica key (devpi's key derived for replication, as hex) comes only from the
environment, ``WARDEN_DEVPI_REPLICA_KEY``; see README "Private indexes (devpi)".
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from bot.sections import Section, name_list

__all__ = ["DevpiSection"]


class DevpiSection(Section):
    url: str | None = None  # the devpi primary, e.g. https://devpi.corp.example
    # The private indexes ("user/index") whose projects are protected names; empty: every
    # stage index on the server.
    indexes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    replica_key: SecretStr | None = None  # only from WARDEN_DEVPI_REPLICA_KEY
    # A stable identity for the feed as a replica (32 hex digits), shown in devpi's status.
    replica_uuid: str = Field(default="1d3e8a2f00000000000000000000beef",
                              pattern=r"^[0-9a-f]{32}$")
    max_file_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    poll_interval_seconds: float = Field(default=10.0, gt=0)

    _lists_from_env = field_validator("indexes", mode="before")(
        lambda cls, value: name_list(value)
    )

    @field_validator("indexes")
    @classmethod
    def _index_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if name.count("/") != 1 or not all(name.split("/")):
                raise ValueError(f"{name!r} is not an index name of the form user/index")
        return value

    def key(self) -> bytes | None:
        """The replica key as bytes (devpi derives 16), or None when not configured."""
        if self.replica_key is None:
            return None
        return bytes.fromhex(self.replica_key.get_secret_value().strip())

    @field_validator("replica_key")
    @classmethod
    def _hex(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                bytes.fromhex(value.get_secret_value().strip())
            except ValueError:
                raise ValueError("must be the replica key as hex digits") from None
        return value
