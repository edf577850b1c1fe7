"""Build the storage and index-admin backends from configuration (one factory per kind)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from playbooks.index_admin.base import IndexAdmin
from playbooks.index_admin.devpi import DevpiAdmin, DevpiUnavailable
from playbooks.index_admin.warehouse import WarehouseAdmin
from playbooks.index_admin.warehouse_connect import WarehouseUnavailable
from playbooks.settings import PlaybooksSection, StorageSection
from playbooks.storage.base import BlobStorage
from playbooks.storage.filesystem import FilesystemStorage

__all__ = ["BackendConfigError", "Backends", "open_backends"]


class BackendConfigError(ValueError):
    """A backend is selected but not configured (message names the option)."""


@dataclass
class Backends:
    """The index the playbooks change and the storage restores read from."""

    admin: IndexAdmin
    storage: BlobStorage

    async def close(self) -> None:
        await self.admin.close()
        await self.storage.close()


async def _filesystem(cfg: StorageSection) -> BlobStorage:
    return FilesystemStorage(Path(cfg.root))


async def _s3(cfg: StorageSection) -> BlobStorage:
    # Imported here: aiobotocore costs ~0.3 s to import, paid only by S3 users.
    from playbooks.storage.s3 import S3Storage

    if not cfg.s3_bucket:
        raise BackendConfigError("storage.s3_bucket must be set when storage.kind is s3")
    secret = cfg.s3_secret_access_key.get_secret_value() if cfg.s3_secret_access_key else None
    return await S3Storage.open(cfg.s3_bucket, prefix=cfg.s3_prefix,
                                endpoint_url=cfg.s3_endpoint_url, region=cfg.s3_region,
                                access_key_id=cfg.s3_access_key_id,
                                secret_access_key=secret, io_timeout=60.0)


async def _warehouse(cfg: PlaybooksSection, storage: BlobStorage) -> IndexAdmin:
    if not cfg.warehouse_url:
        raise BackendConfigError("playbooks.warehouse_url must be set for the warehouse backend")
    files = FilesystemStorage(Path(cfg.warehouse_files)) if cfg.warehouse_files else storage
    try:
        return await WarehouseAdmin.connect(cfg.warehouse_url, files, cfg.warehouse_account)
    except WarehouseUnavailable as exc:
        raise BackendConfigError(str(exc)) from None


async def _devpi(cfg: PlaybooksSection, storage: BlobStorage) -> IndexAdmin:
    missing = [n for n in ("devpi_url", "devpi_index", "devpi_password") if not getattr(cfg, n)]
    if missing:
        raise BackendConfigError(f"playbooks.{missing[0]} must be set for the devpi backend")
    assert cfg.devpi_url and cfg.devpi_index and cfg.devpi_password
    try:
        return await DevpiAdmin.connect(cfg.devpi_url, cfg.devpi_index, cfg.devpi_user,
                                        cfg.devpi_password.get_secret_value(),
                                        io_timeout=cfg.timeout_seconds)
    except DevpiUnavailable as exc:
        raise BackendConfigError(str(exc)) from None


STORAGES: dict[str, Callable[[StorageSection], Awaitable[BlobStorage]]] = {
    "filesystem": _filesystem, "s3": _s3}
ADMINS: dict[str, Callable[[PlaybooksSection, BlobStorage], Awaitable[IndexAdmin]]] = {
    "warehouse": _warehouse, "devpi": _devpi}


async def open_backends(playbooks: PlaybooksSection, storage: StorageSection) -> Backends:
    blobs = await STORAGES[storage.kind](storage)
    try:
        admin = await ADMINS[playbooks.backend](playbooks, blobs)
    except BaseException:
        await blobs.close()
        raise
    return Backends(admin, blobs)
