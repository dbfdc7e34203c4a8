"""Domain models shared by every layer (frozen dataclasses, no behaviour that does I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

Number = int | float


@dataclass(frozen=True, slots=True)
class Provider:
    """Who published the article. ``extra`` keeps every other field (``images`` included)."""

    name: str | None = None
    domain: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def icon_url(self) -> str | None:
        images = self.extra.get("images")
        if isinstance(images, list):
            for image in images:
                url = image.get("url") if isinstance(image, dict) else None
                if isinstance(url, str):
                    return url
        return None


@dataclass(frozen=True, slots=True)
class RelatedItem:
    """One item of an article's related coverage, a small article of its own.

    ``data`` is the item exactly as the source gave it (JSON-safe), so nothing is lost;
    the typed fields are what Newsdesk reads from it.
    """

    url: str | None
    title: str | None
    excerpt: str | None = None
    published_at: datetime | None = None
    provider_name: str | None = None
    quality: Number | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Article:
    """A curated news article. ``url`` (canonical) is its identity."""

    url: str
    title: str
    published_at: datetime
    excerpt: str | None = None
    web_url: str | None = None
    original_url: str | None = None
    type: str = "article"
    quality: Number | None = None
    heat: Number | None = None
    published: bool = False  # what the source file says
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[dict[str, Any], ...] = ()
    related: tuple[RelatedItem, ...] = ()
    featured_content: str | None = None
    body: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    id: int | None = None  # assigned by the store

    @property
    def link(self) -> str:
        """The URL readers should open: the canonical one."""
        return self.url

    @property
    def image_url(self) -> str | None:
        for image in self.images:
            url = image.get("url")
            if isinstance(url, str):
                return url
        return None


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
