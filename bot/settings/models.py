"""What each key of the config file may be (pydantic models, strict: see bot.domain.validation).

Defaults live here and nowhere else; the README's configuration reference and the example
config are checked against these models by tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)

from bot.domain.subscription import SubscriptionSpec
from bot.domain.text import kind
from bot.domain.urls import split_dsn
from bot.domain.validation import Strict
from bot.domain.values import (
    Duration,
    Flag,
    OptionalSnowflake,
    PathValue,
    Percent,
    Size,
    Snowflakes,
    Text,
    choice,
    optional,
    text,
    whole_number,
)
from bot.errors import ConfigError, UsageError
from bot.settings.references import checked_references
from bot.settings.sources import FetchSettings, GitSettings, SourceSettings

_ONE_DATABASE = "database.path (SQLite) or database.url (PostgreSQL) is required"
TOKEN_ENV = "DISCORD_TOKEN"  # noqa: S105 - the name of the variable, not a secret


def _workers(value: Any) -> int:
    """``auto`` (0: one parse process per CPU) or 1-64."""
    if value == "auto":
        return 0
    count = whole_number(value)
    if not 1 <= count <= 64:
        raise ValueError(f"must be from 1 to 64, or auto, got {count}")
    return count


def _database_url(value: Any) -> str:
    url = text(value)
    if not re.match(r"postgres(ql)?://", url, re.IGNORECASE):
        raise ValueError(
            f"expected a postgresql:// URL such as postgresql://newsdesk@db:5432/newsdesk, "
            f"got {split_dsn(url).shown!r}"
        )
    if "${" not in url:
        try:
            urlsplit(url).port  # noqa: B018 - raises for a port that cannot be
        except ValueError as exc:
            raise ValueError(f"{exc} in {split_dsn(url).shown!r}") from None
    return checked_references(url)


class DatabaseSettings(Strict):
    path: PathValue | None = None  # the SQLite file, relative to the working directory
    url: Annotated[str | None, BeforeValidator(optional(_database_url))] = None  # PostgreSQL
    _dsn: str | None = PrivateAttr(default=None)  # the URL with ${NAME} expanded
    _secrets: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _one_database(self) -> DatabaseSettings:
        if (self.path is None) == (self.url is None):
            raise ValueError(_ONE_DATABASE + (", not both" if self.path else ""))
        return self

    @property
    def display(self) -> str:
        """How the database is named in messages: the path, or the URL as written in the file
        with any password replaced by ``***``."""
        return split_dsn(self.url).shown if self.url is not None else str(self.path)

    @property
    def dsn(self) -> str | None:
        """The PostgreSQL URL to connect to (``${NAME}`` expanded): never shown."""
        if self.url is None:
            return None
        return self._dsn if self._dsn is not None else self.url

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def sqlite(self, command: str) -> Path:
        """The SQLite file, for the commands that do not work on PostgreSQL yet."""
        if self.path is None:
            raise UsageError(
                f"database.url: `newsdesk {command}` works on SQLite only so far (PostgreSQL "
                "is there for `newsdesk migrate` and `newsdesk copy-db`); set database.path"
            )
        return self.path

    def with_dsn(self, dsn: str, secrets: tuple[str, ...]) -> DatabaseSettings:
        copy = self.model_copy()
        copy._dsn = dsn
        copy._secrets = tuple(sorted(set(secrets), key=len, reverse=True))
        return copy


class IngestSettings(Strict):
    interval: Duration = timedelta(minutes=10)
    max_article_bytes: Size = 1024 * 1024
    workers: Annotated[int, BeforeValidator(_workers)] = 0  # 0: one parse process per CPU
    trust_published_flag: Flag = True
    # A scan that would withdraw more than this share of a source's articles withdraws none.
    withdraw_limit: Percent = 0.2


class PublishingSettings(Strict):
    enabled: Flag = True
    pace: Duration = timedelta(seconds=1)
    retry_limit: Annotated[int, BeforeValidator(whole_number), Field(ge=1, le=100)] = 5
    retry_backoff: Duration = timedelta(minutes=1)
    paused_recheck: Duration = timedelta(hours=1)
    excerpt_length: Annotated[int, BeforeValidator(whole_number), Field(ge=50, le=4000)] = 350
    # skip: never risk a duplicate; resend: never risk a loss
    history_unreadable: Annotated[
        Literal["skip", "resend"], BeforeValidator(choice("skip", "resend"))
    ] = "skip"


class ModerationSettings(Strict):
    moderator_role_ids: Snowflakes = ()
    log_channel_id: OptionalSnowflake = None


class DiscordSettings(Strict):
    sync_guild_ids: Snowflakes = ()  # empty: commands are global


class HttpSettings(Strict):
    host: Text = "127.0.0.1"
    port: Annotated[int, BeforeValidator(whole_number), Field(ge=0, le=65535)] = 8080


class LoggingSettings(Strict):
    level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"],
        BeforeValidator(lambda v: choice("debug", "info", "warning", "error")(v).upper()),
    ] = "INFO"
    format: Annotated[Literal["plain", "json"], BeforeValidator(choice("plain", "json"))] = "plain"


_SECTIONS = ("ingest", "fetch", "git", "publishing", "moderation", "discord", "logging")


def _listed(example: str) -> Any:
    """A YAML list (or nothing); a single value or a mapping is refused, not split up."""

    def check(value: Any) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected a list ({example}), got {kind(value)}")
        return tuple(value)

    return BeforeValidator(check)


class Settings(Strict):
    database: DatabaseSettings = Field(description=_ONE_DATABASE)
    sources: Annotated[tuple[SourceSettings, ...], _listed("- path: data/news")] = ()
    fetch: FetchSettings = FetchSettings()
    git: GitSettings = GitSettings()
    ingest: IngestSettings = IngestSettings()
    publishing: PublishingSettings = PublishingSettings()
    subscriptions: Annotated[
        tuple[SubscriptionSpec, ...], _listed("each item starting - channel_id: ...")
    ] = ()
    moderation: ModerationSettings = ModerationSettings()
    discord: DiscordSettings = DiscordSettings()
    http: HttpSettings | None = None  # no http: section, no server
    logging: LoggingSettings = LoggingSettings()
    # Not keys of the file: the token comes from the environment only (see load.py).
    _token: SecretStr | None = PrivateAttr(default=None)
    _config_path: Path | None = PrivateAttr(default=None)

    def with_origin(self, token: str | None, config_path: Path | None) -> Settings:
        """These settings with the token (from the environment) and the file they came from."""
        copy = self.model_copy()
        copy._token = SecretStr(token) if token else None
        copy._config_path = config_path
        return copy

    @property
    def token(self) -> SecretStr | None:
        return self._token

    @property
    def config_path(self) -> Path | None:
        return self._config_path

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        """A section written with nothing under it (``ingest:``) is the defaults."""
        if isinstance(data, Mapping):
            data = {k: v for k, v in data.items() if not (k in _SECTIONS and v is None)}
        return data

    def require_token(self) -> str:
        if self._token is None or not self._token.get_secret_value():
            raise ConfigError(
                [
                    f"{TOKEN_ENV}: not set. Put the bot token in the environment "
                    f"(export {TOKEN_ENV}=...), or try `newsdesk run --dry-run`, "
                    "which needs no token and shows the posts it would make."
                ]
            )
        return self._token.get_secret_value()
