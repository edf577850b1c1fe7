"""The ``devpi`` backend: a devpi-server over its REST API (checked against devpi-server 6.20).

Logs in at ``POST /+login`` and sends ``X-Devpi-Auth: base64(user:token)``. A restore
re-uploads each file from storage (``POST /<user>/<index>/`` with ``:action`` =
``file_upload``; the release's metadata is registered first with ``:action`` =
``submit``); devpi answers an identical re-upload with 200, and this backend checks the
project's links first anyway, so a resumed restore uploads nothing twice.

What devpi cannot do, this backend refuses with the reason (``unsupported()``): yank
(devpi-server 6 has no yank for private indexes), quarantine (of projects and of
releases), email verification and password-reset flags (devpi keeps neither), prohibited
email domains and remove-malware (no prohibited names, no account freeze). Freeze is
**partial** on devpi: it takes the user out of ``acl_upload`` of every index that lists
them, which stops uploads to other users' indexes; the user can still log in, still owns
(and may reconfigure) their own indexes, and may still delete entries where they have
rights.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from bot.names import canonicalize
from playbooks.base import StepFailed, Unsupported
from playbooks.index_admin.base import (
    DomainUse,
    FileSpec,
    IndexAccount,
    IndexConflict,
    IndexEmail,
    IndexFile,
    IndexProject,
    IndexRelease,
    MalwareReport,
    ProjectSpec,
    ReleaseSpec,
)

__all__ = ["CONNECT_TIMEOUT", "DevpiAdmin", "DevpiError", "DevpiUnavailable"]

CONNECT_TIMEOUT = 15.0  # seconds for the login and the index check when opening

_UNSUPPORTED = {
    "yank": "devpi-server 6 does not support yanking releases on private indexes; "
            "remove the release or freeze the uploader instead",
    "quarantine": "devpi has no project quarantine",
    "unverify-email": "devpi keeps no verified flag for email addresses",
    "prohibit-password-reset": "devpi has no password-reset prohibition",
    "quarantine-release": "devpi has no release quarantine",
    "prohibit-email-domain": "devpi has no prohibited email domains",
    "remove-malware": "devpi can neither prohibit a project name nor freeze an account, "
                      "so it cannot remove a project as malware (quarantine is missing too)",
}
_JSON = {"Accept": "application/json"}


def _files(versiondata: dict[str, Any]) -> list[IndexFile]:
    files = []
    for link in versiondata.get("+links", ()):
        if link.get("rel") == "releasefile":
            sha256 = link.get("hashes", {}).get("sha256") or \
                link.get("hash_spec", "").removeprefix("sha256=")
            files.append(IndexFile(link["href"].rsplit("/", 1)[-1], sha256))
    return files


class DevpiError(StepFailed):
    """devpi-server answered with an error."""


class DevpiUnavailable(Exception):
    """The configured devpi-server cannot be used; ``str()`` says why and which setting
    to check."""


class DevpiAdmin:
    """One devpi index (``user/index``) as seen by an admin user (root or the owner)."""

    kind = "devpi"

    def __init__(self, session: aiohttp.ClientSession, url: str, index: str, user: str,
                 password: str) -> None:
        self._session = session
        self.url = url.rstrip("/")
        self.index = index.strip("/")
        self._user, self._password = user, password
        self._auth: str | None = None

    @classmethod
    async def open(cls, url: str, index: str, user: str, password: str,
                   io_timeout: float = 60.0) -> DevpiAdmin:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=io_timeout))
        return cls(session, url, index, user, password)

    @classmethod
    async def connect(cls, url: str, index: str, user: str, password: str,
                      io_timeout: float = 60.0) -> DevpiAdmin:
        """``open()``, then log in and look the index up, so a wrong URL, a server that
        is down, a wrong password or a missing index is said once, before any plan."""
        admin = await cls.open(url, index, user, password, io_timeout)
        try:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await admin._check()
            except TimeoutError:
                raise DevpiUnavailable(f"devpi-server at {admin.url} did not answer within "
                                       f"{CONNECT_TIMEOUT:.0f} s (playbooks.devpi_url)") from None
        except BaseException:
            await admin.close()
            raise
        return admin

    async def _check(self) -> None:
        try:
            self._auth = await self._login()
            config = await self._json(self.index)
        except DevpiError as exc:
            raise DevpiUnavailable(f"{exc} (check playbooks.devpi_user and "
                                   "WARDEN_PLAYBOOKS_DEVPI_PASSWORD)") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            why = (" ".join(str(exc).split()) or type(exc).__name__)[:300]
            raise DevpiUnavailable(f"cannot reach devpi-server at {self.url} "
                                   f"(playbooks.devpi_url): {why}") from None
        if config is None:
            raise DevpiUnavailable(f"devpi-server at {self.url} has no index {self.index!r} "
                                   "(playbooks.devpi_index)")

    async def close(self) -> None:
        await self._session.close()

    def unsupported(self, action: str) -> str | None:
        return _UNSUPPORTED.get(action)

    # -- HTTP ------------------------------------------------------------------

    async def _login(self) -> str:
        async with self._session.post(f"{self.url}/+login", headers=_JSON,
                                      json={"user": self._user, "password": self._password}
                                      ) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200:
                raise DevpiError(f"devpi login as {self._user!r} failed: "
                                 f"{resp.status} {body.get('message', '')}")
        token = f"{self._user}:{body['result']['password']}"
        return base64.b64encode(token.encode()).decode()

    async def _request(self, method: str, path: str, *, ok: Sequence[int] = (200, 201),
                       absent: Sequence[int] = (404,),
                       form: Callable[[], aiohttp.FormData] | None = None,
                       body: Any = None, accept: str = "application/json"
                       ) -> tuple[int, bytes]:
        """One request with the login token (logging in again once if it expired)."""
        url = path if path.startswith("http") else f"{self.url}/{path.lstrip('/')}"
        for attempt in (1, 2):
            if self._auth is None:
                self._auth = await self._login()
            headers = {"Accept": accept, "X-Devpi-Auth": self._auth}
            # A form is built anew per attempt: aiohttp consumes it when sending.
            async with self._session.request(method, url, headers=headers, json=body,
                                             data=form() if form else None) as resp:
                body = await resp.read()
                if resp.status == 401 and attempt == 1:
                    self._auth = None
                    continue
                if resp.status in ok or resp.status in absent:
                    return resp.status, body
                raise DevpiError(f"devpi {method} {url}: {resp.status} {body[:300]!r}")
        raise DevpiError(f"devpi {method} {url}: not authorized as {self._user!r}")

    async def _json(self, path: str) -> dict[str, Any] | None:
        status, body = await self._request("GET", path)
        if status != 200:
            return None
        data = json.loads(body)
        result: dict[str, Any] = data.get("result", {})
        return result

    # -- reads -----------------------------------------------------------------

    async def project(self, name: str) -> IndexProject | None:
        versions = await self._json(f"{self.index}/{canonicalize(name)}?ignore_bases")
        if versions is None:
            return None
        releases = {version: IndexRelease(version, files={f.filename: f for f in _files(data)})
                    for version, data in versions.items()}
        return IndexProject(name=canonicalize(name), releases=releases)

    async def _release_links(self, project: str, version: str) -> dict[str, IndexFile] | None:
        """The files of one release, or None if the release does not exist."""
        data = await self._json(f"{self.index}/{canonicalize(project)}/{version}")
        if data is None:
            return None
        return {f.filename: f for f in _files(data)}

    async def _hrefs(self, project: str, version: str) -> dict[str, str]:
        data = await self._json(f"{self.index}/{canonicalize(project)}/{version}") or {}
        return {link["href"].rsplit("/", 1)[-1]: link["href"]
                for link in data.get("+links", ()) if link.get("rel") == "releasefile"}

    async def _users(self) -> dict[str, Any]:
        return await self._json("") or {}

    def _as_account(self, username: str, users: dict[str, Any]) -> IndexAccount:
        uploads = tuple(sorted(
            f"{owner}/{index}" for owner, cfg in users.items()
            for index, ixcfg in (cfg.get("indexes") or {}).items()
            if username in (ixcfg.get("acl_upload") or ())))
        email = users[username].get("email")
        # devpi records an address but never whether it was verified.
        return IndexAccount(username=username, frozen=None, password_reset_prohibited=None,
                            emails=(IndexEmail(email, False, True),) if email else (),
                            upload_indexes=uploads)

    async def account(self, username: str) -> IndexAccount | None:
        users = await self._users()
        return self._as_account(username, users) if username in users else None

    async def email_owner(self, email: str) -> IndexAccount | None:
        users = await self._users()
        for username, cfg in users.items():
            if (cfg.get("email") or "").lower() == email.lower():
                return self._as_account(username, users)
        return None

    async def fetch_file(self, project: str, version: str, filename: str) -> bytes | None:
        href = (await self._hrefs(project, version)).get(filename)
        if href is None:
            return None
        # Accept: */* -- with application/json devpi describes the file instead.
        status, body = await self._request("GET", href, accept="*/*")
        return body if status == 200 else None

    # -- restore ---------------------------------------------------------------

    async def create_project(self, spec: ProjectSpec, actor: str) -> bool:
        return False  # devpi creates a project with its first release

    async def create_release(self, project: str, spec: ReleaseSpec, actor: str) -> bool:
        if await self._release_links(project, spec.version) is not None:
            return False

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            for key, value in ((":action", "submit"), ("name", project),
                               ("version", spec.version),
                               ("requires_python", spec.requires_python or "")):
                data.add_field(key, value)
            for requirement in spec.requires_dist:
                data.add_field("requires_dist", requirement)
            return data

        await self._request("POST", f"{self.index}/", form=form, absent=())
        return True

    async def add_file(self, project: str, spec: FileSpec, blob: bytes, actor: str) -> bool:
        # Checked first: a volatile devpi index would silently overwrite a different file.
        present = (await self._release_links(project, spec.version) or {}).get(spec.filename)
        if present is not None:
            if present.sha256.lower() == spec.sha256.lower():
                return False
            raise IndexConflict(f"devpi already has {spec.filename} with sha256 "
                                f"{present.sha256}, not {spec.sha256}")

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field(":action", "file_upload")
            data.add_field("name", project)
            data.add_field("version", spec.version)
            data.add_field("content", blob, filename=spec.filename,
                           content_type="application/octet-stream")
            return data

        await self._request("POST", f"{self.index}/", form=form, absent=())
        return True

    async def remove_project(self, project: str, actor: str = "") -> bool:
        """Delete a project from the index (not a playbook: for drills and tests)."""
        status, _ = await self._request("DELETE", f"{self.index}/{canonicalize(project)}?force")
        return status == 200

    # -- accounts --------------------------------------------------------------

    async def set_frozen(self, username: str, frozen: bool, actor: str,
                         indexes: Sequence[str] = ()) -> bool:
        changed = False
        for index in indexes:
            config = await self._json(index)
            if config is None:
                raise StepFailed(f"devpi index {index!r} does not exist")
            listed = username in (config.get("acl_upload") or ())
            if listed != frozen:
                continue  # already as asked
            op = "-=" if frozen else "+="
            await self._request("PATCH", index, body=[f"acl_upload{op}{username}"], absent=())
            changed = True
        return changed

    async def set_yanked(self, project: str, version: str, yanked: bool, reason: str,
                         actor: str) -> bool:
        raise Unsupported(_UNSUPPORTED["yank"])

    async def set_password_reset_prohibited(self, username: str, prohibited: bool,
                                            actor: str) -> bool:
        raise Unsupported(_UNSUPPORTED["prohibit-password-reset"])

    async def unverify_email(self, email: str, actor: str, reason: str = "") -> bool:
        raise Unsupported(_UNSUPPORTED["unverify-email"])

    async def set_quarantined(self, project: str, quarantined: bool, actor: str) -> bool:
        raise Unsupported(_UNSUPPORTED["quarantine"])

    async def set_release_quarantined(self, project: str, version: str, quarantined: bool,
                                      actor: str) -> bool:
        raise Unsupported(_UNSUPPORTED["quarantine-release"])

    async def author_problem(self, actor: str) -> str | None:
        return None  # devpi records every change as made by the bot's own login

    async def email_domain(self, domain: str, account: str) -> DomainUse:
        raise Unsupported(_UNSUPPORTED["prohibit-email-domain"])

    async def prohibit_email_domain(self, domain: str, actor: str, comment: str) -> bool:
        raise Unsupported(_UNSUPPORTED["prohibit-email-domain"])

    async def malware_reports(self, project: str) -> tuple[MalwareReport, ...]:
        return ()  # devpi keeps no malware reports

    async def project_name_prohibited(self, name: str) -> str | None:
        return None  # devpi prohibits no names

    async def freeze_for_malware(self, username: str, project: str, actor: str) -> bool:
        raise Unsupported(_UNSUPPORTED["remove-malware"])

    async def record_malware_verdict(self, project: str, verdict: str, actor: str,
                                     report_ids: Sequence[str], extra: dict[str, object]
                                     ) -> bool:
        raise Unsupported(_UNSUPPORTED["remove-malware"])

    async def prohibit_project_name(self, name: str, actor: str,
                                    observation_kind: str | None) -> bool:
        raise Unsupported(_UNSUPPORTED["remove-malware"])

    async def allow_project_name(self, name: str, actor: str) -> bool:
        return False  # nothing is ever prohibited on devpi

    async def remove_release(self, project: str, version: str, actor: str,
                             reason: str) -> bool:
        raise Unsupported(_UNSUPPORTED["remove-malware"])
