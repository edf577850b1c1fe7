"""Synthetic domains for benchmarks and demos: many names, a realistic mix of states.

Names are `d<number>.<tld>`; everything about a name follows from a hash of it and
an `epoch`, so a DNS server and a benchmark in two processes agree without sharing
data. Between epochs a small share of domains changes (nameservers move, one goes
NXDOMAIN, one comes back), like a day in the life of a real population.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from bot.netdoubles.dns import ZoneSpec
from bot.netdoubles.rdap import RdapDomain

EPOCH0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # epoch N is N days after this

# Share of TLDs among maintainer email domains (roughly; .com dominates).
TLDS = (("com", 50), ("org", 12), ("net", 7), ("de", 6), ("io", 5), ("dev", 4),
        ("fr", 3), ("uk", 3), ("ch", 2), ("info", 2), ("nl", 2), ("jp", 2), ("xyz", 2))
HOSTERS = ("cloudflare.com", "awsdns-12.org", "domaincontrol.com", "googledomains.com",
           "registrar-servers.com", "ovh.net", "gandi.net", "hetzner.com")


def _draw(name: str, epoch: int, salt: str) -> int:
    digest = hashlib.blake2b(f"{salt}:{epoch}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def names(count: int) -> list[str]:
    wheel = [tld for tld, weight in TLDS for _ in range(weight)]
    return [f"d{i:07d}.{wheel[i % len(wheel)]}" for i in range(count)]


def zone_for(name: str, epoch: int = 0) -> ZoneSpec | None:
    """The zone of a synthetic domain at `epoch`, or None for NXDOMAIN.

    Per epoch after the first: 0.3 % of domains move nameservers and 0.2 % go away
    (NXDOMAIN) for that epoch only; 0.05 % are parked for good.
    """
    if not name.startswith("d") or "." not in name or name.count(".") != 1:
        return None
    base = _draw(name, 0, "base")
    if base % 2000 == 0:
        return ZoneSpec(ns=("ns1.sedoparking.com", "ns2.sedoparking.com"), mx=())
    hoster = HOSTERS[base % len(HOSTERS)]
    if epoch > 0:
        churn = _draw(name, epoch, "churn") % 1000
        if churn < 2:
            return None
        if churn < 5:
            hoster = HOSTERS[(base + epoch) % len(HOSTERS)]
    return ZoneSpec(ns=(f"ns1.{hoster}", f"ns2.{hoster}"), mx=(f"10 mx.{name}",))


def rdap_for(name: str, epoch: int = 0) -> RdapDomain | None:
    """The registry's view: expiries spread over a year; on hold while NXDOMAIN."""
    base = _draw(name, 0, "base")
    registered = datetime(2010, 1, 1, tzinfo=UTC) + timedelta(days=base % 5000)
    expires = EPOCH0 + timedelta(days=1 + (base >> 8) % 365, hours=base % 24)
    held = zone_for(name, epoch) is None and base % 2000 != 0
    hoster = HOSTERS[base % len(HOSTERS)]
    return RdapDomain(state="hold" if held else "active", registered=registered, expires=expires,
                      nameservers=(f"ns1.{hoster}", f"ns2.{hoster}"))


class SyntheticRdap:
    """A callable for `RdapDouble(synthetic=...)`."""

    def __init__(self, epoch: int = 0) -> None:
        self.epoch = epoch

    def __call__(self, name: str) -> RdapDomain | None:
        return rdap_for(name, self.epoch)


class SyntheticZones:
    """A callable for `DnsDouble(synthetic=...)`."""

    def __init__(self, epoch: int = 0) -> None:
        self.epoch = epoch

    def __call__(self, name: str) -> ZoneSpec | None:
        return zone_for(name, self.epoch)
