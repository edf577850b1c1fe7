"""Structured logs (structlog): JSON when not on a terminal, readable when on one."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from bot.plaintext import reveal


def reveal_hidden(logger: Any, method: str, event: MutableMapping[str, Any]
                  ) -> MutableMapping[str, Any]:
    """Readable logs only: the console renderer writes the event and a traceback as they
    are, and either can quote upstream text (an exception's message holds a fault
    string), ESC sequences and bidi overrides included; each hidden character is written
    as an escape, line breaks kept in the traceback. (It writes the other fields with
    repr(), which escapes them; JSON escapes by itself.)"""
    for key in ("event", "exception"):
        if isinstance(value := event.get(key), str):
            event[key] = reveal(value, newlines=key == "exception")
    return event


def configure_logging(level: str = "info", json: str = "auto") -> None:
    as_json = json == "true" or (json == "auto" and not sys.stderr.isatty())
    renderers: list[structlog.typing.Processor] = (
        [structlog.processors.JSONRenderer()] if as_json
        else [reveal_hidden, structlog.dev.ConsoleRenderer()]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            *renderers,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        # Resolved per logger, not at configure time: tests and tools swap sys.stderr.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
