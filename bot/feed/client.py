"""HTTP access to the index: size-capped reads and retries with backoff.

Every response is untrusted. Bodies are read up to a cap; 429 and 5xx answers,
connection errors, timeouts and malformed bodies are retried (Retry-After honored,
otherwise exponential backoff with jitter) and, when retries run out, raised — the
caller then leaves its cursor where it was.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from yarl import URL

from bot.feed.xmlrpc import MalformedResponse, decode_response, encode_call

log = structlog.get_logger(__name__)
T = TypeVar("T")


class IndexUnavailable(Exception):
    """The index did not give a usable answer after all retries."""


class BadAnswers(IndexUnavailable):
    """The index answered, but every answer was unusable (malformed, refused, too large)."""


class RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class ResponseTooLarge(MalformedResponse):
    pass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 8
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    # A call (its retries and waits included) gives up after this long: a command run by
    # a person must end in a bounded time; the service retries on its next poll instead.
    deadline_seconds: float | None = None


def parse_retry_after(value: str | None, cap: float) -> float | None:
    """RFC 9110 Retry-After: delta-seconds (ASCII digits only) or an HTTP-date; anything
    else ("²", "-1", "1.5", "1e9") is no hint at all."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        seconds = float(int(value[:12]))  # twelve digits already exceed any cap
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, min(seconds, cap))


_RETRYABLE = (
    RetryableStatus,
    MalformedResponse,
    aiohttp.ClientError,
    TimeoutError,
)
MAX_REDIRECTS = 3


def describe(exc: BaseException, timeout: float | None = None) -> str:
    """An error as one readable line (a TimeoutError's own text is empty)."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s" if timeout else "timed out"
    text = str(exc)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text or type(exc).__name__


class IndexClient:
    """One aiohttp session to one index, shared by the feed and the ledger."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float = 30.0,
        max_response_bytes: int = 64 * 1024 * 1024,
        retry: RetryPolicy | None = None,
        user_agent: str = "index-warden",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.max_response_bytes = max_response_bytes
        self.retry = retry or RetryPolicy()
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._headers = {"User-Agent": user_agent}
        self._session: aiohttp.ClientSession | None = None
        self._backoff = wait_exponential_jitter(
            multiplier=self.retry.backoff_seconds, max=self.retry.backoff_max_seconds,
            jitter=self.retry.backoff_seconds,
        )

    async def __aenter__(self) -> IndexClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableStatus) and exc.retry_after is not None:
            wait = exc.retry_after
        else:
            wait = float(self._backoff(state))
        return wait

    async def _with_retries(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()` with retries; within `deadline_seconds` in all, when there is one."""
        deadline = self.retry.deadline_seconds
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_RETRYABLE),
            reraise=True,
            before_sleep=self._log_retry(what),
        )
        last: list[str] = []  # the latest attempt's error, for a deadline's message
        scope = asyncio.timeout(deadline)
        try:
            async with scope:
                async for tries in retrying:
                    with tries:
                        try:
                            return await attempt()
                        except _RETRYABLE as exc:
                            last[:] = [describe(exc, self.timeout_seconds)]
                            raise
        except MalformedResponse as exc:
            raise BadAnswers(f"{what}: {describe(exc)}") from exc
        except _RETRYABLE as exc:
            if scope.expired():
                after = f"; last error: {last[0]}" if last else ""
                raise IndexUnavailable(f"{what}: gave up after {deadline:g} s{after}") from exc
            raise IndexUnavailable(f"{what}: {describe(exc, self.timeout_seconds)}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _log_retry(self, what: str) -> Callable[[RetryCallState], None]:
        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("index.retry", what=what, attempt=state.attempt_number,
                        of=self.retry.max_retries + 1,
                        wait_seconds=round(state.upcoming_sleep, 2),
                        error=describe(exc, self.timeout_seconds) if exc else None)
        return before_sleep

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        declared = response.content_length
        if declared is not None and declared > self.max_response_bytes:
            raise ResponseTooLarge(f"response of {declared} bytes exceeds the cap")
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.content.iter_chunked(1 << 16):
            total += len(chunk)
            if total > self.max_response_bytes:
                raise ResponseTooLarge(f"response exceeds {self.max_response_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _check_status(self, response: aiohttp.ClientResponse) -> None:
        if response.status == 429 or response.status >= 500:
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), self.retry.backoff_max_seconds
            )
            raise RetryableStatus(response.status, retry_after)

    async def xmlrpc(
        self, method: str, *params: Any, decode: Callable[[bytes], T] = decode_response
    ) -> T:
        """Call `method`; `decode` reads and validates the body inside the retry loop."""
        body = encode_call(method, *params)

        async def attempt() -> T:
            async with self.session.post(
                f"{self.base_url}/pypi", data=body, headers={"Content-Type": "text/xml"},
                allow_redirects=False,
            ) as response:
                self._check_status(response)
                if response.status != 200:
                    raise MalformedResponse(f"XML-RPC {method}: HTTP {response.status}")
                return decode(await self._read(response))

        return await self._with_retries(f"xmlrpc {method}", attempt)

    async def get_json(self, path: str) -> dict[str, Any] | None:
        """GET a JSON document; None when the index says 404 (gone or never existed).

        Redirects are followed only within the index's own origin (PyPI redirects a
        project's JSON to its normalized name), never to another host.
        """

        async def attempt() -> dict[str, Any] | None:
            url = f"{self.base_url}{path}"
            for _ in range(MAX_REDIRECTS + 1):
                async with self.session.get(url, allow_redirects=False) as response:
                    self._check_status(response)
                    if response.status in (301, 302, 303, 307, 308):
                        url = self._same_origin(url, response.headers.get("Location"))
                        continue
                    if response.status == 404:
                        return None
                    if response.status != 200:
                        raise MalformedResponse(f"GET {path}: HTTP {response.status}")
                    return _json_object(path, await self._read(response))
            raise MalformedResponse(f"GET {path}: more than {MAX_REDIRECTS} redirects")

        return await self._with_retries(f"GET {path}", attempt)

    def _same_origin(self, current: str, location: str | None) -> str:
        if not location:
            raise MalformedResponse("redirect without a Location")
        target = URL(current).join(URL(location))
        if target.origin() != URL(self.base_url).origin():
            raise MalformedResponse(f"redirect to another origin refused: {str(target)[:200]}")
        return str(target)


def _json_object(path: str, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except RecursionError:
        raise MalformedResponse(f"GET {path}: JSON nested too deeply") from None
    except ValueError as exc:  # invalid JSON or UTF-8, or an integer of 4,300+ digits
        raise MalformedResponse(f"GET {path}: invalid JSON: {str(exc)[:200]}") from None
    if not isinstance(document, dict):
        raise MalformedResponse(f"GET {path}: JSON is not an object")
    return document
