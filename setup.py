"""Compiles the typosquat detector's hot modules with mypyc; everything else is in
pyproject.toml.

The detector checks every new name against thousands of protected ones; compiled, a
check takes about 60% of the time it takes in pure Python. The compiled modules are
optional: `WARDEN_MYPYC=0` skips them, and a compiler error leaves the pure-Python
package working (`detectors/typosquat/compiled.py` then runs the sources, as it does
when a source has changed since the build).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from setuptools import Extension, setup

PACKAGE = Path("detectors/typosquat")
# The modules on the path of a check; the rest of the package is I/O and settings.
COMPILED = ("affixes", "finder", "index", "keyboard", "matches", "names", "shapes",
            "slips", "techniques", "verdict")
GROUP = "warden_typosquat"  # names the shared library mypyc builds for the group
MANIFEST = PACKAGE / "_compiled.json"


def compiled_extensions() -> list[Extension]:
    sources = [PACKAGE / f"{module}.py" for module in COMPILED]
    compile_them = os.environ.get("WARDEN_MYPYC", "1") != "0"
    # What the import-time check compares the sources with (see compiled.py). Written
    # without a compile too, so an earlier build's modules left in a checkout are not used.
    MANIFEST.write_text(json.dumps({
        "compiled": compile_them,
        "group": f"{GROUP}__mypyc",
        "modules": {path.stem: hashlib.sha256(path.read_bytes()).hexdigest()
                    for path in sources},
    }, indent=1) + "\n")
    if not compile_them:
        return []
    from mypyc.build import mypycify

    extensions = mypycify([str(path) for path in sources], group_name=GROUP)
    for extension in extensions:
        extension.optional = True  # no compiler: install the pure-Python package
    return extensions


setup(ext_modules=compiled_extensions())
