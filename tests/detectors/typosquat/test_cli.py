"""`warden typosquat`: the jsonl contract of `scan`, `check`'s verdicts and exit codes,
and `allow` (admins only, audited)."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bot.cli.typosquat import app
from bot.store.models import AuditEntry
from bot.store.typosquat_models import TyposquatAllow

PROTECTED = "name\trank\nrequests\t1\npython-dateutil\t2\ncolorama\t3\nflask\t4\n"


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.upper().startswith(("WARDEN_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no ./config/warden.toml
    yield
    # The commands configure structlog to print to the runner's stderr, closed by now.
    structlog.reset_defaults()


@pytest.fixture
def protected(tmp_path: Path) -> Path:
    path = tmp_path / "top.tsv"
    path.write_text(PROTECTED, encoding="utf-8")
    return path


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    # Messages on stderr are wrapped to the (test) terminal's width: compare them unwrapped.
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


NAMES = "reqeusts\nrequests\n\na-new-honest-project\nbad name\npython3-dateutil\ncolourama\n"


def expected_lines() -> list[dict[str, object]]:
    return [
        {"name": "reqeusts", "target": "requests", "technique": "transposition", "score": 0.95},
        {"name": "python3-dateutil", "target": "python-dateutil", "technique": "affix",
         "score": 0.85},
        {"name": "colourama", "target": "colorama", "technique": "vowel-change", "score": 0.85},
    ]


def test_scan_prints_one_json_object_per_flagged_name(tmp_path: Path, protected: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text(NAMES, encoding="utf-8")
    code, stdout, stderr = run("scan", "--names", str(names), "--protected", str(protected),
                               "--format", "jsonl")
    assert code == 0
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert lines == expected_lines()
    assert all(list(line) == ["name", "target", "technique", "score"] for line in lines)
    assert "skipped 1 invalid name(s): line 5: not a valid project name: 'bad name'" in stderr


def test_scan_reads_gzip_and_stdin(tmp_path: Path, protected: Path) -> None:
    names = tmp_path / "names.txt.gz"
    names.write_bytes(gzip.compress(NAMES.encode()))
    _, from_gzip, _ = run("scan", "--names", str(names), "--protected", str(protected))
    _, from_stdin, _ = run("scan", "--names", "-", "--protected", str(protected), stdin=NAMES)
    assert [json.loads(x) for x in from_gzip.splitlines()] == expected_lines()
    assert from_stdin == from_gzip


def test_scan_protected_names_file_without_header(tmp_path: Path) -> None:
    plain = tmp_path / "protected.txt.gz"
    plain.write_bytes(gzip.compress(b"flask\nnumpy\n"))
    names = tmp_path / "names.txt"
    names.write_text("flaks\nrequests-lite\nnumpyy\n", encoding="utf-8")
    _, stdout, _ = run("scan", "--names", str(names), "--protected", str(plain))
    assert [json.loads(x)["name"] for x in stdout.splitlines()] == ["flaks", "numpyy"]


def test_scan_with_the_configured_protected_set(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("matplotliv\naiohttp-util\nnot-like-anything-at-all\n", encoding="utf-8")
    code, stdout, _ = run("scan", "--names", str(names))
    assert code == 0
    assert [json.loads(x)["target"] for x in stdout.splitlines()] == ["matplotlib", "aiohttp"]


@pytest.mark.parametrize(("args", "message"), [
    (["scan", "--names", "missing.txt"], "--names missing.txt: no such file"),
    (["scan", "--names", "-", "--protected", "nope.tsv"], "--protected nope.tsv: no such file"),
    (["scan", "--names", "-", "--format", "csv"], "Invalid value"),
])
def test_scan_usage_errors_exit_2(args: list[str], message: str) -> None:
    code, _, stderr = run(*args, stdin="")
    assert code == 2 and message in stderr and "Traceback" not in stderr


def test_scan_refuses_a_protected_file_without_names(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tsv"
    empty.write_text("name\trank\n", encoding="utf-8")
    code, _, stderr = run("scan", "--names", "-", "--protected", str(empty), stdin="x\n")
    assert code == 2 and "no valid project names" in stderr


def test_check_verdicts_and_exit_codes(protected: Path) -> None:
    code, stdout, _ = run("check", "reqeusts", "requests", "honest-project",
                          "--protected", str(protected))
    assert code == 1
    assert stdout.splitlines() == [
        "reqeusts: TYPOSQUAT of requests (transposition, score 0.95): "
        "`reqeusts` is `requests` with `ue` transposed",
        "requests: ok - `requests` is itself protected (rank 1)",
        "honest-project: ok - resembles no protected project",
    ]
    assert run("check", "honest-project", "--protected", str(protected))[0] == 0


def test_check_json(protected: Path) -> None:
    code, stdout, _ = run("check", "pythondateutil", "--json", "--protected", str(protected))
    [verdict] = json.loads(stdout)
    assert code == 1 and verdict["target"] == "python-dateutil"
    assert verdict["technique"] == "separator" and verdict["flagged"] is True


@pytest.mark.parametrize(("name", "message"), [
    ("bad name", "not a valid project name"),
    ("", "empty project name"),
    ("x" * 600, "too long"),
    ("字典", "no ASCII look-alike"),
])
def test_check_invalid_names_exit_2_with_a_clear_message(name: str, message: str) -> None:
    code, stdout, stderr = run("check", name)
    assert code == 2 and message in stderr and stdout == "" and "Traceback" not in stderr


def test_allow_is_for_admins_and_audited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "warden.db"
    monkeypatch.setenv("WARDEN_STORE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("WARDEN_ACCESS_ADMINS", "alice")
    code, _, stderr = run("allow", "pyaml", "pyyaml", "--reason", "separate project",
                          "--actor", "mallory")
    assert code == 1 and "is not an admin (access.admins)" in stderr
    code, stdout, _ = run("allow", "PyAML", "PyYAML", "--reason", "separate project",
                          "--actor", "alice")
    assert code == 0 and "pyaml is allowed to resemble pyyaml" in stdout
    assert run("allow", "bad name", "pyyaml", "--reason", "x", "--actor", "alice")[0] == 2
    assert run("allow", "pyaml", "pyyaml", "--reason", " ", "--actor", "alice")[0] == 2
    code, stdout, _ = run("allowed", "--json")
    assert code == 0 and [(r["candidate"], r["target"]) for r in json.loads(stdout)] == [
        ("pyaml", "pyyaml")]
    with Session(create_engine(f"sqlite:///{db}")) as session:
        assert session.execute(select(TyposquatAllow.actor)).scalars().all() == ["alice"]
        audits = session.execute(select(AuditEntry.actor, AuditEntry.outcome)).all()
        assert [tuple(a) for a in audits] == [("mallory", "refused"), ("alice", "done")]


def test_an_unreadable_protected_list_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "top.tsv.gz"
    broken.write_bytes(gzip.compress(PROTECTED.encode())[:20])  # truncated download
    code, _, stderr = run("check", "reqeusts", "--protected", str(broken))
    assert code == 2 and "cannot read the protected list" in stderr and "Traceback" not in stderr


def test_scan_of_a_truncated_gzip_file_is_a_clear_error(tmp_path: Path, protected: Path) -> None:
    names = tmp_path / "names.txt.gz"
    names.write_bytes(gzip.compress(("reqeusts\n" * 5000).encode())[:60])
    code, _, stderr = run("scan", "--names", str(names), "--protected", str(protected))
    assert code == 2 and "cannot read" in stderr and "Traceback" not in stderr
