"""`warden db upgrade`: Alembic migrations driven from code, no alembic.ini needed."""

from __future__ import annotations

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import create_engine

# Package data (pyproject.toml), named as a package resource: Alembic finds the directory
# through importlib.resources wherever the package is installed.
MIGRATIONS = "bot.store:migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@cache
def _scripts() -> ScriptDirectory:
    """The migration files, read once per process (start-up asks for heads and all)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revisions() -> set[str]:
    return set(_scripts().get_heads())


def known_revisions() -> set[str]:
    """Every revision this version of the code has a migration for."""
    return {rev.revision for rev in _scripts().walk_revisions()}


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at `url` to `revision` (runs its own event loop)."""
    command.upgrade(alembic_config(url), revision)


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        heads = await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
    return set(heads)


async def upgrade_async(url: str, revision: str = "heads") -> None:
    """Same as `upgrade`, from inside a running event loop."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            cfg = alembic_config(url)

            def run(sync_conn: object) -> None:
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, revision)

            await conn.run_sync(run)
    finally:
        await engine.dispose()
