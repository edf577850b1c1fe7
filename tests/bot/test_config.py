"""Tests for bot.config: layering, env names, errors, masking, and the reference file."""

import os
import tomllib
from pathlib import Path

import pytest

from bot.config import SECRET_ENV, ConfigError, Settings, load_settings, masked
from tests.support import REPO

REFERENCE = REPO / "config" / "warden.toml"


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing from the developer's shell or the repo's config/ may leak into a test.
    for name in list(os.environ):
        if name.upper().startswith(("WARDEN_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def config_error(*args: object, **overrides: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(*args, **overrides)  # type: ignore[arg-type]
    return str(info.value)


def test_defaults_without_any_file() -> None:
    s = load_settings()
    assert s.store.url == "sqlite+aiosqlite:///warden.db"
    assert s.store.echo is False
    assert s.index.url == "https://pypi.org"
    assert s.index.max_response_bytes == 64 * 1024 * 1024
    assert (s.index.max_retries, s.index.timeout_seconds) == (8, 30.0)
    assert (s.feed.batch_size, s.feed.start_serial, s.feed.ledger_concurrency) == (5000, None, 8)
    assert s.notify.console is True
    assert s.access.admins == []
    assert (s.log.level, s.log.json_) == ("info", "auto")
    assert s.slack.api_url == "https://slack.com/api/"
    assert s.slack.channel == "#index-warden"
    assert s.slack.bot_token is None and s.slack.signing_secret is None


def test_toml_overrides_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path / "w.toml",
        '[index]\nurl = "https://test.pypi.org/"\n[feed]\nstart_serial = 0\n'
        '[access]\nadmins = ["U1", "alice"]\n[log]\njson = true\n',
    )
    s = load_settings(path)
    assert s.index.url == "https://test.pypi.org"  # trailing slash stripped
    assert s.feed.start_serial == 0
    assert s.feed.batch_size == 5000  # untouched options keep their defaults
    assert s.access.admins == ["U1", "alice"]
    assert s.log.json_ == "true"


def test_env_overrides_toml_and_overrides_beat_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "w.toml", "[feed]\nbatch_size = 10\npoll_interval_seconds = 2.5\n")
    monkeypatch.setenv("WARDEN_FEED_BATCH_SIZE", "20")
    s = load_settings(path)
    assert s.feed.batch_size == 20
    assert s.feed.poll_interval_seconds == 2.5  # same section, still from the file
    assert load_settings(path, feed={"batch_size": 30}).feed.batch_size == 30


def test_env_names_map_to_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_INDEX_URL", "http://localhost:8080/")
    monkeypatch.setenv("WARDEN_SLACK_API_URL", "http://localhost:9000/api")
    monkeypatch.setenv("warden_store_url", "postgresql+asyncpg://db/warden")  # case-insensitive
    monkeypatch.setenv("WARDEN_INDEX_MAX_RESPONSE_BYTES", "1024")
    monkeypatch.setenv("WARDEN_ACCESS_ADMINS", "U1, alice")
    monkeypatch.setenv("WARDEN_LOG_LEVEL", "DEBUG")
    s = load_settings()
    assert s.index.url == "http://localhost:8080"
    assert s.slack.api_url == "http://localhost:9000/api/"
    assert s.store.url == "postgresql+asyncpg://db/warden"
    assert s.index.max_response_bytes == 1024
    assert s.access.admins == ["U1", "alice"]
    assert s.log.level == "debug"


def test_env_null_unsets_an_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "w.toml", "[feed]\nstart_serial = 5\n")
    monkeypatch.setenv("WARDEN_FEED_START_SERIAL", "null")
    assert load_settings(path).feed.start_serial is None


def test_config_file_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "config" / "warden.toml", "[feed]\nbatch_size = 11\n")
    assert load_settings().feed.batch_size == 11  # ./config/warden.toml
    other = write(tmp_path / "other.toml", "[feed]\nbatch_size = 12\n")
    monkeypatch.setenv("WARDEN_CONFIG", str(other))
    assert load_settings().feed.batch_size == 12  # $WARDEN_CONFIG wins over ./config
    explicit = write(tmp_path / "explicit.toml", "[feed]\nbatch_size = 13\n")
    assert load_settings(explicit).feed.batch_size == 13  # the argument wins over both


def test_missing_explicit_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "nope.toml: config file not found" in config_error(tmp_path / "nope.toml")
    monkeypatch.setenv("WARDEN_CONFIG", str(tmp_path / "gone.toml"))
    assert "gone.toml: config file not found" in config_error()


def test_slack_secrets_from_env_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret-2")
    s = load_settings()
    assert s.slack.bot_token is not None and s.slack.bot_token.get_secret_value() == "xoxb-secret-1"
    assert s.slack.signing_secret is not None
    assert s.slack.signing_secret.get_secret_value() == "signing-secret-2"
    assert s.slack.app_token is None
    shown = masked(s)
    assert shown["slack"]["bot_token"] == "****"
    assert shown["slack"]["signing_secret"] == "****"
    assert shown["slack"]["app_token"] is None
    assert "secret-1" not in repr(shown) and "secret-2" not in repr(shown)


def test_database_password_is_masked() -> None:
    s = load_settings(store={"url": "postgresql+asyncpg://bob:s3cr%40t@db:5432/warden"})
    shown = masked(s)
    assert shown["store"]["url"] == "postgresql+asyncpg://bob:****@db:5432/warden"
    assert shown["log"] == {"level": "info", "json": "auto"}  # dotted names, as in the TOML
    assert masked(load_settings())["store"]["url"] == "sqlite+aiosqlite:///warden.db"


def test_bad_values_name_each_option(tmp_path: Path) -> None:
    path = write(tmp_path / "w.toml", '[feed]\nbatch_size = -5\n[index]\nurl = "ftp://x"\n')
    message = config_error(path)
    lines = message.splitlines()
    assert "feed.batch_size: Input should be greater than 0 (got -5)" in lines
    assert "index.url: must be an http:// or https:// URL (got 'ftp://x')" in lines
    assert len(lines) == 2


def test_bad_env_value_names_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_LOG_LEVEL", "loud")
    assert config_error().startswith("log.level: ")


def test_store_url_scheme_is_checked_without_leaking_password() -> None:
    message = config_error(store={"url": "mysql://bob:hunter2@db/warden"})
    assert message.startswith("store.url: ")
    assert "sqlite+aiosqlite" in message and "postgresql+asyncpg" in message
    assert "hunter2" not in message


def test_unknown_keys_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "w.toml", "[feed]\nbatchsize = 1\n[fead]\nx = 1\n")
    lines = config_error(path).splitlines()
    assert "feed.batchsize: unknown option (got 1)" in lines
    assert any(line.startswith("fead: unknown section") for line in lines)


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.toml", "[feed\nbatch_size = 1\n")
    message = config_error(path)
    assert message.startswith(f"{path}: invalid TOML")
    assert "line 1" in message


def test_secrets_are_refused_outside_slack_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "w.toml", '[slack]\nbot_token = "xoxb-in-file"\n')
    message = config_error(path)
    assert "slack.bot_token" in message and "SLACK_BOT_TOKEN" in message
    assert "environment" in message and "xoxb-in-file" not in message
    monkeypatch.setenv("WARDEN_SLACK_APP_TOKEN", "xapp-1")
    assert "slack.app_token" in config_error()


def test_reference_file_equals_defaults() -> None:
    assert load_settings(REFERENCE) == Settings()
    assert load_settings(REFERENCE) == load_settings()


def test_reference_file_documents_every_option() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    for section, model in Settings.model_fields.items():
        assert model.annotation is not None
        for name, field in model.annotation.model_fields.items():
            key = field.alias or name
            assert f"Env: {SECRET_ENV.get(key) or f'WARDEN_{section}_{key}'.upper()}" in text
            if field.default is not None:  # TOML has no "unset": those stay as comments
                assert key in data[section], f"{section}.{key} missing from {REFERENCE}"


def test_playbook_and_storage_secrets_refused_in_file(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text('[playbooks]\ndevpi_password = "x"\n[storage]\ns3_secret_access_key = "y"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "playbooks.devpi_password" in str(err.value)
    assert "WARDEN_STORAGE_S3_SECRET_ACCESS_KEY" in str(err.value)
