"""A throwaway devpi-server on loopback, for drills, benchmarks and tests.

It runs offline (``--offline-mode``, no ``root/pypi`` mirror): every index made here is
a private stage with no bases, so nothing ever reaches the internet. Needs the
``devpi-server`` package (``devpi-init``, ``devpi-gen-secret``, ``devpi-server``).
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LocalDevpi", "start_local_devpi"]


@dataclass
class LocalDevpi:
    url: str
    root_password: str
    process: subprocess.Popen[bytes]
    log: Path
    argv: tuple[str, ...] = ()  # the command line, so restart() runs the same server

    def restart(self, timeout: float = 90.0) -> None:
        """Stop the server and start it again on the same directory and port."""
        self.stop()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(list(self.argv), stdout=out,
                                            stderr=subprocess.STDOUT)
        _wait_until_up(self, timeout)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def call(self, method: str, path: str, body: Any = None, *, user: str = "root",
             password: str | None = None) -> tuple[int, Any]:
        """One JSON request as ``user`` (root by default); returns (status, document)."""
        token = self._login(user, password or self.root_password)
        req = urllib.request.Request(
            f"{self.url}/{path.lstrip('/')}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Accept": "application/json", "Content-Type": "application/json",
                     "X-Devpi-Auth": token})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def _login(self, user: str, password: str) -> str:
        req = urllib.request.Request(
            f"{self.url}/+login", method="POST",
            data=json.dumps({"user": user, "password": password}).encode(),
            headers={"Accept": "application/json", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            token = json.loads(resp.read())["result"]["password"]
        return base64.b64encode(f"{user}:{token}".encode()).decode()

    def new_user(self, name: str, password: str, email: str) -> None:
        status, _ = self.call("PUT", f"/{name}", {"password": password, "email": email})
        if status not in (200, 201, 409):
            raise RuntimeError(f"devpi: cannot create user {name}: {status}")

    def new_index(self, owner: str, name: str, *, uploaders: list[str]) -> str:
        """A private, non-volatile stage index with no bases; returns ``owner/name``."""
        status, _ = self.call("PUT", f"/{owner}/{name}", {
            "type": "stage", "bases": [], "volatile": False, "acl_upload": uploaders})
        if status not in (200, 201):
            raise RuntimeError(f"devpi: cannot create index {owner}/{name}: {status}")
        return f"{owner}/{name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(server: LocalDevpi, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/+api", timeout=2):
                return
        except OSError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"devpi-server did not start: {server.log.read_text()[-2000:]}"
                                   ) from None
            time.sleep(0.2)


def start_local_devpi(base: Path, *, root_password: str = "root-secret",
                      timeout: float = 90.0, extra_args: tuple[str, ...] = ()) -> LocalDevpi:
    """Initialise a server directory under ``base`` and start devpi-server on it
    (``extra_args`` go to devpi-server, e.g. ``("--role", "primary")`` for replication)."""
    for tool in ("devpi-init", "devpi-gen-secret", "devpi-server"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} not found: install devpi-server")
    server_dir, secret, log = base / "server", base / "secret", base / "server.log"
    subprocess.run(["devpi-init", "--serverdir", str(server_dir), "--no-root-pypi",
                    "--root-passwd", root_password], check=True, capture_output=True)
    subprocess.run(["devpi-gen-secret", "--secretfile", str(secret)], check=True,
                   capture_output=True)
    port = _free_port()
    argv = ("devpi-server", "--serverdir", str(server_dir), "--secretfile", str(secret),
            "--host", "127.0.0.1", "--port", str(port), "--offline-mode", *extra_args)
    with log.open("wb") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT)
    server = LocalDevpi(f"http://127.0.0.1:{port}", root_password, proc, log, argv)
    _wait_until_up(server, timeout)
    return server
