"""What a subscription is, whether it may publish now, and when it runs next (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

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


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """What a subscription is: a channel, the rules for what goes there, and a schedule.

    Written in the config file or built by a moderator command; stored in the database.
    """

    channel_id: int
    topics: tuple[str, ...] = ()
    exclude_topics: tuple[str, ...] = ()
    min_quality: float = 0
    max_per_run: int = 3
    interval: timedelta | None = timedelta(minutes=30)
    cron: str | None = None
    timezone: str = "UTC"
    quiet_hours: QuietHours | None = None
    max_age: timedelta | None = timedelta(days=7)
    types: tuple[str, ...] = ()
    exclude_types: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    exclude_providers: tuple[str, ...] = ()
    mention_role_id: int | None = None
    crosspost: bool = False
    enabled: bool = True


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

    @property
    def channel_id(self) -> int:
        return self.spec.channel_id

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
