"""Pure conversion between domain articles and table rows (no I/O).

Ingest workers call :func:`article_rows` in their own process, so the main process only ships
ready-made rows to SQLite. :func:`article_from_rows` is the way back, for export and display.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from bot.domain.delivery_records import INLINE_FIELD, DeliveryRecord, from_json
from bot.domain.edits import shown_digest
from bot.domain.models import Article, Provider, RelatedItem
from bot.domain.text import topic_key
from bot.store.times import db_time, parse_db_time

# Column order of ArticleRows.values, as in the articles table.
ARTICLE_COLUMNS = (
    "url",
    "web_url",
    "original_url",
    "title",
    "excerpt",
    "published_at",
    "type",
    "quality",
    "heat",
    "source_published",
    "provider_name",
    "provider_domain",
    "provider_key",
    "domain_key",
    "provider_json",
    "images_json",
    "featured_content",
    "body",
    "extra_json",
    "topics_text",
)
TOPIC_SEPARATOR = " | "
PUBLISHED_AT = ARTICLE_COLUMNS.index("published_at")
QUALITY = ARTICLE_COLUMNS.index("quality")
SOURCE_PUBLISHED = ARTICLE_COLUMNS.index("source_published")


def _json(value: Any) -> str | None:
    if value is None or value == {} or value == []:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ArticleRows(NamedTuple):
    """Everything the store writes for one article.

    A NamedTuple, not a dataclass: ingest workers send 100,000 of these to the main process,
    and tuples pickle in C.
    """

    url: str
    values: tuple[Any, ...]  # ARTICLE_COLUMNS order
    topics: tuple[tuple[str, str], ...]  # (key, label) in the article's order
    # (position, url, title, provider name, published_at, quality, data JSON)
    related: tuple[tuple[Any, ...], ...]
    content_hash: str
    source_path: str | None
    shown_hash: str  # what a post of it shows (bot.domain.edits.shown_digest)
    withdrawn_at: str | None = None  # an export's record that the article left its source
    # delivery records an older export carried inside the article (not article content)
    deliveries: tuple[DeliveryRecord, ...] = ()
    # an export's record that only these servers' own feeds carried it (store.visibility)
    servers: tuple[int, ...] | None = None

    @property
    def published_at(self) -> str:
        return str(self.values[PUBLISHED_AT])

    @property
    def quality(self) -> Any:
        return self.values[QUALITY]


def _inline_records(url: str, records: Any) -> tuple[DeliveryRecord, ...]:
    """Delivery records an older export carried inside the article; malformed ones are left
    out (they were never article content either)."""
    if not isinstance(records, list):
        return ()
    out = []
    for record in records:
        with contextlib.suppress(ValueError):
            out.append(from_json(record, url=url))
    return tuple(out)


def article_rows(article: Article, source_path: str | None = None) -> ArticleRows:
    extra = dict(article.extra)
    deliveries = _inline_records(article.url, extra.pop(INLINE_FIELD, None))
    provider = article.provider
    values = (
        article.url,
        article.web_url,
        article.original_url,
        article.title,
        article.excerpt,
        db_time(article.published_at),
        article.type,
        article.quality,
        article.heat,
        1 if article.published else 0,
        provider.name if provider else None,
        provider.domain if provider else None,
        topic_key(provider.name) if provider and provider.name else None,
        topic_key(provider.domain) if provider and provider.domain else None,
        json.dumps(provider.extra, ensure_ascii=False, separators=(",", ":")) if provider else None,
        _json(list(article.images)),
        article.featured_content,
        article.body,
        _json(extra),
        TOPIC_SEPARATOR.join(article.topics),
    )
    topics = tuple((topic_key(label), label) for label in article.topics)
    related = tuple(
        (
            position,
            item.url,
            item.title,
            item.provider_name,
            db_time(item.published_at) if item.published_at else None,
            item.quality,
            json.dumps(item.data, ensure_ascii=False, separators=(",", ":")),
        )
        for position, item in enumerate(article.related)
    )
    digest = hashlib.blake2b(
        json.dumps([values, topics, related], ensure_ascii=False, default=str).encode("utf-8"),
        digest_size=16,
    ).hexdigest()
    return ArticleRows(
        article.url,
        values,
        topics,
        related,
        digest,
        source_path,
        shown_digest(article),
        db_time(article.withdrawn_at) if article.withdrawn_at else None,
        deliveries,
        article.servers,
    )


def article_from_rows(
    row: Any,
    topics: Sequence[str] = (),
    related: Sequence[RelatedItem] = (),
) -> Article:
    """Rebuild an Article from an ``articles`` row, its topic labels and its related items."""
    provider: Provider | None = None
    if row["provider_json"] is not None:
        provider = Provider(
            name=row["provider_name"],
            domain=row["provider_domain"],
            extra=json.loads(row["provider_json"]),
        )
    return Article(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        published_at=parse_db_time(row["published_at"]),
        excerpt=row["excerpt"],
        web_url=row["web_url"],
        original_url=row["original_url"],
        type=row["type"],
        quality=row["quality"],
        heat=row["heat"],
        published=bool(row["source_published"]),
        provider=provider,
        topics=tuple(topics),
        images=tuple(json.loads(row["images_json"])) if row["images_json"] else (),
        related=tuple(related),
        featured_content=row["featured_content"],
        body=row["body"],
        extra=json.loads(row["extra_json"]) if row["extra_json"] else {},
        withdrawn_at=parse_db_time(row["withdrawn_at"]) if row["withdrawn_at"] else None,
        servers=_servers_of(row),
    )


def _servers_of(row: Any) -> tuple[int, ...] | None:
    """A restricted article's servers, where the query asked for them (``servers``)."""
    keys = row.keys()  # a Row's "in" looks at its values, not its column names
    if "servers" not in keys or not row["restricted"]:
        return None
    return tuple(sorted(json.loads(row["servers"])))


def related_item(
    url: str | None,
    title: str | None,
    provider_name: str | None,
    published_at: str | None,
    quality: Any,
    data: dict[str, Any],
) -> RelatedItem:
    """A related item from its ``related`` row's columns (``data``: its data_json, parsed)."""
    excerpt = data.get("excerpt")
    return RelatedItem(
        url=url,
        title=title,
        excerpt=excerpt if isinstance(excerpt, str) else None,
        published_at=parse_db_time(published_at) if published_at else None,
        provider_name=provider_name,
        quality=quality,
        data=data,
    )
