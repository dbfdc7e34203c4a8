"""Settings: one YAML file, validated once, every problem reported at once.

``load_settings(path, environ)`` returns frozen dataclasses or raises :class:`ConfigError`
whose message lists one ``key: problem`` line per problem. Unknown keys are rejected. The
Discord token comes only from the environment (``DISCORD_TOKEN``) and is never printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.domain.subscription import QuietHours, SubscriptionSpec
from bot.errors import ConfigError

T = TypeVar("T")

DEFAULT_CONFIG_PATH = Path("config/config.yaml")
TOKEN_ENV = "DISCORD_TOKEN"  # noqa: S105 - the name of the variable, not a secret
MAX_SNOWFLAKE = 2**63 - 1

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
MAX_DURATION_SECONDS = 3650 * 86400
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


# --------------------------------------------------------------------------- value parsers


def parse_duration(text: str) -> timedelta:
    """Parse ``1s``, ``30s``, ``10m``, ``2h``, ``7d``, ``1w`` or combinations like ``1h30m``."""
    if not isinstance(text, str):
        raise ValueError(f"expected a duration such as 30s, 10m, 2h or 7d, got {text!r}")
    compact = text.strip().lower()
    pos = 0
    seconds = 0
    for match in _DURATION.finditer(compact):
        if compact[pos : match.start()].strip():
            break
        seconds += int(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or compact[pos:].strip():
        raise ValueError(f"expected a duration such as 30s, 10m, 2h or 7d, got {text!r}")
    if seconds < 1:
        raise ValueError(f"must be at least 1s, got {text!r}")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"must be at most 3650d (ten years), got {text!r}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def parse_size(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (match := _SIZE.match(value)):
        size = int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]
    else:
        raise ValueError(f"expected a size in bytes such as 1048576 or 1MiB, got {value!r}")
    if size < 1024:
        raise ValueError(f"must be at least 1KiB, got {value!r}")
    return size


def parse_clock(value: object) -> time:
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        raise ValueError(f"expected a time of day such as 22:00, got {value!r}")
    hours, minutes = (int(x) for x in value.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"expected a time of day such as 22:00, got {value!r}")
    return time(hours, minutes)


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    path: Path


@dataclass(frozen=True, slots=True)
class SourceSettings:
    path: Path


@dataclass(frozen=True, slots=True)
class IngestSettings:
    interval: timedelta = timedelta(minutes=10)
    max_article_bytes: int = 1024 * 1024
    workers: int = 0  # 0: one parse process per CPU
    trust_published_flag: bool = True


@dataclass(frozen=True, slots=True)
class PublishingSettings:
    enabled: bool = True
    pace: timedelta = timedelta(seconds=1)
    retry_limit: int = 5
    retry_backoff: timedelta = timedelta(minutes=1)
    paused_recheck: timedelta = timedelta(hours=1)
    excerpt_length: int = 350
    history_unreadable: Literal["skip", "resend"] = (
        "skip"  # skip: never a duplicate; resend: never a loss
    )


@dataclass(frozen=True, slots=True)
class ModerationSettings:
    moderator_role_ids: tuple[int, ...] = ()
    log_channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    sync_guild_ids: tuple[int, ...] = ()  # empty: commands are global


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    level: str = "INFO"
    format: str = "plain"  # or "json"


@dataclass(frozen=True, slots=True)
class Settings:
    database: DatabaseSettings
    sources: tuple[SourceSettings, ...] = ()
    ingest: IngestSettings = field(default_factory=IngestSettings)
    publishing: PublishingSettings = field(default_factory=PublishingSettings)
    subscriptions: tuple[SubscriptionSpec, ...] = ()
    moderation: ModerationSettings = field(default_factory=ModerationSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    http: HttpSettings | None = None
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    token: str | None = field(default=None, repr=False)
    config_path: Path | None = None

    def require_token(self) -> str:
        if not self.token:
            raise ConfigError(
                [
                    f"{TOKEN_ENV}: not set. Put the bot token in the environment "
                    f"(export {TOKEN_ENV}=...), or try `newsdesk run --dry-run`, "
                    "which needs no token and shows the posts it would make."
                ]
            )
        return self.token


# --------------------------------------------------------------------------- validation


_EMPTY: Mapping[str, Any] = {}


class _Section:
    """Reads typed values from one mapping, collecting problems instead of stopping."""

    def __init__(self, data: Mapping[str, Any], prefix: str, problems: list[str]) -> None:
        self.data = data
        self.prefix = prefix
        self.problems = problems
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{self.key(name)}: {message}")

    def get(self, name: str, parse: Callable[[Any], T], default: T) -> T:
        self.used.add(name)
        if name not in self.data:
            return default
        try:
            return parse(self.data[name])
        except (ValueError, TypeError) as exc:
            self.problem(name, str(exc))
            return default

    def section(self, name: str, what: str) -> _Section:
        """A nested mapping (absent or null: empty), read with its own key prefix."""
        value: Mapping[str, Any] = self.get(name, lambda v: _mapping(v, what), _EMPTY)
        return _Section(value, f"{self.key(name)}.", self.problems)

    def items(self, name: str) -> list[Any]:
        """A list value (absent or null: empty)."""
        self.used.add(name)
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(name, f"expected a list, got {_kind(value)}")
            return []
        return value

    def finish(self, allowed_extra: tuple[str, ...] = ()) -> None:
        for name in self.data:
            if name not in self.used and name not in allowed_extra:
                known = ", ".join(sorted(self.used))
                self.problems.append(f"{self.key(str(name))}: unknown key (known keys: {known})")


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping of {what}, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_kind(value)}")
    return value


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number from {low} to {high}, got {_kind(value)}")
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {_kind(value)}")
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


def snowflake(value: Any) -> int:
    """A Discord id: a positive integer (quoted or not)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SNOWFLAKE:
        raise ValueError(f"expected a Discord id (a positive whole number), got {_kind(value)}")
    return value


def _optional(parse: Callable[[Any], T]) -> Callable[[Any], T | None]:
    def wrapped(value: Any) -> T | None:
        return None if value is None else parse(value)

    return wrapped


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected text, got {_kind(value)}")
    return value.strip()


def _text_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        raise ValueError(f"expected a list such as [AI, Robotics], got text {value!r}")
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {_kind(value)}")
    out = []
    for item in value:
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"expected a list of names, found {_kind(item)}")
        out.append(" ".join(item.split()))
    return tuple(out)


def _snowflake_list(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"expected a list of Discord ids, got {_kind(value)}")
    return tuple(snowflake(item) for item in value)


def _choice(*options: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or value.strip().lower() not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {_kind(value)}")
        return value.strip().lower()

    return parse


def _timezone(value: Any) -> str:
    name = _text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)"
        ) from None
    return name


def _cron(value: Any) -> str:
    from apscheduler.triggers.cron import CronTrigger  # validation only; imported on demand

    expression = _text(value)
    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from None
    return expression


def _quiet_hours(value: Any) -> QuietHours:
    if isinstance(value, str) and "-" in value:
        start, _, end = value.partition("-")
        return QuietHours(parse_clock(start), parse_clock(end))
    if isinstance(value, Mapping) and set(value) == {"start", "end"}:
        return QuietHours(parse_clock(value["start"]), parse_clock(value["end"]))
    raise ValueError(f'expected a range such as "22:00-07:00", got {_kind(value)}')


def _path(value: Any) -> Path:
    return Path(_text(value))


def parse_subscription(
    data: Mapping[str, Any], prefix: str, problems: list[str]
) -> SubscriptionSpec | None:
    s = _Section(data, prefix, problems)
    before = len(problems)
    default = SubscriptionSpec(channel_id=1)
    channel_id = s.get("channel_id", snowflake, 0)
    if "channel_id" not in data:
        s.problem("channel_id", "missing (the id of the channel to post in)")
    interval = s.get("interval", _optional(parse_duration), default.interval)
    cron = s.get("cron", _optional(_cron), None)
    if cron is not None and "interval" in data and data["interval"] is not None:
        s.problem("cron", "give either interval or cron, not both")
    if cron is not None:
        interval = None
    if cron is None and interval is None and data.get("cron") is None:
        s.problem("interval", "give an interval (such as 30m) or a cron expression")
    sub = SubscriptionSpec(
        channel_id=channel_id,
        topics=s.get("topics", _text_list, ()),
        exclude_topics=s.get("exclude_topics", _text_list, ()),
        min_quality=s.get("min_quality", _number, default.min_quality),
        max_per_run=s.get("max_per_run", _int_range(1, 10), default.max_per_run),
        interval=interval,
        cron=cron,
        timezone=s.get("timezone", _timezone, default.timezone),
        quiet_hours=s.get("quiet_hours", _optional(_quiet_hours), None),
        max_age=s.get("max_age", _optional(parse_duration), default.max_age),
        types=s.get("types", _text_list, ()),
        exclude_types=s.get("exclude_types", _text_list, ()),
        providers=s.get("providers", _text_list, ()),
        exclude_providers=s.get("exclude_providers", _text_list, ()),
        mention_role_id=s.get("mention_role_id", _optional(snowflake), None),
        crosspost=s.get("crosspost", _bool, False),
        enabled=s.get("enabled", _bool, True),
    )
    s.finish()
    return sub if len(problems) == before else None


def settings_from_mapping(
    raw: Any, environ: Mapping[str, str], config_path: Path | None = None
) -> Settings:
    problems: list[str] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError([f"(top level): expected a mapping of sections, got {_kind(raw)}"])
    top = _Section(raw, "", problems)

    db_path = Path("data/newsdesk.db")
    if raw.get("database") is None:
        problems.append("database: missing (at least database.path is required)")
        top.used.add("database")
    else:
        d = top.section("database", "database settings")
        if "path" not in d.data:
            d.problem("path", "missing")
        db_path = d.get("path", _path, db_path)
        d.finish()

    sources: list[SourceSettings] = []
    for n, entry in enumerate(top.items("sources")):
        if isinstance(entry, str):
            sources.append(SourceSettings(Path(entry)))
            continue
        if not isinstance(entry, Mapping):
            problems.append(f"sources[{n}]: expected {{path: ...}}, got {_kind(entry)}")
            continue
        src = _Section(entry, f"sources[{n}].", problems)
        if "path" not in entry:
            src.problem("path", "missing")
        path = src.get("path", _optional(_path), None)
        src.finish()
        if path is not None:
            sources.append(SourceSettings(path))

    i = top.section("ingest", "ingest settings")
    ing = IngestSettings()
    ingest = IngestSettings(
        interval=i.get("interval", parse_duration, ing.interval),
        max_article_bytes=i.get("max_article_bytes", parse_size, ing.max_article_bytes),
        workers=i.get("workers", lambda v: 0 if v == "auto" else _int_range(1, 64)(v), ing.workers),
        trust_published_flag=i.get("trust_published_flag", _bool, ing.trust_published_flag),
    )
    i.finish()

    pub = PublishingSettings()
    p = top.section("publishing", "publishing settings")
    publishing = PublishingSettings(
        enabled=p.get("enabled", _bool, pub.enabled),
        pace=p.get("pace", parse_duration, pub.pace),
        retry_limit=p.get("retry_limit", _int_range(1, 100), pub.retry_limit),
        retry_backoff=p.get("retry_backoff", parse_duration, pub.retry_backoff),
        paused_recheck=p.get("paused_recheck", parse_duration, pub.paused_recheck),
        excerpt_length=p.get("excerpt_length", _int_range(50, 4000), pub.excerpt_length),
        history_unreadable="resend"
        if p.get("history_unreadable", _choice("skip", "resend"), "skip") == "resend"
        else "skip",
    )
    p.finish()

    subscriptions: list[SubscriptionSpec] = []
    seen_channels: dict[int, int] = {}
    for n, entry in enumerate(top.items("subscriptions")):
        if not isinstance(entry, Mapping):
            problems.append(f"subscriptions[{n}]: expected a mapping, got {_kind(entry)}")
            continue
        sub = parse_subscription(entry, f"subscriptions[{n}].", problems)
        if sub is None:
            continue
        if sub.channel_id in seen_channels:
            problems.append(
                f"subscriptions[{n}].channel_id: channel {sub.channel_id} already has a "
                f"subscription (subscriptions[{seen_channels[sub.channel_id]}]); "
                "one subscription per channel"
            )
            continue
        seen_channels[sub.channel_id] = n
        subscriptions.append(sub)

    m = top.section("moderation", "moderation settings")
    moderation = ModerationSettings(
        moderator_role_ids=m.get("moderator_role_ids", _snowflake_list, ()),
        log_channel_id=m.get("log_channel_id", _optional(snowflake), None),
    )
    m.finish()

    dsc = top.section("discord", "discord settings")
    discord_settings = DiscordSettings(
        sync_guild_ids=dsc.get("sync_guild_ids", _snowflake_list, ()),
    )
    dsc.finish()

    http: HttpSettings | None = None
    if raw.get("http") is not None:
        h = top.section("http", "http settings")
        defaults = HttpSettings()
        http = HttpSettings(
            host=h.get("host", _text, defaults.host),
            port=h.get("port", _int_range(0, 65535), defaults.port),
        )
        h.finish()
    else:
        top.used.add("http")

    lg = top.section("logging", "logging settings")
    logging_settings = LoggingSettings(
        level=lg.get(
            "level", lambda v: _choice("debug", "info", "warning", "error")(v).upper(), "INFO"
        ),
        format=lg.get("format", _choice("plain", "json"), "plain"),
    )
    lg.finish()

    top.finish()
    if "token" in raw or "discord_token" in raw:
        problems.append(
            f"token: the Discord token is read only from the environment ({TOKEN_ENV}), "
            "never from the config file; remove it from the file"
        )
    if problems:
        raise ConfigError(problems)

    token = environ.get(TOKEN_ENV, "").strip() or None
    return Settings(
        database=DatabaseSettings(db_path),
        sources=tuple(sources),
        ingest=ingest,
        publishing=publishing,
        subscriptions=tuple(subscriptions),
        moderation=moderation,
        discord=discord_settings,
        http=http,
        logging=logging_settings,
        token=token,
        config_path=config_path,
    )


def load_settings(
    path: Path = DEFAULT_CONFIG_PATH, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read and validate the config file; raise ConfigError listing every problem."""
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = ""
        if path == DEFAULT_CONFIG_PATH:
            hint = " (copy config/config.example.yaml to config/config.yaml, or pass --config PATH)"
        raise ConfigError([f"{path}: config file not found{hint}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([f"{path}: invalid YAML{where}: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None
    return settings_from_mapping(raw, env, config_path=path)
