"""A parsed feed as plain, picklable data: it crosses from a parse worker to the main process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class FeedEntry:
    guid: str  # the item's id; else its link; else "sha256:" of its title and summary
    title: str | None
    link: str | None  # absolute
    summary: str | None  # plain text
    published: datetime | None
    updated: datetime | None
    categories: tuple[str, ...] = ()
    images: tuple[dict[str, Any], ...] = ()
    video: bool = False


@dataclass(frozen=True, slots=True)
class FeedDocument:
    title: str | None
    link: str | None
    entries: tuple[FeedEntry, ...]
    error: str | None = None  # the whole body is not a usable feed (entries is empty)
    dialect: str = ""


@dataclass(frozen=True, slots=True)
class FeedSourceFields:
    """What a feed source's configuration adds to each of its items."""

    topics: tuple[str, ...] = ()
    quality: int | float = 50
    provider: str | None = None  # None: the feed's own title
