"""Domain models shared by every layer (frozen dataclasses, no behaviour that does I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
    withdrawn_at: datetime | None = (
        None  # when it left its source (bot.services.ingest.withdrawals)
    )
    # the servers whose own feeds alone carry it (bot.store.visibility); None: every server
    servers: tuple[int, ...] | None = None

    @property
    def image_url(self) -> str | None:
        for image in self.images:
            url = image.get("url")
            if isinstance(url, str):
                return url
        return None
