"""Embeds for listings (related coverage, topic pages, search results): pure, within limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.posts import (
    DESCRIPTION_LIMIT,
    EMBED_COLOUR,
    TITLE_LIMIT,
    escape_markdown,
    one_line,
    safe_url,
    truncate,
)
from bot.domain.text import quality_text

LISTING_LINE_LIMIT = 380


@dataclass(frozen=True, slots=True)
class CoverageItem:
    """One piece of coverage of a story: a source's related item or a stored article."""

    title: str
    url: str
    provider: str | None = None
    published_at: datetime | None = None
    article_id: int | None = None  # set when Newsdesk stores this article


def coverage_line(item: CoverageItem) -> str | None:
    url = safe_url(item.url)
    if url is None:
        return None
    url = url.replace("(", "%28").replace(")", "%29")
    meta = [escape_markdown(one_line(item.provider))] if item.provider else []
    if item.published_at is not None:
        meta.append(f"{item.published_at:%Y-%m-%d}")
    suffix = f" — {' · '.join(meta)}" if meta else ""
    room = LISTING_LINE_LIMIT - len(url) - len(suffix) - 6
    if room < 10:
        return None
    title = truncate(escape_markdown(one_line(item.title or url)), room)
    return f"• [{title}]({url}){suffix}"


def related_embed(title: str, url: str | None, items: Sequence[CoverageItem]) -> dict[str, Any]:
    """The private answer of /news related and of the "Related coverage" button."""
    embed: dict[str, Any] = {
        "type": "rich",
        "color": EMBED_COLOUR,
        "title": truncate(f"Related coverage: {escape_markdown(one_line(title))}", TITLE_LIMIT),
    }
    if url and safe_url(url):
        embed["url"] = url
    lines: list[str] = []
    used = 0
    for item in items:
        line = coverage_line(item)
        if line is None:
            continue
        if used + len(line) + 1 > DESCRIPTION_LIMIT - 40:
            lines.append(f"… and {len(items) - len(lines)} more")
            break
        lines.append(line)
        used += len(line) + 1
    embed["description"] = "\n".join(lines) if lines else "No related coverage is known yet."
    return embed


def summary_embed(
    *,
    title: str,
    url: str,
    provider: str | None,
    published_at: datetime,
    quality: float | None,
) -> dict[str, Any]:
    """A compact embed for one article of a listing: linked title, provider, date, quality."""
    meta = [escape_markdown(one_line(provider))] if provider else []
    meta.append(f"{published_at:%Y-%m-%d}")
    meta.append(quality_text(quality))
    embed: dict[str, Any] = {
        "type": "rich",
        "color": EMBED_COLOUR,
        "title": truncate(escape_markdown(one_line(title)) or "Untitled", TITLE_LIMIT),
        "description": " · ".join(meta),
    }
    if safe_url(url):
        embed["url"] = url
    return embed


def topics_embed(rows: Sequence[tuple[str, int]], number: int, total: int) -> dict[str, Any]:
    lines = [f"**{escape_markdown(one_line(name))}** — {count:,}" for name, count in rows]
    return {
        "type": "rich",
        "color": EMBED_COLOUR,
        "title": f"Topics ({total:,})",
        "description": "\n".join(lines) if lines else "No topics yet.",
        "footer": {"text": f"Page {number + 1} · articles per topic"},
    }
