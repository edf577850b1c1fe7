"""Several replicas share one sweep through the queue: every domain checked exactly once."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.netdoubles import NetDoubles, ZoneSpec
from detectors.domains.settings import DomainsSection
from detectors.domains.sources import Registries, make_probe
from detectors.domains.sweep import DomainSweeper

from .conftest import T0, Maintainer, seed


async def test_two_workers_split_a_sweep_with_no_domain_checked_twice(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
) -> None:
    # small chunks and one query in flight: the sweep lasts long enough to be shared
    cfg = cfg.model_copy(update={"chunk_size": 5, "dns_query_mx": "none", "dns_concurrency": 1})
    names = [f"maint{i}.com" for i in range(300)]
    for name in names:
        doubles.dns.set_zone(name, ZoneSpec())
        doubles.rdap.set_domain(name)
    await seed(sessions, [Maintainer(f"m{i}", f"m{i}@{name}") for i, name in enumerate(names)])

    async def worker(force: bool) -> int:
        probe, registries = make_probe(cfg), Registries.from_settings(cfg)
        try:
            sweeper = DomainSweeper(sessions, cfg, probe, registries)
            report = await sweeper.run(T0, force=force)
            return report.dns_checked
        finally:
            await probe.close()
            await registries.close()

    # started together: one plans the sweep, the other joins it (or finds it planned)
    checked = await asyncio.gather(worker(force=True), worker(force=False))

    assert min(checked) > 0, checked  # both did part of the work
    assert sum(checked) == len(names)  # every domain checked, none by both workers
    assert all(doubles.dns.asked[name] == 1 for name in names), {
        n: doubles.dns.asked[n] for n in names if doubles.dns.asked[n] != 1}
