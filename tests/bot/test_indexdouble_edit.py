"""`python -m bot.indexdouble upload|remove|role`: the changes a drill needs, written the
way Warehouse writes them, so the changelog shows them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.indexdouble import IndexDoubleStore
from bot.indexdouble.__main__ import main


def _actions(db: Path, files: Path) -> list[str]:
    store = IndexDoubleStore(db, files)
    try:
        return [e[3] for e in store.changelog_since(0, 1000)]
    finally:
        store.close()


def test_upload_role_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, files = tmp_path / "index.sqlite", tmp_path / "files"
    base = ["--db", str(db), "--files", str(files)]
    wheel = tmp_path / "own_pkg-2.0-py3-none-any.whl"
    wheel.write_bytes(b"a real upload")
    assert main(["upload", *base, "own-pkg", "1.0", "--owner", "alice"]) == 0
    assert main(["upload", *base, "own-pkg", "2.0", str(wheel), "--owner", "alice"]) == 0
    assert main(["role", *base, "own-pkg", "bob"]) == 0
    assert main(["role", *base, "own-pkg", "bob", "--remove", "--actor", "alice"]) == 0
    assert main(["remove", *base, "own-pkg", "--version", "1.0",
                 "--file", "own_pkg-1.0.tar.gz"]) == 0
    assert main(["remove", *base, "own-pkg", "--version", "2.0"]) == 0
    assert main(["remove", *base, "own-pkg"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("serial ")
    assert _actions(db, files) == [
        "create", "add Owner alice", "new release", "add source file own_pkg-1.0.tar.gz",
        "add py3 file own_pkg-1.0-py3-none-any.whl", "new release",
        "add py3 file own_pkg-2.0-py3-none-any.whl", "add Maintainer bob",
        "remove Maintainer bob", "remove file own_pkg-1.0.tar.gz", "remove release",
        "remove project"]
    # the blobs stay, as in PyPI's bucket
    assert len([p for p in (files / "packages").rglob("*") if p.is_file()]) == 3


def test_a_change_it_cannot_make_is_one_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--db", str(tmp_path / "index.sqlite"), "--files", str(tmp_path / "files")]
    assert main(["remove", *base, "no-such-project"]) == 2
    assert capsys.readouterr().err.strip() == "error: no project 'no-such-project'"
    assert main(["remove", *base, "x", "--file", "x-1.0.tar.gz"]) == 2
    assert "--file needs --version" in capsys.readouterr().err
