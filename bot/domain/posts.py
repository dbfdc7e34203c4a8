"""The one place an article becomes a Discord post (pure: plain data, no discord.py).

:func:`build_post` enforces every Discord limit a post can hit, so Discord never answers
400 / 50035 for something Newsdesk built: title 256, description 4096, field name 256 and
value 1024, footer 2048, author 256, 25 fields, 6000 characters in total, http(s) URLs
only, link-button URLs of at most 512 characters, no pings (``allowed_mentions`` none, except
the subscription's own role), markdown in titles escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from bot.domain.models import Article, RelatedItem
from bot.domain.text import quality_text
from bot.domain.urls import MAX_URL_LENGTH, is_http_url

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
FIELDS_LIMIT = 25
EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000
BUTTON_URL_LIMIT = 512
BUTTON_LABEL_LIMIT = 80
RELATED_LINKS = 3
EMBED_COLOUR = 0x2B6CB0
ELLIPSIS = "…"

RELATED_BUTTON_PREFIX = "newsdesk:related:"

_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()<])")
_WHITESPACE = re.compile(r"\s+")
_YOUTUBE = re.compile(r"youtube(?:-nocookie)?\.com/embed/([A-Za-z0-9_-]{6,20})")


def related_button_id(article_id: int) -> str:
    return f"{RELATED_BUTTON_PREFIX}{article_id}"


@dataclass(frozen=True, slots=True)
class LinkButton:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class RelatedChoice:
    """One article of a digest with its own Related coverage button."""

    article_id: int
    label: str


@dataclass(frozen=True, slots=True)
class PostSpec:
    """A message to send: plain data that discord_io turns into discord.py objects. A post
    shows one article; a digest (bot.domain.digests) one embed per article."""

    embed: dict[str, Any]
    content: str | None = None
    mention_role_id: int | None = None  # the only mention allowed to ping
    link_button: LinkButton | None = None
    related_button_id: str | None = None
    article_id: int | None = None
    article_url: str = ""
    more_embeds: tuple[dict[str, Any], ...] = ()  # a digest: the embeds after the first
    related_buttons: tuple[RelatedChoice, ...] = ()  # a digest: a button per article with some
    digest_urls: tuple[str, ...] = ()  # a digest: every article's URL

    @property
    def embeds(self) -> tuple[dict[str, Any], ...]:
        return (self.embed, *self.more_embeds)

    @property
    def urls(self) -> tuple[str, ...]:
        """The articles the message carries, by URL."""
        return self.digest_urls or (self.article_url,)


def escape_markdown(text: str) -> str:
    """Escape Discord markdown so titles show as written (``*`` stays ``*``)."""
    return _MARKDOWN.sub(r"\\\1", text)


def one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def truncate(text: str, limit: int) -> str:
    """Cut at a word boundary so the result, with an ellipsis, fits ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    cut = cut.rstrip(" ,.;:-")
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]  # never leave half an escape behind
    return cut + ELLIPSIS


def safe_url(url: str | None, limit: int = MAX_URL_LENGTH) -> str | None:
    if url is None or len(url) > limit or not is_http_url(url):
        return None
    return url.strip()


def video_thumbnail(article: Article) -> str | None:
    """A thumbnail for a video article: its image, else the YouTube still of its embed."""
    if article.image_url and safe_url(article.image_url):
        return article.image_url
    for text in (article.featured_content, article.url, article.original_url):
        if text and (match := _YOUTUBE.search(text)):
            return f"https://img.youtube.com/vi/{match.group(1)}/hqdefault.jpg"
        if text and (match := re.search(r"youtube\.com/watch\?v=([A-Za-z0-9_-]{6,20})", text)):
            return f"https://img.youtube.com/vi/{match.group(1)}/hqdefault.jpg"
    return None


def related_line(item: RelatedItem, limit: int = 300) -> str | None:
    """One related-coverage link: ``[title](url) — provider``; None when it has no usable URL."""
    url = safe_url(item.url)
    if url is None:
        return None
    title = escape_markdown(one_line(item.title or url))
    url = url.replace("(", "%28").replace(")", "%29")
    provider = f" — {escape_markdown(one_line(item.provider_name))}" if item.provider_name else ""
    room = limit - len(url) - len(provider) - 4
    if room < 10:
        return None
    return f"[{truncate(title, room)}]({url}){provider}"


def build_post(
    article: Article,
    *,
    excerpt_length: int = 350,
    mention_role_id: int | None = None,
) -> PostSpec:
    """The rich embed for an article, within every Discord limit."""
    embed: dict[str, Any] = {"type": "rich", "color": EMBED_COLOUR}
    title = truncate(escape_markdown(one_line(article.title)) or "Untitled", TITLE_LIMIT)
    embed["title"] = title
    url = safe_url(article.url)
    if url:
        embed["url"] = url
    if article.excerpt:
        excerpt = one_line(article.excerpt)
        limit = max(1, min(excerpt_length, DESCRIPTION_LIMIT))
        embed["description"] = truncate(excerpt, limit)
    embed["timestamp"] = article.published_at.astimezone(UTC).isoformat()

    provider = article.provider
    if provider and (provider.name or provider.domain):
        author: dict[str, Any] = {
            "name": truncate(one_line(provider.name or provider.domain or ""), AUTHOR_LIMIT)
        }
        if icon := safe_url(provider.icon_url):
            author["icon_url"] = icon
        if provider.domain and (home := safe_url(f"https://{provider.domain.strip()}/")):
            author["url"] = home
        embed["author"] = author

    picture = video_thumbnail(article) if article.type.lower() == "video" else article.image_url
    if picture := safe_url(picture):
        embed["thumbnail" if article.type.lower() == "video" else "image"] = {"url": picture}

    lines = [line for item in article.related if (line := related_line(item))]
    if lines:
        value = ""
        for line in lines[:RELATED_LINKS]:
            candidate = f"{value}\n• {line}" if value else f"• {line}"
            if len(candidate) > FIELD_VALUE_LIMIT:
                break
            value = candidate
        if value:
            embed["fields"] = [{"name": "Related coverage", "value": value, "inline": False}]

    topics = " · ".join(one_line(t) for t in article.topics)
    quality = quality_text(article.quality).capitalize()
    footer = f"{topics} | {quality}" if topics else quality
    embed["footer"] = {"text": truncate(footer, FOOTER_LIMIT)}
    _fit_total(embed)

    content = f"<@&{mention_role_id}>" if mention_role_id else None
    button_url = safe_url(article.url, BUTTON_URL_LIMIT)
    return PostSpec(
        embed=embed,
        content=content,
        mention_role_id=mention_role_id,
        link_button=LinkButton("Read the article", button_url) if button_url else None,
        related_button_id=related_button_id(article.id) if article.id is not None else None,
        article_id=article.id,
        article_url=article.url,
    )


WITHDRAWN_COLOUR = 0x718096
WITHDRAWN_NOTE = "The source withdrew this article."


def build_withdrawn_post(article: Article) -> PostSpec:
    """What a post becomes when its article left its source (``on_removed: mark``): the title
    and link stay, so readers know what it was and reconciliation still knows the post; the
    excerpt, the picture, the related coverage and its button go."""
    embed: dict[str, Any] = {
        "type": "rich",
        "color": WITHDRAWN_COLOUR,
        "title": truncate(escape_markdown(one_line(article.title)) or "Untitled", TITLE_LIMIT),
        "description": f"*{WITHDRAWN_NOTE}*",
        "timestamp": article.published_at.astimezone(UTC).isoformat(),
        "footer": {"text": "Withdrawn"},
    }
    if url := safe_url(article.url):
        embed["url"] = url
    button_url = safe_url(article.url, BUTTON_URL_LIMIT)
    return PostSpec(
        embed=embed,
        link_button=LinkButton("Read the article", button_url) if button_url else None,
        article_id=article.id,
        article_url=article.url,
    )


def embed_length(embed: dict[str, Any]) -> int:
    """What Discord counts toward the 6000-character total."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    total += len(embed.get("author", {}).get("name", ""))
    for item in embed.get("fields", []):
        total += len(item["name"]) + len(item["value"])
    return total


def _fit_total(embed: dict[str, Any]) -> None:
    """Shrink the longest parts until the embed fits 6000 characters (rarely needed)."""
    excess = embed_length(embed) - EMBED_TOTAL_LIMIT
    if excess <= 0:
        return
    if "description" in embed:
        keep = max(1, len(embed["description"]) - excess)
        embed["description"] = truncate(embed["description"], keep)
        excess = embed_length(embed) - EMBED_TOTAL_LIMIT
    if excess > 0 and "fields" in embed:
        del embed["fields"]
        excess = embed_length(embed) - EMBED_TOTAL_LIMIT
    if excess > 0:
        footer = embed["footer"]["text"]
        embed["footer"]["text"] = truncate(footer, max(1, len(footer) - excess))
