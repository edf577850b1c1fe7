"""Change what the index double holds from the command line, as a maintainer would on
PyPI: ``upload`` (creating the owner and the project on first use), ``remove`` (a
project, a release or a file), ``role`` (grant or take away a role).

Each command opens the same SQLite database a running ``serve`` reads, writes through
the store's Warehouse operations (so the changelog shows them) and prints the serial it
wrote. Without FILE arguments, ``upload`` makes a small sdist and wheel of its own
(placeholder contents, enough for the feed's digests and a restore).
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import sqlalchemy as sa

from bot.names import canonicalize
from bot.store import warehouse as ws

from .store import IndexDoubleStore

__all__ = ["add_edit_commands", "run_edit"]


def _placeholder_files(project: str, version: str) -> list[tuple[str, bytes]]:
    """A real (tiny) sdist and wheel, so the files also open as what their names say."""
    stem = f"{canonicalize(project).replace('-', '_')}-{version}"
    note = f"{project} {version}: uploaded to the index double\n".encode()
    sdist = io.BytesIO()
    with tarfile.open(fileobj=sdist, mode="w:gz") as tar:
        info = tarfile.TarInfo(f"{stem}/PKG-INFO")
        meta = f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n".encode()
        info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))
        readme = tarfile.TarInfo(f"{stem}/README")
        readme.size = len(note)
        tar.addfile(readme, io.BytesIO(note))
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{stem}.dist-info/METADATA",
                    f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n")
        zf.writestr(f"{stem}.dist-info/README", note)
    return [(f"{stem}.tar.gz", sdist.getvalue()), (f"{stem}-py3-none-any.whl", wheel.getvalue())]


def add_edit_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--db", type=Path, required=True,
                            help="the SQLite database `serve --db` uses")
        parser.add_argument("--files", type=Path, required=True,
                            help="the blob directory `serve --files` uses")

    upload = sub.add_parser(
        "upload", help="upload a release (creates the owner and the project if new)",
        description="Upload release VERSION of PROJECT with the given files (default: a "
        "small sdist and wheel made up on the spot). The owner account and the project are "
        "created on first use.")
    common(upload)
    upload.add_argument("project")
    upload.add_argument("version")
    upload.add_argument("file", nargs="*", type=Path, help="distribution files to upload")
    upload.add_argument("--owner", default="owner",
                        help="account that owns a new project and uploads (owner)")
    upload.add_argument("--email", help="the owner's verified address, when the account is new")

    remove = sub.add_parser("remove", help="remove a project, a release or a file",
                            description="As a maintainer's delete on PyPI: blobs stay in "
                            "--files, as in PyPI's bucket, so a restore can find them.")
    common(remove)
    remove.add_argument("project")
    remove.add_argument("--version", help="only this release")
    remove.add_argument("--file", dest="filename", help="only this file (needs --version)")
    remove.add_argument("--actor", help="who removes it (recorded in the changelog)")

    role = sub.add_parser("role", help="grant a role on a project, or take it away")
    common(role)
    role.add_argument("project")
    role.add_argument("user")
    role.add_argument("role", nargs="?", default="Maintainer",
                      help="Owner or Maintainer (Maintainer)")
    role.add_argument("--remove", action="store_true", help="take the user's role away")
    role.add_argument("--actor", help="who changes it (recorded in the changelog)")


def _has(store: IndexDoubleStore, table: sa.Table, column: sa.Column[str], value: str) -> bool:
    with store.engine.connect() as c:
        return c.execute(sa.select(table.c.id).where(column == value)).first() is not None


def run_edit(args: argparse.Namespace) -> int:
    """Run one edit command; 0 on success, 2 with a message when it cannot be done."""
    store = IndexDoubleStore(args.db, args.files)
    try:
        if args.command == "upload":
            serial = _upload(store, args)
        elif args.command == "remove":
            if args.filename and not args.version:
                raise ValueError("--file needs --version")
            if args.filename:
                serial = store.remove_file(args.project, args.version, args.filename,
                                           actor=args.actor)
            elif args.version:
                serial = store.remove_release(args.project, args.version, actor=args.actor)
            else:
                serial = store.remove_project(args.project, actor=args.actor)
        else:
            if args.remove:
                serial = store.remove_role(args.project, args.user, actor=args.actor)
            else:
                if not _has(store, ws.users, ws.users.c.username, args.user):
                    store.add_user(args.user)
                serial = store.add_role(args.project, args.user, args.role, actor=args.actor)
    except (KeyError, ValueError, OSError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"serial {serial}")
    return 0


def _upload(store: IndexDoubleStore, args: argparse.Namespace) -> int:
    files = [(p.name, p.read_bytes()) for p in args.file] or \
        _placeholder_files(args.project, args.version)
    if not _has(store, ws.users, ws.users.c.username, args.owner):
        store.add_user(args.owner, args.email)
    if not _has(store, ws.projects, ws.projects.c.normalized_name, canonicalize(args.project)):
        store.create_project(args.project, args.owner)
    return store.add_release(args.project, args.version, files, uploader=args.owner)
