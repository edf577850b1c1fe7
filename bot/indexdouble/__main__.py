"""Run the index double alone: ``python -m bot.indexdouble serve --db PATH --files DIR``;
change what it holds with ``upload``, ``remove`` and ``role`` (see bot/indexdouble/edit.py).

Prints exactly one line, ``READY <base_url>``, on stdout once listening (so a test
can start it as a subprocess and read where it is), then serves until SIGTERM or
SIGINT. Faults are set over HTTP: ``POST /_double/faults`` with
``{"kind", "count", "path", "delay", "size", "message"}``; ``DELETE /_double/faults`` clears.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .edit import add_edit_commands, run_edit
from .faults import FAULT_KINDS
from .server import DEFAULT_PAGE_SIZE, IndexDoubleServer
from .store import IndexDoubleStore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.indexdouble",
        description="A small PyPI-protocol server (XML-RPC changelog, JSON API, PEP 691 "
        "simple API, files) over a Warehouse-shaped SQLite database, for tests, "
        "benchmarks and demos.",
        epilog="Fault kinds for POST /_double/faults: " + ", ".join(sorted(FAULT_KINDS)),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the database until SIGTERM/SIGINT",
                           description="Serve until SIGTERM/SIGINT; prints 'READY <url>'.")
    serve.add_argument("--db", type=Path, required=True,
                       help="SQLite database file (created with the schema if missing)")
    serve.add_argument("--files", type=Path, required=True,
                       help="blob directory; files live under DIR/packages/")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    serve.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE,
                       help=f"changelog_since_serial cap (PyPI's: {DEFAULT_PAGE_SIZE})")
    add_edit_commands(sub)
    return parser


async def serve(db: Path, files: Path, host: str, port: int, page_size: int) -> None:
    store = IndexDoubleStore(db, files)
    server = IndexDoubleServer(store, page_size=page_size)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    url = await server.start(host=host, port=port)
    print(f"READY {url}", flush=True)
    try:
        await stopped.wait()
    finally:
        await server.stop()
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        return run_edit(args)
    if args.page_size < 1:
        print("error: --page-size must be at least 1", file=sys.stderr)
        return 2
    asyncio.run(serve(args.db, args.files, args.host, args.port, args.page_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
