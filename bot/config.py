"""Configuration: one pydantic-settings model, read from four layers.

Priority, highest first: keyword overrides to `load_settings()`, the environment
(`WARDEN_<SECTION>_<OPTION>`, case-insensitive; Slack secrets only as `SLACK_BOT_TOKEN`,
`SLACK_SIGNING_SECRET`, `SLACK_APP_TOKEN`), the TOML file, then the defaults embedded
here. The defaults are complete, so the file is optional; `config/warden.toml` is the
annotated reference copy of them. Every problem surfaces as one `ConfigError`.
"""

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.sections import Section, name_list
from detectors.confusion.settings import DevpiSection
from detectors.critical_settings import CriticalSection
from detectors.domains.settings import DomainsSection
from detectors.reports.settings import ReportsSection
from detectors.typosquat.settings import TyposquatSection
from playbooks.settings import PlaybooksSection, StorageSection

__all__ = ["DEFAULT_CONFIG", "SECRET_ENV", "ConfigError", "Settings", "load_settings", "masked"]

DEFAULT_CONFIG = Path("config/warden.toml")
SECRET_ENV = {n: f"SLACK_{n.upper()}" for n in ("bot_token", "signing_secret", "app_token")}
# Secrets that may never sit in the TOML file, with the variable they come from instead.
FILE_FORBIDDEN = {
    **{("slack", name): var for name, var in SECRET_ENV.items()},
    ("playbooks", "devpi_password"): "WARDEN_PLAYBOOKS_DEVPI_PASSWORD",
    ("devpi", "replica_key"): "WARDEN_DEVPI_REPLICA_KEY",
    ("storage", "s3_secret_access_key"): "WARDEN_STORAGE_S3_SECRET_ACCESS_KEY",
}
STORE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
MASK = "****"


class ConfigError(Exception):
    """Unusable configuration; str(err) is the complete message, one line per problem."""


def _env(name: str) -> str | None:
    # Case-insensitive, like the WARDEN_* variables read by pydantic-settings.
    return next((v for k, v in os.environ.items() if k.upper() == name), None)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


def _mask_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return MASK if "@" in url else url  # unparseable: may still hold a password
    if parsed.password is None:
        return url
    # SQLAlchemy renders a hidden password as ":***@" and percent-escapes ":" and "@" in
    # the user name, so the first ":***@" is the password.
    return parsed.render_as_string(hide_password=True).replace(":***@", f":{MASK}@", 1)




class StoreSection(Section):
    url: str = "sqlite+aiosqlite:///warden.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        try:
            driver = make_url(value).drivername
        except (ArgumentError, ValueError):
            driver = ""
        if driver not in STORE_DRIVERS:
            raise ValueError(f"must be an SQLAlchemy URL with driver {' or '.join(STORE_DRIVERS)}")
        return value


class IndexSection(Section):
    url: str = "https://pypi.org"
    kind: Literal["pypi"] = "pypi"
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_retries: int = Field(default=8, ge=0)
    backoff_seconds: float = Field(default=1.0, gt=0)
    backoff_max_seconds: float = Field(default=300.0, gt=0)
    command_deadline_seconds: float = Field(default=60.0, gt=0)
    user_agent: str = Field(default="index-warden/0.1", min_length=1)

    @field_validator("url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _http_url(value).rstrip("/")


class FeedSection(Section):
    poll_interval_seconds: float = Field(default=5.0, gt=0)
    batch_size: int = Field(default=5000, gt=0)
    start_serial: int | None = Field(default=None, ge=0)
    ledger_concurrency: int = Field(default=8, gt=0)
    stall_incident_seconds: float = Field(default=900.0, gt=0)


class NotifySection(Section):
    console: bool = True


class AccessSection(Section):
    admins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    _admins_from_env = field_validator("admins", mode="before")(
        lambda cls, value: name_list(value)
    )


class LogSection(Section):
    # `json` would shadow BaseModel.json(); the option is still called log.json everywhere.
    model_config = ConfigDict(populate_by_name=True)

    level: Literal["debug", "info", "warning", "error"] = "info"
    json_: Literal["auto", "true", "false"] = Field(default="auto", alias="json")

    @field_validator("level", "json_", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        # Accept INFO from the environment and `json = true` (a TOML boolean) from the file.
        return str(value).lower() if isinstance(value, bool | str) else value


class ServiceSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    ready_max_feed_age_seconds: float = Field(default=300.0, gt=0)
    leader_retry_seconds: float = Field(default=5.0, gt=0)
    outbox_interval_seconds: float = Field(default=2.0, gt=0)
    reminder_after_minutes: float = Field(default=240.0, gt=0)
    recompute_at: str = Field(default="03:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    shutdown_seconds: float = Field(default=8.0, gt=0)


class SlackSection(Section):
    api_url: str = "https://slack.com/api/"
    channel: str = Field(default="#index-warden", min_length=1)
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    channels: dict[Literal["info", "warning", "high", "critical"], str] = Field(default_factory=dict)
    socket_mode: bool = False
    timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("api_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _http_url(value).rstrip("/") + "/"  # method names are appended to it


# settings_customise_sources is a classmethod with no per-call arguments, so the TOML
# data parsed by load_settings() reaches its source through a context variable.
_toml_data: ContextVar[dict[str, Any] | None] = ContextVar("warden_toml_data", default=None)


class _Source(PydanticBaseSettingsSource):
    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole mapping


class _TomlFileSource(_Source):
    def __call__(self) -> dict[str, Any]:
        return dict(_toml_data.get() or {})


class _SlackEnvSource(_Source):
    def __call__(self) -> dict[str, Any]:
        for name, var in SECRET_ENV.items():
            if _env(f"WARDEN_SLACK_{name.upper()}") is not None:
                raise ConfigError(
                    f"slack.{name}: secrets come only from the environment variable {var}, "
                    f"not WARDEN_SLACK_{name.upper()}"
                )
        found = {name: value for name, var in SECRET_ENV.items() if (value := _env(var))}
        return {"slack": found} if found else {}


class Settings(BaseSettings):
    """All options. Build it with load_settings(); Settings() alone skips the TOML file."""

    model_config = SettingsConfigDict(
        env_prefix="WARDEN_",
        env_nested_delimiter="_",
        env_nested_max_split=1,  # section names have no "_": WARDEN_FEED_BATCH_SIZE
        env_parse_none_str="null",
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    store: StoreSection = Field(default_factory=StoreSection)
    index: IndexSection = Field(default_factory=IndexSection)
    feed: FeedSection = Field(default_factory=FeedSection)
    notify: NotifySection = Field(default_factory=NotifySection)
    critical: CriticalSection = Field(default_factory=CriticalSection)
    access: AccessSection = Field(default_factory=AccessSection)
    log: LogSection = Field(default_factory=LogSection)
    service: ServiceSection = Field(default_factory=ServiceSection)
    typosquat: TyposquatSection = Field(default_factory=TyposquatSection)
    domains: DomainsSection = Field(default_factory=DomainsSection)
    reports: ReportsSection = Field(default_factory=ReportsSection)
    playbooks: PlaybooksSection = Field(default_factory=PlaybooksSection)
    storage: StorageSection = Field(default_factory=StorageSection)
    slack: SlackSection = Field(default_factory=SlackSection)
    devpi: DevpiSection = Field(default_factory=DevpiSection)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first; fields missing from all of them keep their defaults.
        slack, toml = _SlackEnvSource(settings_cls), _TomlFileSource(settings_cls)
        return init_settings, slack, env_settings, toml


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 text ({exc.reason})") from exc
    refused = [
        f"{section}.{name}: secrets come only from the environment ({var}), not from {path}"
        for (section, name), var in FILE_FORBIDDEN.items()
        if isinstance(data.get(section), dict) and name in data[section]
    ]
    if refused:
        raise ConfigError("\n".join(refused))
    return data


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            message = "unknown section" if len(loc) == 1 else "unknown option"
        else:
            message = error["msg"].removeprefix("Value error, ")
        value = error["input"]
        if loc[:1] == ("slack",) and loc[1:2] and loc[1] in SECRET_ENV:
            value = MASK
        elif loc == ("store", "url") and isinstance(value, str):
            value = _mask_url(value)
        got = "" if isinstance(value, dict) else f" (got {value!r})"
        lines.append(f"{'.'.join(loc)}: {message}{got}")
    return "\n".join(lines)


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Effective settings: overrides > environment > TOML file > embedded defaults.

    The file is `config_path`, else $WARDEN_CONFIG, else ./config/warden.toml if it
    exists, else none. Raises ConfigError for anything wrong, including a named file
    that does not exist.
    """
    if config_path is None and (from_env := _env("WARDEN_CONFIG")):
        config_path = Path(from_env)
    if config_path is None and DEFAULT_CONFIG.is_file():
        config_path = DEFAULT_CONFIG
    token = _toml_data.set(_read_toml(config_path) if config_path is not None else None)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    except SettingsError as exc:  # e.g. malformed JSON in a WARDEN_* variable
        raise ConfigError(f"environment: {exc}") from exc
    finally:
        _toml_data.reset(token)


def masked(settings: Settings) -> dict[str, Any]:
    """The settings as a JSON-able dict, with secrets and the database password hidden."""
    data = settings.model_dump(mode="json", by_alias=True)
    for name in SECRET_ENV:
        data["slack"][name] = MASK if getattr(settings.slack, name) is not None else None
    data["store"]["url"] = _mask_url(settings.store.url)
    if settings.playbooks.warehouse_url:
        data["playbooks"]["warehouse_url"] = _mask_url(settings.playbooks.warehouse_url)
    for section, name in (("playbooks", "devpi_password"), ("storage", "s3_secret_access_key"),
                          ("devpi", "replica_key")):
        data[section][name] = MASK if getattr(getattr(settings, section), name) else None
    return data
