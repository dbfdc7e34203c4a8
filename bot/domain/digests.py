"""The one place a run's articles become a digest message (pure: plain data, no discord.py).

A digest is one message: its title (with the date in the subscription's time zone) as the
content, after the role mention if there is one; one embed per article, each linked, with a
short excerpt, the provider and a thumbnail; and a Related coverage button for each article
that has any (the same persistent button as a post's, labelled with the article's place).
Every embed of a message shares Discord's 6,000 characters, so each article gets an equal
share of them and is cut to fit (excerpt first, then footer, provider,
title). An article that left its source is shown as withdrawn (title and link only) when the
subscription marks or deletes withdrawn posts: a digest is never deleted while it carries
other articles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.edits import WITHDRAWN_SHOWN
from bot.domain.models import Article
from bot.domain.posts import (
    AUTHOR_LIMIT,
    BUTTON_LABEL_LIMIT,
    CONTENT_LIMIT,
    EMBED_COLOUR,
    EMBED_TOTAL_LIMIT,
    TITLE_LIMIT,
    WITHDRAWN_COLOUR,
    WITHDRAWN_NOTE,
    PostSpec,
    RelatedChoice,
    embed_length,
    escape_markdown,
    one_line,
    related_line,
    safe_url,
    truncate,
    video_thumbnail,
)
from bot.domain.selection import best_first
from bot.domain.text import quality_text

MAX_EMBEDS = 10  # Discord's limit per message
DIGEST_EXCERPT = 200  # a digest's excerpts are shorter than a post's: ten share one message
DIGEST_FOOTER = 120
RELATED_LABEL = "🔗 {n}. {title}"  # a digest's button of its n-th article's related coverage


@dataclass(frozen=True, slots=True)
class DigestItem:
    article: Article
    withdrawn: bool = False  # shown as withdrawn by its source (title and link only)


def in_digest_order(articles: Sequence[Article]) -> list[Article]:
    """The order a digest shows its articles in, when sent and each time it is re-rendered:
    the order runs choose them in."""
    return sorted(articles, key=lambda a: best_first(a.quality, a.published_at), reverse=True)


def shown_withdrawn(withdrawn: bool, on_removed: str, post_shows: str | None) -> bool:
    """Whether a digest shows an article as withdrawn: it left its source and on_removed
    marks or deletes its posts (a digest that carries others is marked), or the digest shows
    it so already."""
    return withdrawn and (on_removed != "keep" or post_shows == WITHDRAWN_SHOWN)


def digest_title(moment: datetime, timezone: str) -> str:
    """``News digest · Thursday 3 December 2026``: the day ``moment`` falls on in the zone.
    The moment is the digest's first attempt, so a re-render or a late thread says the same."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"News digest · {local:%A} {local.day} {local:%B %Y}"


def build_digest(
    items: Sequence[DigestItem],
    *,
    title: str,
    excerpt_length: int = DIGEST_EXCERPT,
    mention_role_id: int | None = None,
) -> PostSpec:
    """The digest message for ``items`` (1 to 10, in the order shown), within every limit."""
    assert 1 <= len(items) <= MAX_EMBEDS, len(items)
    share = EMBED_TOTAL_LIMIT // len(items)
    embeds = [_fit(_embed(item, excerpt_length), share) for item in items]
    heading = f"**{escape_markdown(one_line(title))}**"
    content = f"<@&{mention_role_id}> {heading}" if mention_role_id else heading
    buttons = tuple(
        RelatedChoice(item.article.id, _label(n, item.article.title))
        for n, item in enumerate(items, start=1)
        if item.article.id is not None
        and not item.withdrawn
        and any(related_line(r) for r in item.article.related)
    )
    return PostSpec(
        embed=embeds[0],
        more_embeds=tuple(embeds[1:]),
        content=content[:CONTENT_LIMIT],
        mention_role_id=mention_role_id,
        related_buttons=buttons,
        digest_urls=tuple(item.article.url for item in items),
    )


def _label(n: int, title: str) -> str:
    """A button's label: the article's place in the digest and its title, within 80."""
    head = RELATED_LABEL.format(n=n, title="")
    return head + truncate(one_line(title) or "Untitled", BUTTON_LABEL_LIMIT - len(head))


def _embed(item: DigestItem, excerpt_length: int) -> dict[str, Any]:
    article = item.article
    embed: dict[str, Any] = {
        "type": "rich",
        "color": WITHDRAWN_COLOUR if item.withdrawn else EMBED_COLOUR,
        "title": truncate(escape_markdown(one_line(article.title)) or "Untitled", TITLE_LIMIT),
        "timestamp": article.published_at.astimezone(UTC).isoformat(),
    }
    if url := safe_url(article.url):
        embed["url"] = url
    if item.withdrawn:
        embed["description"] = f"*{WITHDRAWN_NOTE}*"
        embed["footer"] = {"text": "Withdrawn"}
        return embed
    if article.excerpt:
        limit = max(1, min(excerpt_length, DIGEST_EXCERPT))
        embed["description"] = truncate(one_line(article.excerpt), limit)
    provider = article.provider
    if provider and (provider.name or provider.domain):
        author: dict[str, Any] = {
            "name": truncate(one_line(provider.name or provider.domain or ""), AUTHOR_LIMIT)
        }
        if icon := safe_url(provider.icon_url):
            author["icon_url"] = icon
        embed["author"] = author
    video = article.type.lower() == "video"
    if picture := safe_url(video_thumbnail(article) if video else article.image_url):
        embed["thumbnail"] = {"url": picture}
    topics = " · ".join(one_line(t) for t in article.topics)
    quality = quality_text(article.quality).capitalize()
    footer = f"{topics} | {quality}" if topics else quality
    embed["footer"] = {"text": truncate(footer, DIGEST_FOOTER)}
    return embed


def _fit(embed: dict[str, Any], share: int) -> dict[str, Any]:
    """Cut the embed's texts, the least needed first, until it counts at most ``share``."""
    for path in (("description",), ("footer", "text"), ("author", "name"), ("title",)):
        excess = embed_length(embed) - share
        if excess <= 0:
            break
        holder = embed
        for key in path[:-1]:
            holder = holder.get(key, {})
        text = holder.get(path[-1])
        if not text:
            continue
        if len(text) - excess < 1 and path == ("description",):
            del holder[path[-1]]  # nothing of the excerpt would be left
        else:
            holder[path[-1]] = truncate(text, max(1, len(text) - excess))
    return embed
