"""A fetched body to a FeedDocument (pure; never raises for any input).

RSS 0.9x/1.0/2.0 and Atom go to feedparser (well kept, and the only parser that copes with
the feeds found in the wild); JSON Feed 1.x is plain JSON. Entities: feedparser drops every
ENTITY declaration whose value is not plain text and never loads external entities, and
expat caps expansion, so a billion-laughs or XXE document yields nothing harmful
(tests/domain/test_feeds.py shows it); documents that declare entities at all are refused
here anyway, since no real feed needs them.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
import warnings
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from bot.domain.feeds.html_text import html_text, one_line
from bot.domain.feeds.models import FeedDocument, FeedEntry

MAX_IMAGES = 5
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_HTML = re.compile(rb"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)
_VIDEO_HOSTS = ("youtube.com", "youtu.be", "vimeo.com")


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> FeedDocument:
    # Relative links resolve against the feed's URL without its query: a link "#item" or ""
    # would otherwise carry the query, which may hold a ${SECRET} from the config, into
    # articles and posts.
    url = urlunsplit(urlsplit(url)._replace(query="", fragment=""))
    if not body.strip():
        return _failed("the body is empty")
    head = body[:4096]
    if _declares_entities(body):
        return _failed("the document declares XML entities (refused: no feed needs them)")
    if (content_type and "json" in content_type.lower()) or body.lstrip()[:1] == b"{":
        return _json_feed(body, url)
    return _xml_feed(body, url, head)


def _declares_entities(body: bytes) -> bool:
    """Anywhere in the body (padding cannot push a declaration out of sight), and in UTF-16
    or UTF-32 bodies too."""
    if _ENTITY.search(body):
        return True
    if b"\0" in body[:4]:
        for codec in ("utf-32", "utf-16", "utf-16-be", "utf-16-le"):
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                continue
            if "<!entity" in text.lower():
                return True
    return False


def _failed(error: str) -> FeedDocument:
    return FeedDocument(None, None, (), error)


def _digest_guid(title: str | None, summary: str | None) -> str:
    data = f"{title or ''}\n{summary or ''}".encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _absolute(link: Any, base: str) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        return urljoin(base, link.strip())
    except ValueError:
        return None


def _is_video_link(link: str | None) -> bool:
    if not link:
        return False
    try:
        host = (urlsplit(link).hostname or "").lower()
    except ValueError:
        return False
    return any(host == h or host.endswith("." + h) for h in _VIDEO_HOSTS)


def _images(candidates: list[tuple[Any, Any, Any]], base: str) -> tuple[dict[str, Any], ...]:
    out: dict[str, dict[str, Any]] = {}
    for link, width, height in candidates:
        absolute = _absolute(link, base)
        if absolute is None or absolute in out or not absolute.startswith(("http:", "https:")):
            continue
        image: dict[str, Any] = {"url": absolute}
        for name, value in (("width", width), ("height", height)):
            try:
                number = int(str(value))
            except (TypeError, ValueError):
                continue
            if number > 0:
                image[name] = number
        out[absolute] = image
        if len(out) >= MAX_IMAGES:
            break
    return tuple(out.values())


# ---------------------------------------------------------------------------- XML feeds


def _xml_feed(body: bytes, url: str, head: bytes) -> FeedDocument:
    import feedparser  # type: ignore[import-untyped]  # no stubs; used only here

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # A stream, never bytes: feedparser opens bytes that name an existing path as a file.
            # Its HTML passes (sanitizing, resolving the URLs inside markup) are a third of its
            # time and not needed: html_text keeps only text and the first image's src, which
            # _xml_entry resolves against the markup's base (xml:base, else the feed's URL),
            # as it does media and enclosure URLs (feedparser leaves those as written).
            parsed = feedparser.parse(
                io.BytesIO(body),
                response_headers={"content-location": url},
                sanitize_html=False,
                resolve_relative_uris=False,
            )
    except Exception as exc:  # feedparser on input it cannot handle
        return _failed(f"not a feed: {type(exc).__name__}")
    entries = list(parsed.get("entries") or [])
    version = str(parsed.get("version") or "")
    if not version and not entries:
        if _HTML.search(head):
            return _failed("not a feed: the server sent what looks like an HTML page")
        problem = parsed.get("bozo_exception")
        detail = f" ({_one_line(problem)})" if problem is not None else ""
        return _failed(f"not a feed: no RSS, Atom or JSON Feed found{detail}")
    feed = parsed.get("feed") or {}
    document_link = _absolute(feed.get("link"), url)
    out = []
    for entry in entries:
        try:
            out.append(_xml_entry(entry, url))
        except (TypeError, ValueError, AttributeError, KeyError):
            continue  # an entry feedparser built oddly: skipped, as if absent
    return FeedDocument(_title(feed), document_link, tuple(out), None, version)


def _title(element: Any) -> str | None:
    """A title as text: markup removed when feedparser says it is HTML; a plain-text title
    (already entity-decoded: "Why <div> breaks") is kept as it is, on one line."""
    title = dict.get(element, "title")
    detail = dict.get(element, "title_detail") or {}
    if isinstance(title, str) and detail.get("type") == "text/plain":
        return " ".join(title.split()) or None
    return one_line(title)


def _one_line(problem: object) -> str:
    return " ".join(str(problem).split())[:200]


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _xml_entry(entry: Any, base: str) -> FeedEntry:
    # dict.get: FeedParserDict.get maps missing keys to others, with a DeprecationWarning
    link = _absolute(dict.get(entry, "link"), base)
    markup = dict.get(entry, "summary") or ""
    # feedparser's "base" of each text: its xml:base, else the feed's URL (content-location)
    detail = dict.get(entry, "summary_detail") or dict.get(entry, "title_detail") or {}
    entry_base = str(detail.get("base") or base)
    markup_base = entry_base
    contents = dict.get(entry, "content") or []
    if contents and len(str(contents[0].get("value", ""))) > len(markup):
        markup = contents[0].get("value") or markup
        markup_base = str(contents[0].get("base") or entry_base)
    summary, inline_image = html_text(str(markup)) if markup else ("", None)
    title = _title(entry)
    candidates: list[tuple[Any, Any, Any]] = []
    video = _is_video_link(link)
    for thumb in dict.get(entry, "media_thumbnail") or []:
        candidates.append((thumb.get("url"), thumb.get("width"), thumb.get("height")))
    for media in dict.get(entry, "media_content") or []:
        medium = str(media.get("medium") or "")
        kind = str(media.get("type") or "")
        if medium == "image" or kind.startswith("image/"):
            candidates.append((media.get("url"), media.get("width"), media.get("height")))
        elif medium == "video" or kind.startswith("video/"):
            video = True
    # feedparser keeps enclosures among the links ("enclosures" is a computed key that
    # dict.get does not see)
    links = dict.get(entry, "links") or []
    for enclosure in (one for one in links if one.get("rel") == "enclosure"):
        kind = str(enclosure.get("type") or "")
        if kind.startswith("image/"):
            candidates.append((enclosure.get("href"), None, None))
        elif kind.startswith("video/"):
            video = True
    if not candidates and inline_image:
        candidates.append((_absolute(inline_image, markup_base), None, None))
    categories = [one_line(tag.get("term")) for tag in dict.get(entry, "tags") or []]
    guid = str(dict.get(entry, "id") or "").strip() or link or _digest_guid(title, summary)
    return FeedEntry(
        guid=guid,
        title=title,
        link=link,
        summary=summary or None,
        published=_when(dict.get(entry, "published_parsed")),
        updated=_when(dict.get(entry, "updated_parsed")),
        categories=tuple(dict.fromkeys(c for c in categories if c)),
        images=_images(candidates, entry_base),
        video=video,
    )


# ---------------------------------------------------------------------------- JSON Feed


def _json_feed(body: bytes, url: str) -> FeedDocument:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return _failed("not a feed: the body is not valid JSON")
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/1"
    ):
        return _failed("not a feed: JSON, but not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items")
    if not isinstance(items, list):
        return _failed("not a feed: the JSON Feed's items is not a list")
    out = [entry for item in items if isinstance(item, dict) and (entry := _json_entry(item, url))]
    title = data.get("title")
    version = str(data["version"]).rsplit("/", 1)[-1]
    return FeedDocument(
        one_line(title) if isinstance(title, str) else None,
        _absolute(data.get("home_page_url"), url),
        tuple(out),
        None,
        f"json{version}",
    )


def _text_field(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value if isinstance(value, str) and value.strip() else None


def _json_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _json_entry(item: dict[str, Any], base: str) -> FeedEntry | None:
    link = _absolute(_text_field(item, "url") or _text_field(item, "external_url"), base)
    title = one_line(_text_field(item, "title"))
    html = _text_field(item, "content_html")
    summary, inline = html_text(html) if html else (None, None)
    summary = _text_field(item, "summary") or summary or _text_field(item, "content_text")
    if summary:
        summary = html_text(summary)[0] if "<" in summary else summary.strip()
    candidates: list[tuple[Any, Any, Any]] = [
        (item.get(name), None, None) for name in ("image", "banner_image") if item.get(name)
    ]
    video = _is_video_link(link)
    attachments = item.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        if not isinstance(attachment, dict):
            continue
        kind = str(attachment.get("mime_type") or "")
        if kind.startswith("image/"):
            candidates.append((attachment.get("url"), None, None))
        elif kind.startswith("video/"):
            video = True
    if not candidates and inline:
        candidates.append((inline, None, None))
    tags = item.get("tags")
    categories = (
        [" ".join(t.split()) for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    )
    raw_id = item.get("id")
    guid = str(raw_id).strip() if isinstance(raw_id, str | int) and str(raw_id).strip() else ""
    return FeedEntry(
        guid=guid or link or _digest_guid(title, summary),
        title=title,
        link=link,
        summary=summary or None,
        published=_json_time(item.get("date_published")),
        updated=_json_time(item.get("date_modified")),
        categories=tuple(dict.fromkeys(c for c in categories if c)),
        images=_images(candidates, base),
        video=video,
    )
