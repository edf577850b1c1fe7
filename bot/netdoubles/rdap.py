"""A registry's RDAP server (aiohttp), answering `GET /domain/{name}` per lifecycle state.

Answers are shaped like real registries' (Verisign for .com/.net: upper-case names,
registrar entity with IANA id and jCard, `last update of RDAP database` event; PIR
for .org: lower-case names). States: `active`, `grace` (auto renew period),
`redemption` (redemption period + pending delete, as EPP shows it), `pending-delete`,
`hold` (client hold), `unregistered` (404). Dates, registrar, nameservers and extra
events (transfer, reinstantiation) are per domain. A `synthetic` function answers for
names not set one by one (benchmarks).

Fault injection, as a hostile or broken registry would answer:
- `set_raw` serves any status, body and headers; `set_hostile` one of `HOSTILE`, crafted
  bodies that are registry-shaped but poisoned (nesting 100,000 deep, a 5,001-digit
  number, invalid UTF-8, wrong types, NUL or an unpaired surrogate in the registrar,
  dates in year 1 or 9999, 10,000 nameservers, a 100,000-character registrar);
- `limit_rate` answers 429 above a rate, `throttle_next` the next requests, each with a
  Retry-After of any text (a number of seconds, an HTTP date, or "²");
- `set_redirect` answers a redirect to any URL (another host, a loopback admin port,
  a metadata address), a number of times, then the domain.

Every request is logged with its arrival time, whatever its path, so tests can measure
the pacing and see that a request never reached a server (a second double serves as
the internal "admin endpoint" a redirect must not reach).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web

STATUSES = {
    "active": ["client delete prohibited", "client transfer prohibited",
               "client update prohibited"],
    "grace": ["auto renew period", "client transfer prohibited"],
    "redemption": ["redemption period", "pending delete"],
    "pending-delete": ["pending delete"],
    "hold": ["client hold", "client transfer prohibited"],
    "inactive": ["inactive"],
}
RDAP_JSON = "application/rdap+json"


@dataclass
class RdapDomain:
    state: str = "active"
    registered: datetime = datetime(2015, 3, 1, 12, 0, tzinfo=UTC)
    expires: datetime = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
    last_changed: datetime = datetime(2024, 2, 20, 9, 30, tzinfo=UTC)
    registrar: str = "Example Registrar, Inc."
    registrar_id: str = "9999"
    nameservers: tuple[str, ...] = ("ns1.dns-host.example", "ns2.dns-host.example")
    events: tuple[tuple[str, datetime], ...] = ()  # extra: ("transfer", when), ...


@dataclass(frozen=True)
class Raw:
    status: int
    body: bytes
    content_type: str = RDAP_JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Redirect:
    """Answer `times` requests with a redirect to `location`, then with `then` (404: None)."""

    location: str
    status: int = 302
    times: int = 1
    then: RdapDomain | Raw | None = None


def _z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(name: str, domain: RdapDomain, base: str, style: str = "verisign") -> dict[str, object]:
    """The RDAP domain object a registry would answer."""
    upper = style == "verisign"
    shown = name.upper() if upper else name
    events = [("registration", domain.registered), ("expiration", domain.expires),
              ("last changed", domain.last_changed), *domain.events]
    return {
        "objectClassName": "domain",
        "handle": f"{abs(hash(name)) % 10**10}_DOMAIN_{name.rsplit('.', 1)[-1].upper()}-VRSN",
        "ldhName": shown,
        "links": [{"value": f"{base}domain/{shown}", "rel": "self",
                   "href": f"{base}domain/{shown}", "type": RDAP_JSON}],
        "status": STATUSES[domain.state],
        "entities": [{
            "objectClassName": "entity", "handle": domain.registrar_id, "roles": ["registrar"],
            "publicIds": [{"type": "IANA Registrar ID", "identifier": domain.registrar_id}],
            "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                     ["fn", {}, "text", domain.registrar]]],
            "entities": [{"objectClassName": "entity", "roles": ["abuse"], "vcardArray": [
                "vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", ""],
                          ["email", {}, "text", "abuse@registrar.example"]]]}],
        }],
        "events": [{"eventAction": a, "eventDate": _z(d)} for a, d in events] + [
            {"eventAction": "last update of RDAP database",
             "eventDate": _z(datetime.now(UTC).replace(microsecond=0))}],
        "secureDNS": {"delegationSigned": False},
        "nameservers": [{"objectClassName": "nameserver",
                         "ldhName": ns.upper() if upper else ns} for ns in domain.nameservers],
        "rdapConformance": ["rdap_level_0", "icann_rdap_technical_implementation_guide_0",
                            "icann_rdap_response_profile_0"],
        "notices": [{"title": "Terms of Use", "description": ["Service subject to Terms of Use."],
                     "links": [{"href": "https://www.example/terms", "type": "text/html"}]}],
    }


def _poisoned(name: str, **changes: object) -> bytes:
    """A registry's answer for `name` with some members replaced."""
    answer = render(name, RdapDomain(), "https://rdap.hostile.example/", "pir")
    answer.update(changes)
    return json.dumps(answer).encode()


def _with_registrar(name: str, registrar: str) -> bytes:
    return json.dumps(render(name, RdapDomain(registrar=registrar), "https://rdap.hostile.example/",
                             "pir")).encode()


def _expiring_on(name: str, date: str) -> bytes:
    return _poisoned(name, events=[{"eventAction": "registration",
                                    "eventDate": "2015-03-01T12:00:00Z"},
                                   {"eventAction": "expiration", "eventDate": date}])


HOSTILE: dict[str, Callable[[str], bytes]] = {
    "deep-nesting": lambda name: b"[" * 100_000 + b"]" * 100_000,
    "huge-number": lambda name: _poisoned(name).replace(
        b'"identifier": "9999"', b'"identifier": ' + b"9" * 5001),
    "invalid-utf8": lambda name: _with_registrar(name, "Registrar SARL").replace(
        b"Registrar SARL", b"Registrar \xff\xfe SARL"),
    "wrong-types": lambda name: _poisoned(name, status="active", events={"expiration": 1},
                                          nameservers="ns1.example"),
    "nul-registrar": lambda name: _with_registrar(name, "Evil\x00 Registrar"),
    "surrogate-registrar": lambda name: _with_registrar(name, "Evil \ud800 Registrar"),
    "year-one": lambda name: _expiring_on(name, "0001-01-01T00:00:00+05:00"),
    "year-9999": lambda name: _expiring_on(name, "9999-12-31T23:59:59Z"),
    "many-nameservers": lambda name: _poisoned(name, nameservers=[
        {"objectClassName": "nameserver", "ldhName": f"ns{i}.example"} for i in range(10_000)]),
    "long-registrar": lambda name: _with_registrar(name, "R" * 100_000),
    "nan": lambda name: _poisoned(name).replace(b'"status": [', b'"status": [NaN, '),
}


class RdapDouble:
    """One registry's RDAP service on a loopback port."""

    def __init__(
        self, style: str = "verisign",
        synthetic: Callable[[str], RdapDomain | None] | None = None,
    ) -> None:
        self.style = style
        self.synthetic = synthetic  # answers for names not set explicitly
        self.domains: dict[str, RdapDomain | Raw | Redirect] = {}
        self.log: list[tuple[float, str, int]] = []  # (time.monotonic(), path, status)
        self.delay = 0.0
        self.bootstrap_tlds: tuple[str, ...] = ("com", "net", "org")
        self._rate: tuple[float, float | str] | None = None  # (requests/s allowed, Retry-After)
        self._throttle: list[float | str] = []  # Retry-After of the next requests
        self._last = float("-inf")
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def set_domain(self, name: str, domain: RdapDomain | None = None) -> None:
        with self._lock:
            self.domains[name] = domain or RdapDomain()

    def set_raw(self, name: str, status: int, body: bytes | str, **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self.domains[name] = Raw(status, data, headers=headers)

    def set_hostile(self, name: str, kind: str, status: int = 200) -> None:
        """Serve the crafted body `HOSTILE[kind]` for `name`."""
        self.set_raw(name, status, HOSTILE[kind](name))

    def set_redirect(self, name: str, location: str, *, status: int = 302, times: int = 1,
                     then: RdapDomain | Raw | None = None) -> None:
        """Redirect the next `times` requests for `name` to `location` (sent as given)."""
        with self._lock:
            self.domains[name] = Redirect(location, status, times, then)

    def limit_rate(self, per_second: float, retry_after: float | str = 1.0) -> None:
        """Answer 429 to requests closer together than 1/per_second."""
        self._rate = (per_second, retry_after)

    def throttle_next(self, count: int, retry_after: float | str) -> None:
        """Answer 429 to the next `count` requests; a str Retry-After is sent as it is."""
        self._throttle.extend([retry_after] * count)

    def expire_in(self, name: str, days: float, state: str = "active") -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        self.set_domain(name, RdapDomain(state=state, expires=now + timedelta(days=days)))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.delay:
            await asyncio.sleep(self.delay)
        name = request.match_info["name"].lower().rstrip(".")
        now = time.monotonic()
        with self._lock:
            answer: web.StreamResponse
            if self._throttle:
                answer = self._too_many(self._throttle.pop(0))
            elif self._rate is not None and now - self._last < 1 / self._rate[0]:
                answer = self._too_many(self._rate[1])
            else:
                self._last = now
                answer = self._domain(name)
            self.log.append((now, request.path, answer.status))
        return answer

    async def _bootstrap(self, request: web.Request) -> web.Response:
        """An IANA-style bootstrap file sending `bootstrap_tlds` here."""
        return web.json_response({
            "description": "RDAP bootstrap file for Domain Name System registrations",
            "publication": _z(datetime.now(UTC)), "version": "1.0",
            "services": [[list(self.bootstrap_tlds), [self.base_url]]],
        })

    async def _other(self, request: web.Request) -> web.Response:
        """Any other path (an "admin endpoint"): logged, so a test sees it was reached."""
        with self._lock:
            self.log.append((time.monotonic(), request.path, 404))
        return web.Response(status=404, text="not here")

    @staticmethod
    def _too_many(retry_after: float | str) -> web.Response:
        text = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
        return web.json_response({"errorCode": 429, "title": "Too Many Requests"}, status=429,
                                 headers={"Retry-After": text}, content_type=RDAP_JSON)

    def _domain(self, name: str) -> web.Response:
        entry = self.domains.get(name)
        if entry is None and self.synthetic is not None:
            entry = self.synthetic(name)
        if isinstance(entry, Redirect):
            if entry.times > 0:
                entry.times -= 1
                return web.Response(status=entry.status, headers={"Location": entry.location})
            entry = entry.then
        if isinstance(entry, Raw):
            return web.Response(status=entry.status, body=entry.body,
                                content_type=entry.content_type, headers=entry.headers)
        if entry is None or entry.state == "unregistered":
            return web.json_response(
                {"errorCode": 404, "title": "Not Found", "description": [f"{name} not found"]},
                status=404, content_type=RDAP_JSON)
        body = json.dumps(render(name, entry, self.base_url, self.style))
        return web.Response(text=body, content_type=RDAP_JSON)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_get("/domain/{name}", self._handle)
        app.router.add_get("/dns.json", self._bootstrap)
        app.router.add_route("*", "/{tail:.*}", self._other)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound}/"
        return self.base_url

    def requests_for(self, name: str) -> list[tuple[float, int]]:
        return [(t, status) for t, path, status in self.log if path.lower().endswith("/" + name)]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
