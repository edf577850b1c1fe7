"""Whether the detector's hot modules run compiled (mypyc, see setup.py) or from source.

Compiled modules sit next to their sources and Python imports them first. They are
used only while they are what the sources say: the build writes each source's digest
to `_compiled.json`, and if a source has changed since (an edit, a checkout), a module
or the group's shared library is missing (no compiler at install time), the last build
did not compile (`WARDEN_MYPYC=0`), or `WARDEN_TYPOSQUAT_SOURCES=1` asks for it
(debugging, profiling, tests that patch internals), a finder put first on
`sys.meta_path` imports every one of them from source.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = "detectors.typosquat"
HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "_compiled.json"
FORCE_SOURCES = "WARDEN_TYPOSQUAT_SOURCES"


class SourcesFirst(importlib.abc.MetaPathFinder):
    """Imports the named modules of this package from their .py files."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = frozenset(modules)

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        package, _, module = fullname.rpartition(".")
        if package != PACKAGE or module not in self.modules:
            return None
        return importlib.util.spec_from_file_location(fullname, HERE / f"{module}.py")


def built(module: str) -> bool:
    """Whether the install left a compiled module for `module` next to its source."""
    return any((HERE / f"{module}{suffix}").exists()
               for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def stale_modules(digests: dict[str, str]) -> list[str]:
    """The compiled modules whose source differs from the one they were built from."""
    return sorted(module for module, digest in digests.items()
                  if hashlib.sha256((HERE / f"{module}.py").read_bytes()).hexdigest() != digest)


def usable(manifest: dict[str, Any]) -> bool:
    """Whether the compiled modules are built, there, current, and not declined."""
    group: str = manifest["group"]
    digests: dict[str, str] = manifest["modules"]
    if not manifest["compiled"] or os.environ.get(FORCE_SOURCES, "") not in ("", "0"):
        return False
    if not all(map(built, digests)) or importlib.util.find_spec(group) is None:
        return False  # the compiler failed or was absent: the pure-Python package is the install
    if stale := stale_modules(digests):
        warnings.warn(f"the compiled typosquat modules are older than their sources "
                      f"({', '.join(stale)}); running them from source, which is slower. "
                      f"Reinstall (pip install -e .) to compile them again.",
                      RuntimeWarning, stacklevel=3)
        return False
    return True


def choose() -> bool:
    """Decide once, before any of the modules is imported; True if compiled ones are used."""
    try:
        manifest = json.loads(MANIFEST.read_text())
    except FileNotFoundError:
        return False  # never built here (sources on the path): there is nothing to shadow
    if usable(manifest):
        return True
    sys.meta_path.insert(0, SourcesFirst(list(manifest["modules"])))
    return False


IN_USE = choose()
