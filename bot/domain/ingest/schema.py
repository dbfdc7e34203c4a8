"""One article's fields: validated, named when wrong (with the line of the field), modelled.

Fields Newsdesk does not model are kept, as plain JSON data, in ``Article.extra``.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.domain.ingest.rejections import InvalidArticleError
from bot.domain.ingest.yaml_fast import mark
from bot.domain.models import Article, Number, Provider, RelatedItem
from bot.domain.plain_data import jsonable
from bot.domain.text import kind, topic_key
from bot.domain.urls import InvalidURLError, canonical_url

# Newsdesk's own field (not Smartable's): when the article left its source. Written by
# ``newsdesk export`` so that a store rebuilt from an export keeps it withdrawn.
WITHDRAWN_FIELD = "withdrawnDateTime"
# Newsdesk's own too: the servers whose own feeds alone carried it, so that a store rebuilt
# from an export shows it to those servers only (absent: every server may see it).
SERVERS_FIELD = "newsdeskServers"
MAX_SNOWFLAKE = (1 << 63) - 1
# Fields Newsdesk models; everything else is kept in ``Article.extra``.
MODELLED_FIELDS = frozenset(
    {
        "title",
        "excerpt",
        "publishedDateTime",
        "webUrl",
        "originalUrl",
        "type",
        "featuredContent",
        "quality",
        "heat",
        "published",
        "provider",
        "topics",
        "images",
        "related",
        "body",
        WITHDRAWN_FIELD,
        SERVERS_FIELD,
    }
)


class _Locator:
    """Finds the line of a field lazily, only when there is an error to report."""

    def __init__(self, node: Node | None, line_offset: int) -> None:
        self.node = node
        self.line_offset = line_offset

    def __call__(self, *path: str | int) -> tuple[int | None, int | None]:
        node = self.node
        if node is None:
            return None, None
        mark_node = node
        for step in path:
            child: Node | None = None
            if isinstance(node, MappingNode) and isinstance(step, str):
                for key_node, value_node in node.value:
                    if isinstance(key_node, ScalarNode) and key_node.value == step:
                        child, mark_node = value_node, key_node  # a field's line is its key's
                        break
            elif (
                isinstance(node, SequenceNode)
                and isinstance(step, int)
                and 0 <= step < len(node.value)
            ):
                child = mark_node = node.value[step]
            if child is None:
                break
            node = child
        return mark(mark_node, self.line_offset)


_SURROGATE_ESCAPE = re.compile(r"\\[uU]0*[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def article_from_mapping(
    data: dict[str, Any], node: Node | None = None, line_offset: int = 0, text: str | None = None
) -> Article:
    """Validate one article's fields; raise InvalidArticleError naming the field and line.

    ``text`` (the source text) lets a cheap look for ``\\uD800``-style escapes decide whether
    the values must be searched for lone surrogates, which no database can store.
    """
    at = _Locator(node, line_offset)
    if (text is None or _SURROGATE_ESCAPE.search(text)) and _has_surrogate(data):
        raise InvalidArticleError(
            "contains an escaped lone surrogate (\\uD800-\\uDFFF), which is not a character",
            *at(),
        )

    def fail(message: str, *path: str | int) -> InvalidArticleError:
        return InvalidArticleError(message, *at(*path))

    title = _text(data.get("title"), "title", fail)
    if not title:
        raise fail("title: missing or empty")

    web_url, web_canonical = _url(data.get("webUrl"), "webUrl", fail)
    original_url, original_canonical = _url(data.get("originalUrl"), "originalUrl", fail)
    url = web_canonical or original_canonical
    if url is None:
        raise fail("missing URL: the article has neither webUrl nor originalUrl")

    if "publishedDateTime" not in data or data["publishedDateTime"] is None:
        raise fail("publishedDateTime: missing")
    published_at = _timestamp(data["publishedDateTime"])
    if published_at is None:
        raise fail(
            f"publishedDateTime: expected a date and time such as 2020-04-15T03:45:00Z, "
            f"got {kind(data['publishedDateTime'])}",
            "publishedDateTime",
        )

    article_type = data.get("type", "article")
    if article_type is None:
        article_type = "article"
    if not isinstance(article_type, str) or not article_type.strip():
        raise fail(
            f"type: expected text such as 'article' or 'video', got {kind(article_type)}", "type"
        )

    published = data.get("published", False)
    if published is None:
        published = False
    if not isinstance(published, bool):
        raise fail(f"published: expected true or false, got {kind(published)}", "published")

    withdrawn_at = None
    if data.get(WITHDRAWN_FIELD) is not None:
        withdrawn_at = _timestamp(data[WITHDRAWN_FIELD])
        if withdrawn_at is None:
            raise fail(
                f"{WITHDRAWN_FIELD}: expected a date and time such as 2020-04-15T03:45:00Z, "
                f"got {kind(data[WITHDRAWN_FIELD])}",
                WITHDRAWN_FIELD,
            )

    servers = None
    if data.get(SERVERS_FIELD) is not None:
        servers = _servers(data[SERVERS_FIELD])
        if servers is None:
            raise fail(
                f"{SERVERS_FIELD}: expected a list of Discord server ids such as "
                f"[1098765432109876543], got {kind(data[SERVERS_FIELD])}",
                SERVERS_FIELD,
            )

    return Article(
        url=url,
        title=title,
        published_at=published_at,
        excerpt=_text(data.get("excerpt"), "excerpt", fail),
        web_url=web_url,
        original_url=original_url,
        type=article_type.strip(),
        quality=_number(data.get("quality"), "quality", fail),
        heat=_number(data.get("heat"), "heat", fail),
        published=published,
        provider=_provider(data.get("provider"), fail),
        topics=_topics(data.get("topics"), fail),
        images=tuple(_mapping_list(data.get("images"), "images", fail)),
        related=tuple(_related(data.get("related"), fail)),
        featured_content=_text(data.get("featuredContent"), "featuredContent", fail),
        body=_text(data.get("body"), "body", fail),
        extra={k: jsonable(v) for k, v in data.items() if k not in MODELLED_FIELDS},
        withdrawn_at=withdrawn_at,
        servers=servers,
    )


def _servers(value: Any) -> tuple[int, ...] | None:
    """Server ids (snowflakes, also as digit strings), sorted and unique; None if malformed."""
    if not isinstance(value, list):
        return None
    ids: set[int] = set()
    for item in value:
        if isinstance(item, str) and item.strip().isascii() and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item <= MAX_SNOWFLAKE:
            return None
        ids.add(item)
    return tuple(sorted(ids))


_Fail = Any  # Callable[..., InvalidArticleError]; kept loose for brevity


def _text(value: object, name: str, fail: _Fail) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() if name == "title" else value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise fail(f"{name}: expected text, got {kind(value)} (quote it?)", name)


def _url(value: object, name: str, fail: _Fail) -> tuple[str | None, str | None]:
    """The URL as written (stripped) and its canonical form."""
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        raise fail(f"{name}: expected a URL, got {kind(value)}", name)
    try:
        canonical = canonical_url(value)
    except InvalidURLError as exc:
        raise fail(f"{name}: {exc}", name) from None
    return value.strip(), canonical


MAX_INTEGER = 2**63 - 1  # what SQLite stores as an integer


def _number(value: object, name: str, fail: _Fail) -> Number | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"{name}: expected a number, got {kind(value)}", name)
    if isinstance(value, float) and not math.isfinite(value):
        raise fail(f"{name}: expected a finite number, got {value}", name)
    if isinstance(value, int) and abs(value) > MAX_INTEGER:
        raise fail(f"{name}: {value} is out of range", name)
    return value


def _usable_number(value: object) -> Number | None:
    """A number to use from data that is only kept (related items): None if it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and abs(value) > MAX_INTEGER:
        return None
    return value


def _timestamp(value: object) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00
        return None


def _provider(value: object, fail: _Fail) -> Provider | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail(
            f"provider: expected a mapping with name and domain, got {kind(value)}", "provider"
        )
    name = _text(value.get("name"), "provider.name", lambda m, *_: fail(m, "provider", "name"))
    domain = _text(
        value.get("domain"), "provider.domain", lambda m, *_: fail(m, "provider", "domain")
    )
    images = value.get("images")
    if images is not None and not isinstance(images, list):
        raise fail(f"provider.images: expected a list, got {kind(images)}", "provider", "images")
    extra = {str(k): jsonable(v) for k, v in value.items() if k not in ("name", "domain")}
    return Provider(name=name, domain=domain, extra=extra)


def _topics(value: object, fail: _Fail) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail(f"topics: expected a list of topic names, got {kind(value)}", "topics")
    topics: list[str] = []
    seen: set[str] = set()
    for i, topic in enumerate(value):
        if isinstance(topic, int | float) and not isinstance(topic, bool):
            topic = str(topic)
        if not isinstance(topic, str):
            raise fail(f"topics[{i + 1}]: expected a topic name, got {kind(topic)}", "topics", i)
        label = " ".join(topic.split())
        key = topic_key(label)
        if label and key not in seen:
            seen.add(key)
            topics.append(label)
    return tuple(topics)


def _mapping_list(value: object, name: str, fail: _Fail) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(f"{name}: expected a list, got {kind(value)}", name)
    out: list[dict[str, Any]] = []
    for i, element in enumerate(value):
        if not isinstance(element, dict):
            raise fail(f"{name}[{i + 1}]: expected a mapping, got {kind(element)}", name, i)
        out.append({str(k): jsonable(v) for k, v in element.items()})
    return out


def _related(value: object, fail: _Fail) -> list[RelatedItem]:
    items: list[RelatedItem] = []
    for data in _mapping_list(value, "related", fail):
        url: str | None = None
        for key in ("webUrl", "originalUrl"):
            candidate = data.get(key)
            if isinstance(candidate, str):
                try:
                    url = canonical_url(candidate)
                    break
                except InvalidURLError:
                    continue
        title = data.get("title")
        excerpt = data.get("excerpt")
        provider = data.get("provider")
        quality = data.get("quality")
        items.append(
            RelatedItem(
                url=url,
                title=" ".join(title.split()) if isinstance(title, str) else None,
                excerpt=excerpt if isinstance(excerpt, str) else None,
                published_at=_timestamp(data.get("publishedDateTime")),
                provider_name=(
                    provider.get("name")
                    if isinstance(provider, dict) and isinstance(provider.get("name"), str)
                    else None
                ),
                quality=_usable_number(quality),
                data=data,
            )
        )
    return items
