"""What every `warden` command shares: settings, consoles, the async runner."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from bot.actions import ActionError, Actions
from bot.cli.plain import plain
from bot.config import ConfigError, Settings, load_settings
from bot.feed.client import IndexUnavailable
from bot.logs import configure_logging
from bot.store.connect import StoreUnavailable
from bot.wiring import SchemaOutOfDate, Warden

T = TypeVar("T")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c",
                 help="TOML file (default: $WARDEN_CONFIG or ./config/warden.toml).",
                 show_envvar=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
ActorOption = Annotated[str, typer.Option(
    "--actor", help="Who is acting (must be in access.admins). Default: $WARDEN_ACTOR or your "
    "login name.")]
IndexUrlOption = Annotated[
    str | None, typer.Option("--index-url", help="Index base URL (overrides index.url).")
]


def default_actor() -> str:
    """The admin a CLI command acts as when --actor is not given."""
    return os.environ.get("WARDEN_ACTOR") or getpass.getuser()


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one clear message and give the exit to raise (2: usage/config, 1: failure).

    The message is plain text: it often quotes upstream text (an XML-RPC fault string)."""
    err.print(plain("error:", "red") + " " + plain(message, newlines=True))
    return typer.Exit(code)


def settings_from(config: Path | None, **overrides: Any) -> Settings:
    try:
        settings = load_settings(config, **overrides)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    configure_logging(settings.log.level, settings.log.json_)
    return settings


def run_async(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(work())
    except (SchemaOutOfDate, StoreUnavailable) as exc:
        raise fail(str(exc)) from None
    except IndexUnavailable as exc:
        raise fail(f"the index did not answer usefully: {exc}", code=1) from None


async def with_warden(settings: Settings, work: Callable[[Warden], Awaitable[T]], *,
                      json_output: bool = False) -> T:
    """Open the bot, do `work`, close it. With `json_output`, stdout carries only the
    command's JSON: the console notifier prints to stderr."""
    warden = await Warden.open(settings, console=err if json_output else None,
                               deadline_seconds=settings.index.command_deadline_seconds)
    try:
        return await work(warden)
    finally:
        await warden.close()


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT/SIGTERM ask the work to stop after the batch in flight."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def with_actions(settings: Settings, config: Path | None,
                       work: Callable[[Actions], Awaitable[T]], *,
                       playbooks: bool = True) -> T:
    """Open the store and the door (the index backend and the storage with it); run
    ``work``; close them. ``playbooks``: the work runs playbooks, so backends that
    cannot be opened are a configuration error (exit 2)."""
    warden = await Warden.open(settings,
                               deadline_seconds=settings.index.command_deadline_seconds)
    try:
        actions = await warden.open_actions()
        try:
            if playbooks and actions.backends is None:
                raise fail(actions.unavailable)
            try:
                return await work(actions)
            except ActionError as exc:
                raise fail(str(exc), code=1) from None
        finally:
            await actions.close()
    finally:
        await warden.close()
