"""End to end: a look-alike project created on the local PyPI test server (the index
double, over HTTP) becomes one typosquat incident after `feed sync`, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.config import load_settings
from bot.store.models import Incident
from bot.wiring import Warden
from detectors.typosquat.detector import TyposquatDetector
from tests.support.indexdouble import IndexDouble

T0 = datetime(2024, 3, 27, 9, tzinfo=UTC)


async def test_create_on_the_index_raises_an_incident(
    index_double: IndexDouble, store_url: str
) -> None:
    s = index_double.store
    s.create_project("requests", "nateprewitt", at=T0)
    s.add_release("requests", "2.31.0", [("requests-2.31.0.tar.gz", b"real")], at=T0)
    s.create_project("reqeusts", "mallory", at=T0 + timedelta(days=1))
    s.add_release("reqeusts", "2.31.0", [("reqeusts-2.31.0.tar.gz", b"evil sdist"),
                                         ("reqeusts-2.31.0-py3-none-any.whl", b"evil wheel")],
                  uploader="mallory", at=T0 + timedelta(days=1))
    s.create_project("a-new-honest-project", "alice", at=T0 + timedelta(days=2))

    settings = load_settings(
        store={"url": store_url},
        index={"url": index_double.url, "backoff_seconds": 0.05, "max_retries": 2},
        feed={"start_serial": 0}, critical={"top": "0"}, notify={"console": False},
    )
    # The configured default: the top 15,000 of the bundled download list.
    warden = await Warden.open(settings, detectors=[TyposquatDetector(
        settings.typosquat, extra_protected=tuple(settings.critical.projects),
        index_url=settings.index.url)])
    try:
        result = await warden.feed.sync()
        async with warden.sessions() as session:
            incidents = list((await session.execute(select(Incident))).scalars())
    finally:
        await warden.close()

    assert result.events >= 8
    [incident] = incidents
    assert (incident.detector, incident.kind, incident.subject, incident.status) == (
        "typosquat", "typosquat", "project:reqeusts", "open")
    evidence = {e["summary"] for e in incident.evidence}
    assert "`reqeusts` is `requests` with `ue` transposed" in evidence
    assert "uploaded by mallory" in evidence
    assert "2 file(s) in release(s) 2.31.0" in evidence
    assert incident.evidence[0]["url"] == f"{index_double.url}/project/reqeusts/"
