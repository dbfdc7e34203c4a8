"""Articles back in the source format's own field names (for ``newsdesk export``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml

from bot.domain.ingest.schema import SERVERS_FIELD, WITHDRAWN_FIELD
from bot.domain.models import Article
from bot.domain.plain_data import format_timestamp

_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class ExportDumper(_BaseDumper):  # type: ignore[misc]
    """Safe YAML without anchors or aliases; timestamps written like 2020-04-15T03:45:00Z."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_datetime(dumper: Any, value: datetime) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", format_timestamp(value))


ExportDumper.add_representer(datetime, _represent_datetime)


def article_to_source(article: Article, *, posted: bool = False) -> dict[str, Any]:
    """The article as a Smartable mapping; ``newsdesk ingest`` reads it back unchanged.

    ``published`` is true when the source said so or Newsdesk has posted the article anywhere,
    so a store rebuilt from an export never reposts. Timestamps stay ``datetime`` objects;
    :func:`to_json_ready` turns them into text for JSON.
    """
    out: dict[str, Any] = {"title": article.title}
    if article.excerpt is not None:
        out["excerpt"] = article.excerpt
    out["publishedDateTime"] = article.published_at
    if article.web_url is not None:
        out["webUrl"] = article.web_url
    if article.original_url is not None:
        out["originalUrl"] = article.original_url
    out["type"] = article.type
    if article.featured_content is not None:
        out["featuredContent"] = article.featured_content
    if article.quality is not None:
        out["quality"] = article.quality
    if article.heat is not None:
        out["heat"] = article.heat
    out["published"] = article.published or posted
    if article.provider is not None:
        provider: dict[str, Any] = {}
        if article.provider.name is not None:
            provider["name"] = article.provider.name
        if article.provider.domain is not None:
            provider["domain"] = article.provider.domain
        provider.update(article.provider.extra)
        out["provider"] = provider
    if article.topics:
        out["topics"] = list(article.topics)
    if article.images:
        out["images"] = [dict(image) for image in article.images]
    if article.related:
        related = []
        for item in article.related:
            data = dict(item.data)
            if item.published_at is not None:
                data["publishedDateTime"] = item.published_at
            related.append(data)
        out["related"] = related
    if article.withdrawn_at is not None:
        out[WITHDRAWN_FIELD] = article.withdrawn_at
    if article.servers is not None:
        out[SERVERS_FIELD] = list(article.servers)
    for key, value in article.extra.items():
        out.setdefault(key, value)
    if article.body is not None:
        out["body"] = article.body
    return out


def to_json_ready(value: Any) -> Any:
    """Replace datetimes by ISO-8601 UTC text, recursively."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, dict):
        return {k: to_json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_ready(v) for v in value]
    return value


def to_yaml_document(source: dict[str, Any]) -> str:
    """One article as a YAML document (``---`` first), for a stream of documents."""
    return str(
        yaml.dump(
            source,
            Dumper=ExportDumper,
            sort_keys=False,
            allow_unicode=True,
            explicit_start=True,
            width=1_000_000,
        )
    )
