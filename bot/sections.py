"""What every configuration section shares: the base model and the list parser.

Each part's section lives beside the part (detectors/critical_settings.py,
detectors/typosquat/settings.py, detectors/domains/settings.py, playbooks/settings.py)
and is handed to it alone; bot.config assembles them into the one `Settings`. This
module is the base layer's: plugins import it, it imports no plugin.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Section", "name_list"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def name_list(value: Any) -> Any:
    """A list option as the environment gives it: a JSON list, or names separated by
    commas (a list from TOML passes through)."""
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [name.strip() for name in value.split(",") if name.strip()]
    return value
