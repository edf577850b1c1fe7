"""`[reports]`: where malware reports are read from, how they are graded and chased."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from bot.sections import Section, name_list

__all__ = ["ReportsSection"]


class ReportsSection(Section):
    # Read malware reports (is_malware observations) from the index's database.
    enabled: bool = True
    # SQLAlchemy URL of a read-only copy of the Warehouse database; unset: the playbooks'
    # playbooks.warehouse_url (the same access the accounts are read with).
    warehouse_url: str | None = None
    # Seconds between two reads of new reports (the leader's schedule).
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    # Reports committed late (a transaction that began before the last read) are found by
    # reading this far back on every poll; each report is still handled once.
    overlap_seconds: float = Field(default=300.0, ge=0)
    # Reports read per poll (one transaction of the store; a burst is drained in few).
    batch_size: int = Field(default=1000, gt=0)
    # On the very first run, reports this many days old or newer are read (older ones
    # are left to Warehouse's own list).
    initial_days: float = Field(default=7.0, ge=0)
    # A project younger than this when a trusted observer reports it is "critical"
    # (Warehouse auto-quarantines it on the same rule).
    young_project_hours: float = Field(default=24.0, gt=0)
    # Characters of a report's summary kept in the incident (the rest is counted).
    summary_chars: int = Field(default=1500, ge=100, le=2800)
    # Unacknowledged reports are announced again after this many minutes, and again
    # every remind_every_minutes, nights and weekends included.
    remind_after_minutes: float = Field(default=30.0, gt=0)
    remind_every_minutes: float = Field(default=60.0, gt=0)
    # After this many minutes unacknowledged, the report is escalated once: posted to
    # escalate_channel and/or with escalate_mention (Slack user group IDs "S0123ABC" or
    # user IDs) in the incident's thread.
    escalate_after_minutes: float = Field(default=120.0, gt=0)
    escalate_channel: str | None = None
    escalate_mention: Annotated[list[str], NoDecode] = Field(default_factory=list)

    _mention_from_env = field_validator("escalate_mention", mode="before")(
        lambda cls, value: name_list(value))

    @field_validator("escalate_mention")
    @classmethod
    def _slack_ids(cls, value: list[str]) -> list[str]:
        for item in value:
            if not (item[:1] in ("S", "U", "W") and item[1:].isalnum() and item.isupper()):
                raise ValueError(f"{item!r} is not a Slack user group (S...) or user (U...) ID")
        return value
