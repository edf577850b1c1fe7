"""The hand-written Warehouse tables (bot.store.warehouse.py) against
Warehouse's real schema (tests/fixtures/warehouse-schema.sql): every table and column
index-warden uses exists there with a compatible type, every enum has Warehouse's labels,
and no NOT NULL column an insert must give is missing, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from bot.store import warehouse as ws
from tests.support.warehouse_db import SCHEMA, dsn

pytestmark = pytest.mark.service

# Our type as compiled for PostgreSQL -> the format_type() names it may meet there.
_STRINGS = {"text", "character varying"}
_COMPATIBLE: dict[str, set[str]] = {
    "UUID": {"uuid"}, "CITEXT": {"citext"}, "TEXT": _STRINGS, "VARCHAR": _STRINGS,
    "BOOLEAN": {"boolean"}, "INTEGER": {"integer"}, "BIGINT": {"bigint"},
    "TIMESTAMP WITHOUT TIME ZONE": {"timestamp without time zone"}, "JSONB": {"jsonb"},
    "VARCHAR[]": {"character varying[]"}, "BYTEA": {"bytea"},
}
# Filled by Warehouse's triggers, so never given on insert (and not modelled).
_TRIGGER_FILLED = {("projects", "sitemap_bucket"), ("users", "sitemap_bucket")}


async def _real_columns(url: str) -> dict[str, dict[str, dict[str, Any]]]:
    conn = await asyncpg.connect(dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT c.relname AS table, a.attname AS column, "
            "format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, "
            "pg_get_expr(d.adbin, d.adrelid) AS default "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped")
        enums = await conn.fetch("SELECT t.typname, e.enumlabel FROM pg_type t JOIN pg_enum e "
                                 "ON e.enumtypid = t.oid ORDER BY t.typname, e.enumsortorder")
    finally:
        await conn.close()
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        tables.setdefault(r["table"], {})[r["column"]] = dict(r)
    tables["<enums>"] = {}
    for r in enums:
        tables["<enums>"].setdefault(r["typname"], {"labels": []})["labels"].append(r["enumlabel"])
    return tables


def _ours(column: sa.Column[Any]) -> str:
    return str(column.type.compile(dialect=postgresql.dialect()))


def _compatible(column: sa.Column[Any], real: str, enums: dict[str, Any]) -> str | None:
    ours = _ours(column)
    if isinstance(column.type, sa.Enum):
        if real != column.type.name:
            return f"enum {column.type.name} is {real} there"
        labels = enums[real]["labels"]
        if list(column.type.enums) != labels:
            return f"enum {real} has labels {labels}, ours {list(column.type.enums)}"
        return None
    base = ours.split("(")[0]
    real_base = real.split("(")[0]
    if real_base not in _COMPATIBLE.get(base, set()):
        return f"{ours} here, {real} there"
    return None


def test_the_vendored_schema_names_its_origin() -> None:
    head = SCHEMA.read_text()[:1200]
    assert "6b62157124ab7865029afeeadf282bce27d601d9" in head and "pg_dump" in head
    assert "do not edit" in head


async def test_every_table_and_column_exists_with_a_compatible_type(warehouse_url: str) -> None:
    real = await _real_columns(warehouse_url)
    enums = real.pop("<enums>")
    problems: list[str] = []
    for table in ws.metadata.sorted_tables:
        if table.name not in real:
            problems.append(f"table {table.name} is not in Warehouse's schema")
            continue
        for column in table.columns:
            there = real[table.name].get(column.name)
            if there is None:
                problems.append(f"column {table.name}.{column.name} is not in Warehouse's schema")
            elif (why := _compatible(column, there["type"], enums)) is not None:
                problems.append(f"{table.name}.{column.name}: {why}")
        for name, there in real[table.name].items():
            needs_value = there["not_null"] and there["default"] is None
            if needs_value and name not in table.columns and \
                    (table.name, name) not in _TRIGGER_FILLED:
                problems.append(f"{table.name}.{name} is NOT NULL without a default in Warehouse"
                                " but not modelled: inserts would fail")
    assert problems == []


async def test_every_enum_matches_warehouse(warehouse_url: str) -> None:
    enums = (await _real_columns(warehouse_url))["<enums>"]
    for cls, name in ((ws.LifecycleStatus, "lifecyclestatus"), (ws.PackageType, "packagetype"),
                      (ws.UnverifyReasons, "unverifyreasons"),
                      (ws.DisableReason, "disablereason"),
                      (ws.RoleInvitationStatus, "roleinvitationstatus")):
        assert [m.value for m in cls] == enums[name]["labels"], name


def test_the_drift_check_catches_drift() -> None:
    """The comparison itself: a renamed type or a text column typed as integer fails."""
    enums = {"lifecyclestatus": {"labels": [m.value for m in ws.LifecycleStatus]}}
    assert _compatible(ws.projects.c.lifecycle_status, "lifecyclestatus", enums) is None
    assert _compatible(ws.projects.c.lifecycle_status, "text", enums) is not None
    assert _compatible(ws.journals.c.submitted_by, "citext", enums) is None
    assert _compatible(ws.journals.c.submitted_by, "text", enums) is not None  # citext matters
    assert _compatible(ws.release_files.c.size, "integer", enums) is None
    assert _compatible(ws.release_files.c.filename, "integer", enums) is not None
    short = {"lifecyclestatus": {"labels": ["quarantine-enter"]}}
    assert _compatible(ws.projects.c.lifecycle_status, "lifecyclestatus", short) is not None
