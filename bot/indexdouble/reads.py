"""Read side of the index double: the documents PyPI serves, built from the tables.

Shapes follow pypi/warehouse 6b62157124ab7865029afeeadf282bce27d601d9:
``legacy/api/xmlrpc/views.py`` (changelog_since_serial), ``legacy/api/json.py``
(``_json_data``, latest-release choice, quarantine filtering) and
``packaging/utils.py`` (``_simple_index``, ``_simple_detail``, API version 1.4) with
the ``templates/api/simple/*.html`` markup.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from html import escape
from typing import Any

import sqlalchemy as sa
from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version

from bot.names import canonicalize
from bot.store import warehouse as ws

__all__ = ["SIMPLE_API_VERSION", "ChangelogEntry", "ReadMixin", "clean_for_xml"]

SIMPLE_API_VERSION = "1.4"
ChangelogEntry = tuple[str | None, str | None, int, str | None, int]

_ILLEGAL_XML = re.compile(
    "[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufdd0-\ufddf\ufffe-\uffff"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}-{chr(p * 0x10000 + 0xFFFF)}" for p in range(1, 17))
    + "]"
)
_QUARANTINED = ws.LifecycleStatus.QuarantineEnter


def clean_for_xml(data: str | None) -> str | None:
    """Warehouse's ``_clean_for_xml``: non-ASCII to char refs, illegal XML chars dropped."""
    if not data or (data.isascii() and data.isprintable()):
        return data  # the common case, and 50,000 of them per changelog page
    return _ILLEGAL_XML.sub("", data.encode("ascii", "xmlcharrefreplace").decode("ascii"))


def _parse(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _iso(t: datetime) -> str:
    return t.isoformat() + "Z"


def _visible(col: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return col.is_distinct_from(_QUARANTINED)


class ReadMixin:
    """Queries behind the HTTP endpoints; ``base`` is the server's URL, no trailing slash."""

    engine: sa.Engine

    def changelog_since(self, serial: int, limit: int) -> list[ChangelogEntry]:
        """``changelog_since_serial``: [name, version, unix_ts, action, id], ordered by id."""
        j = ws.journals
        ts = sa.cast(sa.func.strftime("%s", j.c.submitted_date), sa.Integer)
        stmt = (sa.select(j.c.name, j.c.version, ts, j.c.action, j.c.id)
                .where(j.c.id > serial).order_by(j.c.id).limit(limit))
        with self.engine.connect() as c:
            return [(n, v, int(t), clean_for_xml(a), int(i)) for n, v, t, a, i in c.execute(stmt)]

    def _project_row(self, c: sa.Connection, name: str, *, hide_quarantined: bool
                     ) -> sa.Row[Any] | None:
        p = ws.projects
        normalized = canonicalize(name)
        stmt = sa.select(p).where(p.c.normalized_name == normalized)
        if hide_quarantined:
            stmt = stmt.where(_visible(p.c.lifecycle_status))
        return c.execute(stmt).first()

    def json_data(self, name: str, version: str | None, base: str) -> dict[str, Any] | None:
        """``/pypi/<name>[/<version>]/json`` document, or None for PyPI's 404."""
        r, u, ro = ws.releases, ws.users, ws.roles
        with self.engine.connect() as c:
            project = self._project_row(c, name, hide_quarantined=True)
            if project is None:
                return None
            rels = list(c.execute(sa.select(r).where(
                r.c.project_id == project.id, _visible(r.c.lifecycle_status),
            ).order_by(r.c._pypi_ordering.desc())))
            release = _pick_release(rels, version)
            if release is None:
                return None
            shown = rels if version is None else [release]
            files = _files_by_release(c, [x.id for x in shown])
            desc = c.execute(sa.select(ws.release_descriptions).where(
                ws.release_descriptions.c.id == release.description_id)).one()
            deps = list(c.execute(sa.select(ws.release_dependencies.c.specifier).where(
                ws.release_dependencies.c.release_id == release.id,
                ws.release_dependencies.c.kind == int(ws.DependencyKind.requires_dist),
            )).scalars())
            labels = [(x.name, x.url) for x in c.execute(
                sa.select(ws.release_urls).where(ws.release_urls.c.release_id == release.id)
                .order_by(ws.release_urls.c.name))]
            roles = c.execute(sa.select(ro.c.role_name, u.c.username).join(
                u, u.c.id == ro.c.user_id).where(ro.c.project_id == project.id)).all()
        releases = {x.version: [_json_file(f, x, base) for f in files[x.id]] for x in shown}
        data: dict[str, Any] = {
            "info": _info(project, release, desc, deps, _urls(release, labels), base),
            "last_serial": project.last_serial,
            "ownership": {
                "organization": None,
                "roles": sorted(
                    ({"role": role, "user": user} for role, user in roles),
                    key=lambda x: (x["role"] != "Owner", x["user"]),
                ),
            },
            "urls": releases[release.version],
            "vulnerabilities": [],
        }
        if version is None:
            data["releases"] = releases
        return data

    def simple_detail(self, name: str, base: str) -> dict[str, Any] | None:
        """PEP 691 project page (quarantined projects and releases list no files)."""
        f, r, p = ws.release_files, ws.releases, ws.projects
        with self.engine.connect() as c:
            project = self._project_row(c, name, hide_quarantined=False)
            if project is None:
                return None
            rows = list(c.execute(
                sa.select(f, r.c.version, r.c.requires_python.label("rel_requires_python"),
                          r.c.yanked, r.c.yanked_reason)
                .join(r, r.c.id == f.c.release_id).join(p, p.c.id == r.c.project_id)
                .where(p.c.id == project.id, _visible(r.c.lifecycle_status),
                       _visible(p.c.lifecycle_status))))
        rows.sort(key=lambda x: (_parse(x.version), x.filename))
        status = {
            ws.LifecycleStatus.QuarantineEnter: "quarantined",
            ws.LifecycleStatus.Archived: "archived",
            ws.LifecycleStatus.ArchivedNoindex: "archived",
        }.get(project.lifecycle_status, "active")
        return {
            "meta": {"api-version": SIMPLE_API_VERSION, "_last-serial": project.last_serial},
            "name": project.normalized_name,
            "project-status": {"status": status},
            "versions": sorted({x.version for x in rows}, key=_parse),
            "files": [{
                "filename": x.filename,
                "url": f"{base}/packages/{x.path}",
                "hashes": {"sha256": x.sha256_digest},
                "requires-python": x.rel_requires_python or None,
                "size": x.size,
                "upload-time": _iso(x.upload_time),
                "yanked": x.yanked_reason if x.yanked and x.yanked_reason else x.yanked,
                "data-dist-info-metadata": False,
                "core-metadata": False,
                "provenance": None,
            } for x in rows],
        }

    def simple_index(self) -> dict[str, Any]:
        """PEP 691 root page: every project not in quarantine, by normalized name."""
        p, j = ws.projects, ws.journals
        with self.engine.connect() as c:
            serial = c.execute(sa.select(sa.func.max(j.c.id))).scalar() or 0
            rows = c.execute(sa.select(p.c.name, p.c.last_serial).where(
                _visible(p.c.lifecycle_status)).order_by(p.c.normalized_name)).all()
        return {
            "meta": {"api-version": SIMPLE_API_VERSION, "_last-serial": serial},
            "projects": [{"name": n, "_last-serial": s} for n, s in rows],
        }


def _pick_release(rels: list[sa.Row[Any]], version: str | None) -> sa.Row[Any] | None:
    if version is None:
        # latest_release_factory: unyanked first, final before pre-release, then newest.
        ordered = sorted(rels, key=lambda x: (x.yanked, x.is_prerelease is not False,
                                              -(x._pypi_ordering or 0)))
        return ordered[0] if ordered else None
    matches = [x for x in rels if x.canonical_version == canonicalize_version(version)]
    if len(matches) > 1:
        matches = [x for x in matches if x.version == version]
    return matches[0] if len(matches) == 1 else None


def _files_by_release(c: sa.Connection, ids: list[Any]) -> dict[Any, list[sa.Row[Any]]]:
    f = ws.release_files
    out: dict[Any, list[sa.Row[Any]]] = defaultdict(list)
    for row in c.execute(sa.select(f).where(f.c.release_id.in_(ids)).order_by(f.c.filename)):
        out[row.release_id].append(row)
    return out


def _json_file(f: sa.Row[Any], r: sa.Row[Any], base: str) -> dict[str, Any]:
    return {
        "comment_text": f.comment_text,
        "core-metadata": ({"sha256": f.metadata_file_sha256_digest}
                          if f.metadata_file_sha256_digest else False),
        "digests": {"blake2b_256": f.blake2_256_digest, "md5": f.md5_digest,
                    "sha256": f.sha256_digest},
        "downloads": -1,
        "filename": f.filename,
        "has_sig": False,
        "md5_digest": f.md5_digest,
        "packagetype": str(f.packagetype),
        "python_version": f.python_version,
        "requires_python": r.requires_python or None,
        "size": f.size,
        "upload_time": f.upload_time.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": _iso(f.upload_time),
        "url": f"{base}/packages/{f.path}",
        "yanked": r.yanked,
        "yanked_reason": r.yanked_reason or None,
    }


def _urls(release: sa.Row[Any], labels: list[tuple[str, str]]) -> dict[str, str]:
    # Release.urls: Homepage and Download first, then project URLs minus duplicates.
    urls: dict[str, str] = {}
    if release.home_page:
        urls["Homepage"] = release.home_page
    if release.download_url:
        urls["Download"] = release.download_url
    for label, url in labels:
        key = re.sub(r"[-_.\s]+", "", label).lower()
        if (key, url) not in {("homepage", urls.get("Homepage")),
                              ("downloadurl", urls.get("Download"))}:
            urls[label] = url
    return urls


def _info(project: sa.Row[Any], release: sa.Row[Any], desc: sa.Row[Any], deps: list[str],
          urls: dict[str, str], base: str) -> dict[str, Any]:
    name, version = project.name, release.version
    return {
        "author": release.author,
        "author_email": release.author_email,
        "bugtrack_url": None,
        "classifiers": [],
        "description": desc.raw,
        "description_content_type": desc.content_type,
        "docs_url": f"https://pythonhosted.org/{name}/" if project.has_docs else None,
        "download_url": release.download_url,
        "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
        "dynamic": None,
        "home_page": release.home_page,
        "keywords": release.keywords,
        "license": release.license,
        "license_expression": release.license_expression,
        "license_files": None,
        "maintainer": release.maintainer,
        "maintainer_email": release.maintainer_email,
        "name": name,
        "package_url": f"{base}/project/{name}/",
        "platform": release.platform,
        "project_url": f"{base}/project/{name}/",
        "project_urls": urls or None,
        "provides_extra": None,
        "release_url": f"{base}/project/{name}/{version}/",
        "requires_dist": deps or None,
        "requires_python": release.requires_python,
        "summary": release.summary,
        "version": version,
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason or None,
    }


def simple_detail_html(data: dict[str, Any]) -> str:
    """``templates/api/simple/detail.html`` for a :meth:`ReadMixin.simple_detail` document."""
    links = []
    for f in data["files"]:
        attrs = f'href="{escape(f["url"])}#sha256={f["hashes"]["sha256"]}" '
        if f["requires-python"]:
            attrs += f'data-requires-python="{escape(f["requires-python"])}" '
        if f["yanked"]:
            reason = f["yanked"] if isinstance(f["yanked"], str) else ""
            attrs += f'data-yanked="{escape(reason)}" '
        links.append(f"    <a {attrs}>{escape(f['filename'])}</a><br />\n")
    name, meta = escape(data["name"]), data["meta"]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n  <head>\n'
        f'    <meta name="pypi:repository-version" content="{meta["api-version"]}">\n'
        f'    <meta name="pypi:project-status" content="{data["project-status"]["status"]}">\n'
        f"    <title>Links for {name}</title>\n  </head>\n  <body>\n"
        f"    <h1>Links for {name}</h1>\n{''.join(links)}  </body>\n</html>\n"
        f"<!--SERIAL {meta['_last-serial']}-->"
    )
