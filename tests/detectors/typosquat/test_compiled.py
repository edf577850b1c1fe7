"""The compiled (mypyc) detector modules: built by the install, used only while current.

Each case runs a child Python on a copy of the `detectors` package (sources, compiled
modules and the build's digests), so a source can be edited or a module removed without
touching the checkout; the group's shared library is found where the install put it.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from detectors.typosquat import compiled

PACKAGE = Path(compiled.__file__).resolve().parent
installed_compiled = pytest.mark.skipif(
    not compiled.MANIFEST.exists(), reason="installed without mypyc (WARDEN_MYPYC=0)")

PROBE = """
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from detectors.typosquat import compiled
    from detectors.typosquat import slips, verdict
    from detectors.typosquat.verdict import Analyzer
    from detectors.typosquat.index import ProtectedIndex
    from detectors.typosquat.settings import TyposquatSection
index = ProtectedIndex.build([("requests", 1)])
found = Analyzer.from_settings(TyposquatSection(allowlist=[]), index).check("reqeusts")
print(json.dumps({
    "in_use": compiled.IN_USE,
    "files": [module.__file__ for module in (slips, verdict)],
    "warnings": [str(w.message) for w in caught if w.category is RuntimeWarning],
    "verdict": [found.flagged, found.target, str(found.technique)],
}))
"""


def _digests() -> dict[str, str]:
    modules: dict[str, str] = json.loads(compiled.MANIFEST.read_text())["modules"]
    return modules


def _copy(tmp_path: Path) -> Path:
    root = PACKAGE.parent.parent
    shutil.copytree(root / "detectors", tmp_path / "detectors",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "detectors" / "typosquat"


def _probe(tmp_path: Path, **env: str) -> dict[str, Any]:
    environ = {key: value for key, value in os.environ.items() if key != compiled.FORCE_SOURCES}
    environ["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(PACKAGE.parent.parent)])
    child = subprocess.run([sys.executable, "-c", PROBE], env={**environ, **env},
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert child.returncode == 0, child.stderr
    result: dict[str, Any] = json.loads(child.stdout)
    assert result["verdict"] == [True, "requests", "transposition"]
    return result


def _all_from(result: dict[str, Any], suffix: str, copy: Path) -> bool:
    return all(str(copy) in file and file.endswith(suffix) for file in result["files"])


@installed_compiled
def test_the_install_compiled_every_module() -> None:
    for module in _digests():
        assert compiled.built(module), module
    assert set(_digests()) >= {"index", "slips", "techniques", "verdict"}


@installed_compiled
def test_current_compiled_modules_are_used(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    result = _probe(tmp_path)
    assert result["in_use"] is True and result["warnings"] == []
    assert _all_from(result, importlib.machinery.EXTENSION_SUFFIXES[0], copy)


@installed_compiled
def test_sources_on_request(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    result = _probe(tmp_path, **{compiled.FORCE_SOURCES: "1"})
    assert result["in_use"] is False and result["warnings"] == []
    assert _all_from(result, ".py", copy)


@installed_compiled
def test_an_edited_source_is_run_from_source_with_a_warning(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    with (copy / "slips.py").open("a") as source:
        source.write("\n# edited after the build\n")
    result = _probe(tmp_path)
    assert result["in_use"] is False
    assert _all_from(result, ".py", copy)  # all of them: compiled ones call each other
    (warning,) = result["warnings"]
    assert "(slips)" in warning and "pip install -e ." in warning


@installed_compiled
def test_a_module_the_compiler_did_not_build_means_sources(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    for built in copy.glob("techniques.*.so"):
        built.unlink()
    result = _probe(tmp_path)
    assert result["in_use"] is False and result["warnings"] == []
    assert _all_from(result, ".py", copy)


@installed_compiled
def test_a_build_without_mypyc_ignores_modules_an_earlier_one_left(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    manifest = json.loads((copy / "_compiled.json").read_text())
    (copy / "_compiled.json").write_text(json.dumps({**manifest, "compiled": False}))
    result = _probe(tmp_path)
    assert result["in_use"] is False and result["warnings"] == []
    assert _all_from(result, ".py", copy)


def test_without_a_build_the_sources_are_the_package(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    for built in copy.glob("*.so"):
        built.unlink()
    (copy / "_compiled.json").unlink(missing_ok=True)
    result = _probe(tmp_path)
    assert result["in_use"] is False and result["warnings"] == []
    assert _all_from(result, ".py", copy)
