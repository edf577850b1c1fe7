"""The index double's HTTP face: PyPI's XML-RPC changelog, JSON API, simple API and files.

Routes and shapes follow pypi/warehouse 6b62157124ab7865029afeeadf282bce27d601d9
(``legacy/api/xmlrpc/views.py``, ``legacy/api/json.py``, ``api/simple.py``; faults as
pyramid_rpc renders them, ``allow_none=True``). Store calls run in a worker thread so
a slow fault or a large changelog page never stalls other requests. ``/_double/*``
controls faults and exposes the request log to tests that run the server as a
subprocess; those requests are neither recorded nor faulted.
"""

from __future__ import annotations

import asyncio
import json
import xmlrpc.client
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

import defusedxml.ElementTree
from aiohttp import web

from .faults import DATA_FAULTS, Fault, FaultPlan, dumps_page, render_fault
from .reads import simple_detail_html
from .store import IndexDoubleStore, normalize_name

__all__ = ["DEFAULT_PAGE_SIZE", "IndexDoubleServer", "RecordedRequest"]

DEFAULT_PAGE_SIZE = 50_000  # PyPI's limit on changelog_since_serial
XMLRPC_PATHS = ("/pypi", "/pypi/", "/RPC2")
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
_SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
_NOT_FOUND = {"message": "Not Found"}
_RpcCall = tuple[str | None, tuple[Any, ...] | Exception]
_RPC: web.RequestKey[_RpcCall] = web.RequestKey("rpc")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the double answered (``rpc_method`` for XML-RPC calls)."""

    method: str
    path: str
    rpc_method: str | None = None


class _RpcFault(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.fault = xmlrpc.client.Fault(code, message)


class IndexDoubleServer:
    """An aiohttp server over an :class:`IndexDoubleStore`; ``start()`` returns its URL."""

    def __init__(self, store: IndexDoubleStore, *, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.store = store
        self.page_size = page_size
        self.faults = FaultPlan()
        self.requests: list[RecordedRequest] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes([
            *(web.post(p, self._xmlrpc) for p in XMLRPC_PATHS),
            web.get("/pypi/{name}/json", self._json),
            web.get("/pypi/{name}/json/", self._json),
            web.get("/pypi/{name}/{version}/json", self._json),
            web.get("/pypi/{name}/{version}/json/", self._json),
            web.get("/simple/", self._simple_index),
            web.get("/simple/{name}/", self._simple_detail),
            web.get("/simple/{name}", self._add_slash),
            web.get("/packages/{path:.+}", self._package),
            web.post("/_double/faults", self._add_fault),
            web.delete("/_double/faults", self._clear_faults),
            web.get("/_double/requests", self._list_requests),
            web.delete("/_double/requests", self._clear_requests),
        ])
        # Short shutdown: a client that gave up on a "slow" answer must not hold stop().
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        self.url = f"http://{shown}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> IndexDoubleServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    # -- plumbing ------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/_double/"):
            response: web.StreamResponse = await handler(request)
            return response
        is_rpc = request.method == "POST" and request.path in XMLRPC_PATHS
        rpc_method = None
        if is_rpc:
            request[_RPC] = _parse_rpc(await request.read())
            rpc_method = request[_RPC][0]
        self.requests.append(RecordedRequest(request.method, request.path, rpc_method))
        fault = self.faults.take(request.path, rpc_method)
        if fault is not None and fault.kind in DATA_FAULTS:
            return await self._render(fault, request, is_rpc)
        if fault is not None:
            return await render_fault(fault, request, handler, xml=is_rpc)
        response = await handler(request)
        return response

    async def _render(self, fault: Fault, request: web.Request, is_rpc: bool) -> web.Response:
        """The hostile answers made of the index's own data."""
        if fault.kind == "mismatch":
            data = await asyncio.to_thread(self.store.json_data, fault.other, None,
                                           self._base(request))
            return web.json_response(data if data is not None else _NOT_FOUND,
                                     status=200 if data is not None else 404)
        _, params = request[_RPC]
        assert not isinstance(params, Exception) and params  # matched changelog_since_serial
        asked = int(params[0])
        since = {"resend": fault.since, "overlap": max(0, asked - fault.back)}.get(fault.kind, asked)
        page: list[Any] = [list(e) for e in await asyncio.to_thread(
            self.store.changelog_since, since, self.page_size)]
        if fault.kind == "poison":
            page += [list(e) if isinstance(e, list | tuple) else e for e in fault.entries]
        return web.Response(body=dumps_page(page), content_type="text/xml", charset="utf-8")

    @staticmethod
    def _base(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    # -- XML-RPC -------------------------------------------------------------

    async def _xmlrpc(self, request: web.Request) -> web.Response:
        method, params = request[_RPC]
        body = await asyncio.to_thread(self._call, method, params)
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    def _call(self, method: str | None, params: tuple[Any, ...] | Exception) -> bytes:
        try:
            if isinstance(params, Exception):
                raise _RpcFault(-32700, "parse error; not well formed")
            result = self._dispatch(method, params)
            payload: Any = (result,)
        except _RpcFault as exc:
            payload = exc.fault
        text = xmlrpc.client.dumps(payload, methodresponse=True, allow_none=True)
        return text.encode("utf-8")

    def _dispatch(self, method: str | None, params: tuple[Any, ...]) -> Any:
        if method == "changelog_last_serial" and not params:
            return self.store.last_serial()
        if method == "changelog_since_serial":
            if len(params) != 1 or type(params[0]) is not int:
                raise _RpcFault(-32602, "client error; serial: Input should be a valid integer")
            return [list(e) for e in self.store.changelog_since(params[0], self.page_size)]
        if method == "changelog":
            raise _RpcFault(-32500, "ValueError: The changelog method has been deprecated, "
                                    "use changelog_since_serial instead.")
        raise _RpcFault(-32601, "server error; requested method not found")

    # -- JSON API ------------------------------------------------------------

    async def _json(self, request: web.Request) -> web.Response:
        name, version = request.match_info["name"], request.match_info.get("version")
        data = await asyncio.to_thread(self.store.json_data, name, version, self._base(request))
        if data is None:
            return web.json_response(_NOT_FOUND, status=404)
        normalized = normalize_name(name)
        if name != normalized:
            # json_project: redirect to the normalized name, as PyPI does.
            raise web.HTTPMovedPermanently(request.path.replace(f"/{name}/", f"/{normalized}/", 1))
        return web.json_response(data, headers={"X-PyPI-Last-Serial": str(data["last_serial"])},
                                 dumps=lambda o: json.dumps(o) + "\n")

    # -- simple API ----------------------------------------------------------

    async def _add_slash(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(f"/simple/{request.match_info['name']}/")

    async def _simple_index(self, request: web.Request) -> web.Response:
        data = await asyncio.to_thread(self.store.simple_index)
        headers = {"X-PyPI-Last-Serial": str(data["meta"]["_last-serial"]), "Vary": "Accept"}
        if _negotiate(request) == _SIMPLE_JSON:
            return web.Response(text=json.dumps(data) + "\n", content_type=_SIMPLE_JSON,
                                headers=headers)
        links = "".join(
            f'    <a href="/simple/{normalize_name(p["name"])}/">{p["name"]}</a>\n'
            for p in data["projects"])
        html = ('<!DOCTYPE html>\n<html>\n  <head>\n'
                f'    <meta name="pypi:repository-version" content="{data["meta"]["api-version"]}">'
                f"\n    <title>Simple index</title>\n  </head>\n  <body>\n{links}  </body>\n"
                f"</html>\n<!--SERIAL {data['meta']['_last-serial']}-->")
        return web.Response(text=html, content_type="text/html", headers=headers)

    async def _simple_detail(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = await asyncio.to_thread(self.store.simple_detail, name, self._base(request))
        if data is None:
            return web.Response(status=404, text="404 Not Found\n")
        if name != data["name"]:
            raise web.HTTPMovedPermanently(f"/simple/{data['name']}/")
        headers = {"X-PyPI-Last-Serial": str(data["meta"]["_last-serial"]), "Vary": "Accept"}
        chosen = _negotiate(request)
        if chosen == _SIMPLE_JSON:
            return web.Response(text=json.dumps(data) + "\n", content_type=_SIMPLE_JSON,
                                headers=headers)
        return web.Response(text=simple_detail_html(data), content_type=chosen, headers=headers)

    # -- files ---------------------------------------------------------------

    async def _package(self, request: web.Request) -> web.Response:
        root = (self.store.files_dir / "packages").resolve()
        blob = (root / request.match_info["path"]).resolve()
        if not blob.is_relative_to(root) or not blob.is_file():
            return web.Response(status=404, text="404 Not Found\n")
        body = await asyncio.to_thread(blob.read_bytes)
        return web.Response(body=body, content_type="application/octet-stream")

    # -- /_double control ----------------------------------------------------

    async def _add_fault(self, request: web.Request) -> web.Response:
        try:
            fault = self.faults.add_from_json(await request.json())
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"queued": asdict(fault), "pending": len(self.faults)},
                                 status=201)

    async def _clear_faults(self, request: web.Request) -> web.Response:
        return web.json_response({"cleared": self.faults.clear()})

    async def _list_requests(self, request: web.Request) -> web.Response:
        return web.json_response([asdict(r) for r in self.requests])

    async def _clear_requests(self, request: web.Request) -> web.Response:
        n = len(self.requests)
        self.requests.clear()
        return web.json_response({"cleared": n})


def _parse_rpc(body: bytes) -> _RpcCall:
    """(method name, params) of an XML-RPC call; DTDs and entities are refused first."""
    try:
        defusedxml.ElementTree.fromstring(body)
        params, method = xmlrpc.client.loads(body)
    except Exception as exc:  # any malformed request becomes a parse-error fault
        return None, exc
    return method, params


def _negotiate(request: web.Request) -> str:
    """Warehouse's ``_select_content_type``: best q wins, server order breaks ties."""
    offers = ["text/html", _SIMPLE_HTML, _SIMPLE_JSON]
    header = request.headers.get("Accept", "")
    if not header.strip():
        return "text/html"
    best: tuple[float, int, str] | None = None
    for part in header.split(","):
        media, *options = (s.strip() for s in part.split(";"))
        q = 1.0
        for opt in options:
            if opt.startswith("q="):
                try:
                    q = float(opt[2:])
                except ValueError:
                    q = 0.0
        for rank, offer in enumerate(offers):
            wildcard = media in ("*/*", f"{offer.split('/')[0]}/*")
            if q > 0 and (media == offer or wildcard):
                candidate = (q, -rank, offer)
                if best is None or candidate > best:
                    best = candidate
    return best[2] if best else "text/html"
