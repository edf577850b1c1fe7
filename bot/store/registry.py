"""Imports every module that defines tables, so Base.metadata (and Alembic) sees them all."""

from bot.store import (
    devpi_models,
    domain_models,
    models,
    playbook_models,
    report_models,
    slack_models,
    typosquat_models,
)

metadata = models.Base.metadata

__all__ = ["devpi_models", "domain_models", "metadata", "models", "playbook_models",
           "report_models", "slack_models", "typosquat_models"]
