"""Backends that change an index on an admin's behalf (Warehouse database, devpi)."""
