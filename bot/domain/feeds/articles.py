"""A feed item to an article (pure): a Smartable-format mapping, validated by the same
``article_from_mapping`` as every file, so a feed item obeys the archive's one set of rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bot.domain.feeds.models import FeedDocument, FeedEntry, FeedSourceFields
from bot.domain.ingest.rejections import InvalidArticleError, Rejection
from bot.domain.ingest.schema import article_from_mapping
from bot.domain.models import Article
from bot.domain.text import topic_key
from bot.domain.urls import is_http_url

GUID_FIELD = "feedGuid"  # kept in Article.extra: the item's original guid


def first_date(entry: FeedEntry) -> datetime | None:
    """The item's own date: published, else updated (else the caller uses first seen)."""
    return entry.published or entry.updated


def cut_at_word(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def _domain(link: str) -> str | None:
    host = (urlsplit(link).hostname or "").lower()
    return host.removeprefix("www.") or None


def _topics(entry: FeedEntry, fields: FeedSourceFields) -> list[str]:
    seen: set[str] = set()
    out = []
    for label in (*entry.categories, *fields.topics):
        key = topic_key(label)
        if key and key not in seen:
            seen.add(key)
            out.append(label)
    return out


def entry_article(
    entry: FeedEntry,
    document: FeedDocument,
    fields: FeedSourceFields,
    *,
    published_at: datetime,
    excerpt_chars: int = 1000,
) -> Article:
    """Raises InvalidArticleError with the reason for an item that cannot be an article."""
    if entry.link is None or not is_http_url(entry.link):
        raise InvalidArticleError("the item has no http(s) link")
    provider = fields.provider or document.title
    data: dict[str, Any] = {
        "title": entry.title,
        "excerpt": cut_at_word(entry.summary, excerpt_chars) if entry.summary else None,
        "publishedDateTime": published_at,
        "webUrl": entry.link,
        "type": "video" if entry.video else "article",
        "quality": fields.quality,
        "published": False,
        "provider": {"name": provider, "domain": _domain(entry.link)},
        "topics": _topics(entry, fields),
        "images": [dict(image) for image in entry.images],
        GUID_FIELD: entry.guid,
    }
    return article_from_mapping(data)


@dataclass(frozen=True, slots=True)
class FeedArticle:
    guid: str
    article: Article
    first_seen: bool  # not remembered from an earlier fetch of this feed


def feed_articles(
    document: FeedDocument,
    fields: FeedSourceFields,
    *,
    known: Mapping[str, tuple[str, datetime]],
    now: datetime,
    source: str,
    excerpt_chars: int = 1000,
) -> tuple[list[FeedArticle], list[Rejection]]:
    """A parsed feed's items as articles, one per guid (the first the feed lists), and the
    items rejected (reported as ``source`` and the guid). ``known``: the (article URL, date)
    each guid became when first stored; within a feed the guid is the identity, so a guid
    seen before keeps its article's URL and its publishing date."""
    entries = list({entry.guid: entry for entry in reversed(document.entries)}.values())
    entries.reverse()
    out: list[FeedArticle] = []
    rejected: list[Rejection] = []
    for entry in entries:
        seen = known.get(entry.guid)
        published = seen[1] if seen else (first_date(entry) or now)
        try:
            article = entry_article(
                entry, document, fields, published_at=published, excerpt_chars=excerpt_chars
            )
        except InvalidArticleError as exc:
            rejected.append(Rejection(source, exc.message, item=entry.guid))
            continue
        if seen is not None and seen[0] != article.url:
            article = replace(article, url=seen[0])
        out.append(FeedArticle(entry.guid, article, seen is None))
    return out, rejected
