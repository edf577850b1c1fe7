"""Issue 18: the sweep is a polite client of its one resolver (50 questions/s on average)."""

from __future__ import annotations

import asyncio
import time

from bot.netdoubles import NetDoubles
from detectors.domains.dnsclient import Polite
from detectors.domains.settings import DomainsSection
from detectors.domains.sources import make_probe


async def test_questions_to_the_resolver_stay_under_the_rate(doubles: NetDoubles) -> None:
    for n in range(30):
        doubles.dns.set_zone(f"polite{n}.com")
    cfg = DomainsSection(resolver=doubles.dns.resolver, dns_rate_per_second=20.0)
    probe = make_probe(cfg)
    assert isinstance(probe.transport, Polite)
    started = time.monotonic()
    try:
        seen = await asyncio.gather(*(probe.observe(f"polite{n % 30}.com") for n in range(60)))
    finally:
        await probe.close()
    elapsed = time.monotonic() - started
    assert all(o.outcome == "noerror" for o in seen)
    # 60 questions at 20/s with a burst of 20: the last 40 take at least 2 s
    assert elapsed >= 1.9 and sum(doubles.dns.asked.values()) >= 60
    assert 60 / (elapsed + 1.0) <= 20.0  # on average (one second's burst allowed)


def test_the_default_is_fifty_and_zero_means_no_limit() -> None:
    assert DomainsSection().dns_rate_per_second == 50.0
    assert not isinstance(make_probe(DomainsSection(resolver="127.0.0.1:53",
                                                    dns_rate_per_second=0)).transport, Polite)
