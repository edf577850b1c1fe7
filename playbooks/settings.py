"""Configuration of the playbooks: the ``[playbooks]`` and ``[storage]`` sections.

They are ``bot.config.Settings.playbooks`` and ``.storage`` (environment:
``WARDEN_PLAYBOOKS_<OPTION>``, ``WARDEN_STORAGE_<OPTION>``; the two secrets only from
the environment).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from bot.sections import Section, name_list

__all__ = ["PlaybooksSection", "StorageSection"]


class PlaybooksSection(Section):
    # A destructive playbook (yank, freeze, unverify-email, quarantine, remove-malware,
    # restore) runs only after a second, different admin approved it ...
    two_admin_approval: bool = True
    # ... except those named here, which run on one admin's word.
    approval_waived: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Which index the playbooks change: "warehouse" (its database) or "devpi" (REST).
    backend: Literal["warehouse", "devpi"] = "warehouse"
    # warehouse: SQLAlchemy URL of the Warehouse database, read-write
    # (postgresql+asyncpg://... in production; sqlite+aiosqlite:///... for the index double).
    warehouse_url: str | None = None
    # warehouse: directory the index serves blobs from (the index double's files dir).
    # Unset: the index serves from the [storage] location itself (PyPI's bucket), and a
    # restore makes a matching old version current again there.
    warehouse_files: str | None = None
    # warehouse: the account changes are recorded as made by (journals.submitted_by, events,
    # prohibitions, observations) when the acting admin has no Warehouse account of their
    # own name. Warehouse's own tasks act as "admin".
    warehouse_account: str = Field(default="admin", min_length=1)
    # devpi: server URL, the index restores go to ("user/index"), and the admin login.
    devpi_url: str | None = None
    devpi_index: str | None = None
    devpi_user: str = "root"
    devpi_password: SecretStr | None = None  # from WARDEN_PLAYBOOKS_DEVPI_PASSWORD
    # A running playbook holds its run for this long between steps; a resume may take
    # over a run whose holder died (same host: at once; elsewhere: once this expired).
    lease_seconds: float = Field(default=60.0, gt=0)
    timeout_seconds: float = Field(default=60.0, gt=0)

    _waived_from_env = field_validator("approval_waived", mode="before")(
        lambda cls, value: name_list(value))


class StorageSection(Section):
    # Where blobs are found for a restore: "filesystem" (a directory holding
    # packages/<b2[:2]>/<b2[2:4]>/<b2[4:]>/<filename>) or "s3" (a bucket, versioned or not).
    kind: Literal["filesystem", "s3"] = "filesystem"
    root: str = "files"
    s3_bucket: str | None = None
    s3_prefix: str = ""  # prepended to packages/...
    s3_endpoint_url: str | None = None  # for S3-compatible stores; unset: AWS
    s3_region: str = "us-east-1"
    # Unset: botocore's usual chain (AWS_* environment, profile, instance role).
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None  # WARDEN_STORAGE_S3_SECRET_ACCESS_KEY
