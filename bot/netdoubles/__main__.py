"""Run the network doubles alone: ``python -m bot.netdoubles serve [--synthetic-epoch N]``.

Prints exactly one line, ``READY {"dns": "host:port", "rdap": "url", "whois":
"host:port"}``, once listening, then serves until SIGTERM or SIGINT. With
``--synthetic-epoch`` the DNS and RDAP servers answer for the synthetic population of
``bot.netdoubles.synthetic`` (benchmarks run it in its own process, on its own core).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections.abc import Sequence

from bot.netdoubles import DnsDouble, NetDoubles, RdapDouble
from bot.netdoubles.synthetic import SyntheticRdap, SyntheticZones


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.netdoubles",
                                     description="Local DNS, RDAP and WHOIS servers.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve until SIGTERM/SIGINT; prints 'READY {...}'")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--synthetic-epoch", type=int, default=None,
                       help="answer DNS for the synthetic population at this epoch")
    return parser


async def serve(host: str, epoch: int | None) -> None:
    dns = DnsDouble(synthetic=None if epoch is None else SyntheticZones(epoch))
    rdap = RdapDouble(synthetic=None if epoch is None else SyntheticRdap(epoch))
    doubles = NetDoubles(dns=dns, rdap=rdap)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    await doubles.start(host)
    print("READY " + json.dumps({"dns": doubles.dns.resolver, "rdap": doubles.rdap.base_url,
                                 "whois": doubles.whois.server}), flush=True)
    try:
        await stopped.wait()
    finally:
        await doubles.stop()


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    asyncio.run(serve(args.host, args.synthetic_epoch))


if __name__ == "__main__":
    main()
