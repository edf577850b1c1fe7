"""Work after ack() waits while a burst of requests is being answered, then runs."""

from __future__ import annotations

import asyncio

from bot.slack.deps import Background


async def _answer(background: Background, seconds: float) -> None:
    with background.answering():
        await asyncio.sleep(seconds)


async def test_work_waits_through_the_gaps_of_a_burst_then_runs() -> None:
    background = Background(patience=5.0, grace=0.05)
    loop = asyncio.get_running_loop()
    started: list[float] = []

    async def work() -> None:
        started.append(loop.time())

    await _answer(background, 0)
    background.spawn(work(), "after-first")
    # Requests with 10 ms gaps between them (shorter than the grace) for ~0.3 s.
    for _ in range(20):
        await _answer(background, 0.005)
        await asyncio.sleep(0.01)
    burst_over = loop.time()
    await background.idle(5)
    assert started, "the work never ran"
    assert burst_over <= started[0] < burst_over + 1.0


async def test_patience_bounds_the_wait_under_endless_requests() -> None:
    background = Background(patience=0.2, grace=0.05)
    loop = asyncio.get_running_loop()
    started: list[float] = []

    async def work() -> None:
        started.append(loop.time())

    spawned = loop.time()
    background.spawn(work(), "patient")
    for _ in range(60):  # never quiet for 50 ms, for about 0.6 s
        await _answer(background, 0.005)
        await asyncio.sleep(0.005)
    await background.idle(5)
    assert started and 0.15 <= started[0] - spawned < 0.5
