"""What a subscription is, whether it may publish now, and when it runs next (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import Enum
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.domain.keywords import MAX_KEYWORD_LENGTH, MAX_KEYWORDS, parse_terms
from bot.domain.text import kind
from bot.domain.validation import Strict, problems
from bot.domain.values import (
    Flag,
    Names,
    OptionalSnowflake,
    Snowflake,
    TimeZone,
    choice,
    format_duration,
    no_limit_or,
    number,
    optional,
    parse_clock,
    parse_duration,
    whole_number,
)
from bot.domain.values import cron as crontab_line

T = TypeVar("T")

# A job scheduled at start-up (or after an edit) runs no sooner than this.
FIRST_RUN_DELAY = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # spans midnight

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class _Conflict(str):
    """What _one_schedule found wrong with the schedule, for its field to report."""


def _schedule(parse: Callable[[Any], T]) -> Callable[[Any], T | None]:
    def wrapped(value: Any) -> T | None:
        if isinstance(value, _Conflict):
            raise ValueError(str(value))
        return None if value is None else parse(value)

    return wrapped


# The one statement of what a subscription may be, wherever it comes from.
DEFAULT_INTERVAL = timedelta(minutes=30)
MIN_INTERVAL = timedelta(minutes=1)  # from Discord (moderators)
MIN_INTERVAL_CONFIG = timedelta(seconds=1)  # the config file may go lower: meant for tests
MAX_INTERVAL = timedelta(days=7)
DEFAULT_MAX_AGE = timedelta(days=7)
DEFAULT_MIN_QUALITY = 0.0
DEFAULT_PER_RUN = 3
MAX_PER_RUN = 10
# Each topic is one walk of the candidate query's compound SELECT, which SQLite caps at 500.
MAX_TOPICS = 100


# How long an idle thread stays open: the durations Discord offers (in minutes).
THREAD_ARCHIVE_MINUTES = {"1h": 60, "1d": 1440, "3d": 4320, "7d": 10080}
DEFAULT_THREAD_ARCHIVE = "1d"
FORUM_TAGS = ("auto", "none")
ON_REMOVED = ("keep", "mark", "delete")
MODES = ("posts", "digest")  # a message per article, or one message with the run's best
DEFAULT_DIGEST_SIZE = 5
MAX_DIGEST_SIZE = 10  # Discord's limit of embeds in one message
DEFAULT_EDIT_WINDOW = timedelta(days=7)


def _archive_after(value: Any) -> str:
    """One of THREAD_ARCHIVE_MINUTES' names; an equal duration (``24h``) reads as its name."""
    try:
        length = parse_duration(value)
    except ValueError:
        length = None
    for name, minutes in THREAD_ARCHIVE_MINUTES.items():
        if length == timedelta(minutes=minutes):
            return name
    raise ValueError(f"expected one of {', '.join(THREAD_ARCHIVE_MINUTES)}, got {kind(value)}")


def _keywords(entries: tuple[str, ...]) -> tuple[str, ...]:
    """At most MAX_KEYWORDS entries of MAX_KEYWORD_LENGTH characters, each with a word."""
    if len(entries) > MAX_KEYWORDS:
        raise ValueError(f"at most {MAX_KEYWORDS} entries, got {len(entries)}")
    for entry in entries:
        if len(entry) > MAX_KEYWORD_LENGTH:
            raise ValueError(
                f"an entry has at most {MAX_KEYWORD_LENGTH} characters, got {len(entry)}: "
                f"{entry[:30]!r}..."
            )
        if not parse_terms([entry]):
            raise ValueError(f"{entry!r} has no word to look for")
    return entries


Keywords = Annotated[Names, AfterValidator(_keywords)]


def _few_topics(topics: tuple[str, ...]) -> tuple[str, ...]:
    if len(topics) > MAX_TOPICS:
        raise ValueError(f"at most {MAX_TOPICS} topics, got {len(topics)}")
    return topics


def parse_quiet_hours(value: Any) -> QuietHours:
    if isinstance(value, QuietHours):
        return value
    if isinstance(value, str) and "-" in value:
        start, _, end = value.partition("-")
        return QuietHours(parse_clock(start), parse_clock(end))
    if isinstance(value, Mapping) and set(value) == {"start", "end"}:
        return QuietHours(parse_clock(value["start"]), parse_clock(value["end"]))
    raise ValueError(f'expected a range such as "22:00-07:00", got {kind(value)}')


class InvalidSpec(ValueError):
    """What is wrong with a subscription, one ``key: problem`` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SubscriptionSpec(Strict):
    """What a subscription is: a channel, the rules for what goes there, and a schedule.

    Written in the config file or given by a moderator's slash command, validated here in
    both cases (only the shortest interval differs: see MIN_INTERVAL_CONFIG); stored in the
    database.
    """

    channel_id: Snowflake = Field(description="the id of the channel to post in")
    topics: Annotated[Names, AfterValidator(_few_topics)] = ()
    exclude_topics: Names = ()
    min_quality: Annotated[float, BeforeValidator(number)] = DEFAULT_MIN_QUALITY
    max_per_run: Annotated[int, BeforeValidator(whole_number), Field(ge=1, le=MAX_PER_RUN)] = (
        DEFAULT_PER_RUN
    )
    interval: Annotated[timedelta | None, BeforeValidator(_schedule(parse_duration))] = (
        DEFAULT_INTERVAL
    )
    cron: Annotated[str | None, BeforeValidator(_schedule(crontab_line))] = None
    timezone: TimeZone = "UTC"
    quiet_hours: Annotated[QuietHours | None, BeforeValidator(optional(parse_quiet_hours))] = None
    max_age: Annotated[timedelta | None, BeforeValidator(no_limit_or(parse_duration))] = (
        DEFAULT_MAX_AGE
    )
    types: Names = ()
    exclude_types: Names = ()
    providers: Names = ()
    exclude_providers: Names = ()
    keywords: Keywords = ()  # words or "quoted phrases" (bot.domain.keywords)
    exclude_keywords: Keywords = ()
    mention_role_id: OptionalSnowflake = None
    crosspost: Flag = False
    thread: Flag = False
    thread_archive: Annotated[str, BeforeValidator(_archive_after)] = DEFAULT_THREAD_ARCHIVE
    forum_tags: Annotated[str, BeforeValidator(choice(*FORUM_TAGS))] = "auto"
    edits: Flag = True
    edit_window: Annotated[timedelta | None, BeforeValidator(no_limit_or(parse_duration))] = (
        DEFAULT_EDIT_WINDOW
    )
    # What happens to a post whose article left its source (bot.domain.edits.next_action).
    on_removed: Annotated[str, BeforeValidator(choice(*ON_REMOVED))] = "keep"
    mode: Annotated[str, BeforeValidator(choice(*MODES))] = "posts"
    digest_size: Annotated[int, BeforeValidator(whole_number), Field(ge=1, le=MAX_DIGEST_SIZE)] = (
        DEFAULT_DIGEST_SIZE
    )
    enabled: Flag = True

    @model_validator(mode="before")
    @classmethod
    def _one_schedule(cls, data: Any) -> Any:
        """Either an interval or a cron line; a cron line given means no interval.

        A conflict is left for the field to report (see _schedule), so that the other
        fields are still checked and every problem is listed at once.
        """
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        has_cron = data.get("cron") is not None
        if has_cron and data.get("interval") is not None:
            data["cron"] = _Conflict("give either interval or cron, not both")
        elif has_cron:
            data["interval"] = None
        elif "interval" in data and data["interval"] is None:
            data["interval"] = _Conflict("give an interval (such as 30m) or a cron expression")
        return data

    @field_validator("interval")
    @classmethod
    def _interval_range(cls, value: timedelta | None, info: ValidationInfo) -> timedelta | None:
        low = (info.context or {}).get("min_interval", MIN_INTERVAL_CONFIG)
        if value is not None and not low <= value <= MAX_INTERVAL:
            raise ValueError(
                f"must be from {format_duration(low)} to {format_duration(MAX_INTERVAL)}, "
                f"got {format_duration(value)!r}"
            )
        return value

    @classmethod
    def from_discord(cls, data: Mapping[str, Any]) -> SubscriptionSpec:
        """A new subscription from a moderator's options; InvalidSpec lists the problems."""
        return cls._checked(data, MIN_INTERVAL)

    def changed(self, changes: Mapping[str, Any]) -> SubscriptionSpec:
        """This spec with a moderator's changes, validated as if given from Discord (an
        interval from the config file that is shorter than a moderator may choose stays)."""
        merged = {**self.model_dump(), **changes}
        if changes.get("interval") is not None:
            merged["cron"] = None
        elif changes.get("cron") is not None:
            merged["interval"] = None
        low = MIN_INTERVAL if "interval" in changes else MIN_INTERVAL_CONFIG
        return self._checked(merged, low)

    @classmethod
    def _checked(cls, data: Mapping[str, Any], min_interval: timedelta) -> SubscriptionSpec:
        try:
            return cls.model_validate(data, context={"min_interval": min_interval})
        except ValidationError as exc:
            raise InvalidSpec(problems(exc, cls)) from None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A stored subscription: its spec plus the state publishing keeps about it."""

    id: int
    spec: SubscriptionSpec
    guild_id: int | None = None
    origin: str = "config"  # or "command": created by a moderator
    paused_reason: str | None = None
    paused_at: datetime | None = None
    alerted_reason: str | None = None
    last_run_at: datetime | None = None
    thread_problem: str | None = None  # why posts go without discussion threads (told once)

    @property
    def channel_id(self) -> int:
        return self.spec.channel_id

    @property
    def digest(self) -> bool:
        """Each run posts one digest message instead of a message per article."""
        return self.spec.mode == "digest"

    @property
    def active(self) -> bool:
        """Switched on by moderators and not paused by a Discord failure."""
        return self.spec.enabled and self.paused_reason is None

    @property
    def ids(self) -> dict[str, int | None]:
        """What every log line about this subscription carries."""
        return {
            "subscription_id": self.id,
            "channel_id": self.channel_id,
            "guild_id": self.guild_id,
        }


class State(Enum):
    ON = "on"
    OFF = "off"
    PAUSED = "paused"


SWITCHED_OFF = "the subscription is switched off"
SERVER_OFF = "publishing is switched off for this server"


@dataclass(frozen=True, slots=True)
class Standing:
    """Whether a subscription publishes, and why not."""

    state: State
    reason: str | None = None

    def why_not(self) -> str | None:
        """Why nothing is posted, in a few words; None when it is on."""
        if self.state is State.PAUSED:
            return f"paused: {self.reason}"
        return self.reason

    def __str__(self) -> str:
        return self.state.value if self.reason is None else f"{self.state.value}: {self.reason}"


def standing(sub: Subscription, server_enabled: bool) -> Standing:
    """The one rule for what moderators and operators are shown: off beats paused beats on."""
    if not sub.spec.enabled:
        return Standing(State.OFF, SWITCHED_OFF)
    if not server_enabled:
        return Standing(State.OFF, SERVER_OFF)
    if sub.paused_reason is not None:
        return Standing(State.PAUSED, sub.paused_reason)
    return Standing(State.ON)


def in_quiet_hours(spec: SubscriptionSpec, now: datetime) -> bool:
    if spec.quiet_hours is None:
        return False
    return spec.quiet_hours.contains(now.astimezone(ZoneInfo(spec.timezone)).time())


def cron_trigger(spec: SubscriptionSpec) -> CronTrigger:
    assert spec.cron is not None
    return CronTrigger.from_crontab(spec.cron, timezone=spec.timezone)


def next_run(spec: SubscriptionSpec, last_run: datetime | None, now: datetime) -> datetime:
    """When the scheduler runs the subscription next, if it (re)schedules it ``now``.

    Interval: one interval after the last run, but never sooner than FIRST_RUN_DELAY (so a
    restart never replays a backlog). Cron: the next matching time, in the subscription's zone.
    """
    if spec.cron:
        fire: datetime | None = cron_trigger(spec).get_next_fire_time(None, now)
        assert fire is not None  # a valid crontab line always fires again
        return fire
    assert spec.interval is not None
    earliest = now + FIRST_RUN_DELAY
    return earliest if last_run is None else max(earliest, last_run + spec.interval)
