"""Per-server token buckets: registries limit clients, and we keep under their limits."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


class TokenBucket:
    """`rate` requests per second with bursts of `burst`; `pause()` honours Retry-After.

    Waiters are served in arrival order (one lock), so a burst of callers is spread
    out evenly instead of all waking at once.
    """

    def __init__(
        self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                self._refill()
                wait = self._paused_until - self._clock()
                if wait <= 0 and self._tokens >= 1:
                    self._tokens -= 1
                    return
                if wait <= 0:
                    wait = (1 - self._tokens) / self.rate
                await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """No request before `seconds` from now (a 429's Retry-After); spends the tokens."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._tokens = 0.0
        self._stamp = self._clock()


class Buckets:
    """One bucket per server key, created on first use."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, TokenBucket] = {}

    def __getitem__(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
        return bucket


# RFC 9110 section 10.2.3: Retry-After = HTTP-date / delay-seconds, and delay-seconds is
# 1*DIGIT of ASCII digits only (str.isdigit() also takes "²" and "٣", which float() refuses).
# An HTTP-date (section 5.6.7) is IMF-fixdate, or one of the two obsolete forms recipients
# must still accept; the shape is checked here, the calendar by the email package.
_DELAY = re.compile(r"[0-9]+", re.ASCII)
_DAY, _MONTH = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)", r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_CLOCK = r"[0-9]{2}:[0-9]{2}:[0-9]{2}"
_HTTP_DATE = re.compile(
    rf"{_DAY}, [0-9]{{2}} {_MONTH} [0-9]{{4}} {_CLOCK} GMT"  # IMF-fixdate
    rf"|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    rf"[0-9]{{2}}-{_MONTH}-[0-9]{{2}} {_CLOCK} GMT"  # rfc850-date
    rf"|{_DAY} {_MONTH} [ 0-9][0-9] {_CLOCK} [0-9]{{4}}",  # asctime-date
    re.ASCII,
)
LONGEST_DELAY = 10**9  # seconds (~32 years): more digits mean "never", not a bigger int


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, or None when it is not one (no hint).

    Only RFC 9110 forms count: delay-seconds, or an HTTP-date (a date in the past
    means 0). Anything else, however close, is no hint, never an exception.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    if _DELAY.fullmatch(text):
        digits = text.lstrip("0") or "0"
        # int() of thousands of digits raises (and costs); anything that long is "never"
        return float(min(int(digits), LONGEST_DELAY) if len(digits) <= 12 else LONGEST_DELAY)
    if not _HTTP_DATE.fullmatch(text):
        return None
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:  # asctime-date carries no zone: HTTP dates are GMT
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):  # Feb 31, hour 25, ...
        return None
