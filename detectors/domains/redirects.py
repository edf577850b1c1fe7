"""Whether to follow an RDAP server's redirect, and how the next request connects.

RDAP uses redirects (RFC 7480 section 5.2), so they are followed, but by us, one hop
at a time, never by the HTTP library. A hop is allowed when it

- stays under the base URL the lookup started from (same scheme, host, port, and the
  base's path as prefix): the server we were asking anyway. This is the only way to
  reach a loopback or private address, and only because that base is configured (the
  local doubles in tests, or an internal RDAP mirror); or
- goes to an https URL whose host and port are those of an RDAP service listed in the
  IANA bootstrap (or the configured base), and that host resolves to public addresses
  only (`egress.PublicOnlyResolver`, checked when connecting).

Anything else is refused with a reason, and no request is made to that host.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from yarl import URL

from detectors.domains.egress import literal_refusal

MAX_HOPS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Encoded dots, slashes and backslashes that a server may decode into "../" after our
# prefix check: refused in paths that claim to stay under the base.
_SNEAKY = ("%2e", "%2f", "%5c")


class RedirectRefused(Exception):
    """A redirect that is not followed; str() says why."""


@dataclass(frozen=True, slots=True)
class Hop:
    url: URL
    guarded: bool  # connect through the public-address-only resolver


def _host(url: URL) -> str:
    return (url.raw_host or "").lower().rstrip(".")


def _origin(url: URL) -> tuple[str, str, int | None]:
    return url.scheme, _host(url), url.port


class RedirectPolicy:
    """Decides each hop; `services` are the RDAP base URLs that may be redirected to."""

    def __init__(self, services: Iterable[str], max_hops: int = MAX_HOPS) -> None:
        self.max_hops = max_hops
        self.origins: frozenset[tuple[str, int | None]] = frozenset(
            (_host(url), url.port) for url in map(_parse, services)
            if url is not None and url.scheme == "https" and _host(url))

    def first(self, url: str) -> Hop:
        return Hop(URL(url), guarded=False)

    def follow(self, current: URL, location: str | None, base: str) -> Hop:
        """The next hop from a redirect answer to `current`; RedirectRefused if none."""
        if not location or not location.strip():
            raise RedirectRefused(f"redirect from {current} without a Location")
        try:
            target = current.join(URL(location.strip())).with_fragment(None)
        except (ValueError, TypeError) as exc:
            raise RedirectRefused(f"unreadable redirect Location {location[:200]!r}: {exc}") from None
        shown = str(target)[:300]
        if target.scheme not in ("http", "https") or not _host(target):
            raise RedirectRefused(f"redirect to {shown}: not an http(s) URL with a host")
        if target.user is not None or target.password is not None:
            raise RedirectRefused(f"redirect to {shown}: URL carries credentials")
        if self._under(target, URL(base)):
            return Hop(target, guarded=False)
        if target.scheme != "https":
            raise RedirectRefused(f"redirect to {shown}: not https")
        if (why := literal_refusal(_host(target))) is not None:
            raise RedirectRefused(f"redirect to {shown}: {why}")
        if (_host(target), target.port) not in self.origins:
            raise RedirectRefused(
                f"redirect to {shown}: {_host(target)}:{target.port} is not an RDAP service "
                "of the IANA bootstrap or the configured base")
        return Hop(target, guarded=True)

    @staticmethod
    def _under(target: URL, base: URL) -> bool:
        path = target.raw_path
        return (_origin(target) == _origin(base) and path.startswith(base.raw_path)
                and not any(s in path.lower() for s in _SNEAKY))


def _parse(url: str) -> URL | None:
    try:
        return URL(url)
    except (ValueError, TypeError):
        return None
