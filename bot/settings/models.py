"""What each key of the config file may be (pydantic models, strict: see bot.domain.validation).

Defaults live here and nowhere else; the README's configuration reference and the example
config are checked against these models by tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)

from bot.domain.subscription import SubscriptionSpec
from bot.domain.text import kind
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
    whole_number,
)
from bot.errors import ConfigError
from bot.settings.sources import FetchSettings, GitSettings, SourceSettings

TOKEN_ENV = "DISCORD_TOKEN"  # noqa: S105 - the name of the variable, not a secret


def _workers(value: Any) -> int:
    """``auto`` (0: one parse process per CPU) or 1-64."""
    if value == "auto":
        return 0
    count = whole_number(value)
    if not 1 <= count <= 64:
        raise ValueError(f"must be from 1 to 64, or auto, got {count}")
    return count


class DatabaseSettings(Strict):
    path: PathValue  # the SQLite file, relative to the working directory


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
    database: DatabaseSettings = Field(description="at least database.path is required")
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
