"""Which devpi indexes would serve PyPI's project of a given name, as devpi decides it.

devpi-server (model.py ``sro()`` and ``get_mirror_whitelist_info``): an index resolves a
name through its stage resolution order (itself, then its bases breadth-first, mirror
bases such as ``root/pypi`` last). When a private stage in that order has the project,
the mirror is not asked for it unless the name (or ``*``) is in the ``mirror_whitelist``
accumulated along the way (``union`` or ``intersection`` of the stages' lists). So an
internal name is shielded from PyPI on an index that inherits from both, unless
whitelisted; a look-alike name is never shielded (no private stage has it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from bot.names import canonicalize
from bot.store.devpi_models import DevpiIndex

__all__ = ["Exposure", "exposures", "sro"]


@dataclass(frozen=True, slots=True)
class Exposure:
    index: str  # the index a client installs from
    mirror: str  # the mirror base (PyPI) in its resolution order
    served: bool  # True: devpi would serve PyPI's project of that name from this index
    why: str


def sro(name: str, indexes: Mapping[str, DevpiIndex]) -> Iterator[DevpiIndex]:
    """devpi's stage resolution order for index `name` (missing bases skipped)."""
    todo: list[str] = [name]
    mirrors: list[str] = []
    seen: set[str] = set()
    while todo:
        current = indexes.get(todo.pop(0))
        if current is None:
            continue
        yield current
        seen.add(current.name)
        for base in current.bases or ():
            if base in seen or base not in indexes:
                continue
            seen.add(base)
            (mirrors if indexes[base].type == "mirror" else todo).append(base)
    for base in mirrors:
        yield indexes[base]


def _whitelisted(name: str, stage: DevpiIndex, whitelist: set[str] | None, inheritance: str
                 ) -> set[str]:
    own = {n if n == "*" else canonicalize(n) for n in stage.mirror_whitelist or ()}
    if whitelist is None:
        return own
    return whitelist | own if inheritance == "union" else whitelist & own


def exposures(name: str, private: Collection[str], indexes: Mapping[str, DevpiIndex]
              ) -> list[Exposure]:
    """For every live stage index with a mirror in its resolution order, whether it would
    serve PyPI's `name`; `private` are the indexes that hold a project of that name."""
    wanted = canonicalize(name)
    found: list[Exposure] = []
    for start in sorted(n for n, i in indexes.items()
                        if i.removed_at is None and i.type != "mirror"):
        private_hit, whitelisted, whitelist = False, False, None
        inheritance = indexes[start].whitelist_inheritance or "union"
        for stage in sro(start, indexes):
            if stage.type == "mirror":
                if private_hit and not whitelisted:
                    found.append(Exposure(start, stage.name, False,
                                          f"devpi shields it: {wanted} is private on this "
                                          "index's path and not in its mirror_whitelist"))
                elif private_hit:
                    found.append(Exposure(start, stage.name, True,
                                          f"{wanted} is in the mirror_whitelist: devpi "
                                          f"serves {stage.name}'s files beside the private "
                                          "ones"))
                else:
                    found.append(Exposure(start, stage.name, True,
                                          f"no private stage on this index's path has {wanted}"
                                          f": devpi serves it from {stage.name}"))
                break
            private_hit = private_hit or stage.name in private
            whitelist = _whitelisted(wanted, stage, whitelist, inheritance)
            whitelisted = whitelisted or bool(whitelist & {"*", wanted})
    return found
