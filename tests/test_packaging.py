"""The wheel carries every file the code reads at run time (issue 16).

An editable install reads data straight from the checkout, so a data file left out of
the package data only shows once the wheel is installed elsewhere. This builds the
wheel's contents the way the wheel build does (setuptools' build_py: packages plus
package data, configured by pyproject.toml alone) from a copy of the tree, offline, in about a second,
and compares them with the files in the source packages and the resources the code
names. `.ci/run` also installs the real wheel in a fresh virtual environment and runs
`warden demo` from another directory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import pytest

import bot
from bot.store.migrate import MIGRATIONS
from detectors.bundled import TOP_PROJECTS
from detectors.domains.rdap import BUNDLED_BOOTSTRAP

ROOT = Path(bot.__file__).resolve().parents[1]
PACKAGES = ("bot", "detectors", "playbooks")
# Notes for developers beside the code, not read by it.
NOT_SHIPPED_SUFFIXES = (".md",)


def tree_files() -> list[str]:
    """What a clean checkout of this working tree holds: tracked and new files, not ignored."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout (it lists the files a clean checkout holds)")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    return [name for name in listed if name and (ROOT / name).is_file()]  # not deleted ones


def under_root(resource: Traversable) -> str:
    """A resource of the (editable) package, as a path relative to the checkout."""
    return Path(str(resource)).resolve().relative_to(ROOT).as_posix()


def resources_the_code_names() -> set[str]:
    package, _, directory = MIGRATIONS.partition(":")
    migrations = Path(str(files(package) / directory))
    return {
        under_root(TOP_PROJECTS),
        under_root(BUNDLED_BOOTSTRAP),
        *(path.relative_to(ROOT).as_posix() for path in migrations.rglob("*")
          if path.is_file() and "__pycache__" not in path.parts),
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Relative paths of the files the wheel's build puts under its library root."""
    src = tmp_path_factory.mktemp("src")
    lib = tmp_path_factory.mktemp("lib")
    for name in tree_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    # A copy, so the build leaves nothing in the checkout; there is no setup.py: a bare
    # setup() reads everything from pyproject.toml, as the wheel build does.
    result = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q",
                             "build_py", "--build-lib", str(lib)],
                            cwd=src, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return {path.relative_to(lib).as_posix() for path in lib.rglob("*") if path.is_file()}


def test_every_file_of_the_source_packages_is_in_the_wheel(built: set[str]) -> None:
    expected = {name for name in tree_files()
                if name.split("/", 1)[0] in PACKAGES and not name.endswith(NOT_SHIPPED_SUFFIXES)}
    assert sorted(expected - built) == []


def test_every_resource_the_code_reads_is_in_the_wheel(built: set[str]) -> None:
    named = resources_the_code_names()
    assert "detectors/data/top-pypi-projects.tsv" in named
    assert sorted(named - built) == []


def test_the_wheel_holds_only_the_packages(built: set[str]) -> None:
    assert {name.split("/", 1)[0] for name in built} == set(PACKAGES)
