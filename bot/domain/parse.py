"""Parse Smartable news files (markdown with YAML front matter, or YAML) into articles.

Pure: takes the bytes of one file and returns articles and rejections; never raises for bad
input. Every rejection names the reason and, where the reason has a place, the line and
column (1-based) in the file.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import yaml
import yaml.constructor
import yaml.reader
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.domain.models import Article, Number, Provider, RelatedItem
from bot.domain.text import topic_key
from bot.domain.urls import InvalidURLError, canonical_url

try:
    from yaml import CSafeLoader as _Loader

    LIBYAML = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

    LIBYAML = False

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})
JSON_SUFFIXES = frozenset({".json"})
# What a directory scan picks up. JSON (an export) is read when a file is named explicitly.
SCANNED_SUFFIXES = MARKDOWN_SUFFIXES | YAML_SUFFIXES
SUPPORTED_SUFFIXES = SCANNED_SUFFIXES | JSON_SUFFIXES

DEFAULT_MAX_ARTICLE_BYTES = 1024 * 1024
# A YAML document holding a list of articles may be much larger than one article.
MAX_DOCUMENT_FACTOR = 1000

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
    }
)

_DELIMITER = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)


class InvalidArticleError(ValueError):
    """One article (a file, or an item of a YAML list) cannot be used, and why."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Rejection:
    """A file, or an item of a YAML file, that was not stored."""

    path: str
    error: str
    line: int | None = None
    column: int | None = None
    item: int | None = None  # 1-based position of the article in a YAML file

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "error": self.error,
            "line": self.line,
            "column": self.column,
        }
        if self.item is not None:
            out["item"] = self.item
        return out

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.item is not None:
            where += f" (item {self.item})"
        return f"{where}: {self.error}"


@dataclass(slots=True)
class ParsedFile:
    path: str
    articles: list[Article] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def parse_file(
    path: str, data: bytes, *, max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES
) -> ParsedFile:
    """Parse one file's bytes. The suffix of ``path`` decides the format."""
    result = ParsedFile(path)
    suffix = suffix_of(path)
    try:
        _parse_into(result, suffix, data, max_article_bytes)
    except InvalidArticleError as exc:
        result.rejections.append(Rejection(path, exc.message, exc.line, exc.column))
    except RecursionError:
        result.rejections.append(Rejection(path, "data is nested too deeply"))
    return result


def _parse_into(result: ParsedFile, suffix: str, data: bytes, max_article_bytes: int) -> None:
    if suffix in MARKDOWN_SUFFIXES:
        if len(data) > max_article_bytes:
            raise InvalidArticleError(too_large(len(data), max_article_bytes))
        result.articles.append(parse_markdown(_decode(data)))
    elif suffix in YAML_SUFFIXES:
        _parse_yaml_file(_decode(data), result, max_article_bytes)
    elif suffix in JSON_SUFFIXES:
        _parse_json_file(_decode(data), result, max_article_bytes)
    else:
        raise InvalidArticleError(
            f"unsupported file type {suffix or '(none)'!r}: "
            "expected .md, .markdown, .yaml, .yml or .json"
        )


def too_large(size: int, limit: int) -> str:
    return f"file is too large: {size:,} bytes, the limit is {limit:,} (ingest.max_article_bytes)"


def suffix_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InvalidArticleError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} cannot be decoded",
            line,
            column,
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        offset = text.index("\x00")
        raise InvalidArticleError(
            "file contains a NUL character (binary data?)", *_line_col(text, offset)
        )
    return text


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


# --------------------------------------------------------------------------- markdown


def parse_markdown(text: str) -> Article:
    """Parse a markdown file with YAML front matter; the body after it is kept."""
    if not text.strip():
        raise InvalidArticleError("file is empty", 1, 1)
    first_end = text.find("\n")
    first_line = text if first_end < 0 else text[:first_end]
    if first_line.rstrip() != "---":
        raise InvalidArticleError(
            "no YAML front matter: the file must start with a '---' line", 1, 1
        )
    closing = _DELIMITER.search(text, first_end + 1) if first_end >= 0 else None
    if closing is None:
        # Say where the YAML itself breaks, if it does: that is usually the real damage.
        try:
            _compose(text)
        except InvalidArticleError as exc:
            raise InvalidArticleError(
                f"{exc.message} (and the front matter opened at line 1 is never closed by '---')",
                exc.line,
                exc.column,
            ) from None
        raise InvalidArticleError(
            "front matter opened at line 1 is never closed: no '---' line after it", 1, 1
        )
    yaml_text = text[: closing.start()]
    body = text[closing.end() :]
    if body.startswith("\n"):
        body = body[1:]
    node = _compose(yaml_text)
    if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
        raise InvalidArticleError("front matter is empty", 2, 1)
    mapping = _construct_mapping(node)
    if body.strip():
        mapping.setdefault("body", body)
    return article_from_mapping(mapping, node, text=yaml_text)


# --------------------------------------------------------------------------- YAML files


def _parse_yaml_file(text: str, result: ParsedFile, max_article_bytes: int) -> None:
    if not text.strip():
        raise InvalidArticleError("file is empty", 1, 1)
    item = 0
    max_document = max_article_bytes * MAX_DOCUMENT_FACTOR
    for doc_text, first_line in _split_documents(text):
        if len(doc_text) > max_document:
            item += 1
            result.rejections.append(
                Rejection(
                    result.path,
                    f"YAML document is too large: {len(doc_text):,} characters, the limit is "
                    f"{max_document:,}",
                    first_line,
                    1,
                    item,
                )
            )
            continue
        try:
            node = _compose(doc_text, line_offset=first_line - 1)
        except InvalidArticleError as exc:
            item += 1
            result.rejections.append(
                Rejection(result.path, exc.message, exc.line, exc.column, item)
            )
            continue
        if node is None:
            continue
        elements = node.value if isinstance(node, SequenceNode) else [node]
        for element in elements:
            item += 1
            try:
                span = element.end_mark.index - element.start_mark.index
                if span > max_article_bytes:
                    raise InvalidArticleError(
                        f"article is too large: {span:,} characters, the limit is "
                        f"{max_article_bytes:,} (ingest.max_article_bytes)",
                        *_mark(element, first_line - 1),
                    )
                mapping = _construct_mapping(element, line_offset=first_line - 1)
                result.articles.append(
                    article_from_mapping(mapping, element, first_line - 1, text=doc_text)
                )
            except InvalidArticleError as exc:
                result.rejections.append(
                    Rejection(result.path, exc.message, exc.line, exc.column, item)
                )


def _split_documents(text: str) -> Iterator[tuple[str, int]]:
    """Split a YAML stream at its ``---`` lines, so one broken document spoils only itself.

    A ``---`` at the start of a line always starts a document in YAML, wherever it is,
    so this split never cuts through a value. Yields (text, first line number).
    """
    starts = [m.start() for m in _DOCUMENT_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    line = 1
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        chunk = text[start:end]
        if chunk.strip():
            yield chunk, line
        line += chunk.count("\n")


# --------------------------------------------------------------------------- JSON files


def _parse_json_file(text: str, result: ParsedFile, max_article_bytes: int) -> None:
    """A JSON export: one article object, or an array of them (each item stands alone)."""
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if pos >= len(text):
        raise InvalidArticleError("file is empty", 1, 1)
    starts: list[int] = []
    values: list[Any] = []
    try:
        if text[pos] == "[":
            pos = _skip_ws(text, pos + 1)
            if pos < len(text) and text[pos] == "]":
                pos += 1
            else:
                while True:
                    value, end = decoder.raw_decode(text, pos)
                    starts.append(pos)
                    values.append((value, end - pos))
                    pos = _skip_ws(text, end)
                    if pos < len(text) and text[pos] == ",":
                        pos = _skip_ws(text, pos + 1)
                        continue
                    if pos < len(text) and text[pos] == "]":
                        pos += 1
                        break
                    raise json.JSONDecodeError("expected ',' or ']'", text, pos)
        else:
            value, end = decoder.raw_decode(text, pos)
            starts.append(pos)
            values.append((value, end - pos))
            pos = end
        if _skip_ws(text, pos) < len(text):
            raise json.JSONDecodeError("unexpected data after the JSON value", text, pos)
    except json.JSONDecodeError as exc:
        raise InvalidArticleError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    for number, (start, (value, span)) in enumerate(zip(starts, values, strict=True), 1):
        line, column = _line_col(text, start)
        try:
            if span > max_article_bytes:
                raise InvalidArticleError(
                    f"article is too large: {span:,} characters, the limit is "
                    f"{max_article_bytes:,} (ingest.max_article_bytes)",
                    line,
                    column,
                )
            if not isinstance(value, dict):
                raise InvalidArticleError(
                    f"expected an object of article fields, got {_describe(value)}", line, column
                )
            article = article_from_mapping(value, text=text)
        except InvalidArticleError as exc:
            where_line = exc.line if exc.line is not None else line
            where_column = exc.column if exc.line is not None else column
            result.rejections.append(
                Rejection(result.path, exc.message, where_line, where_column, number)
            )
        else:
            result.articles.append(article)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


# --------------------------------------------------------------------------- YAML plumbing


def _mark(node: Node, line_offset: int = 0) -> tuple[int, int]:
    return node.start_mark.line + 1 + line_offset, node.start_mark.column + 1


def _compose(text: str, line_offset: int = 0) -> Node | None:
    """Compose one YAML document into a node tree, refusing aliases before anything is built."""
    if "*" in text:  # an alias is always written '*name'; no star, no alias
        try:
            for event in yaml.parse(text, Loader=_Loader):
                if isinstance(event, AliasEvent):
                    mark = event.start_mark
                    raise InvalidArticleError(
                        f"YAML aliases are not allowed (*{event.anchor})",
                        mark.line + 1 + line_offset if mark else None,
                        mark.column + 1 if mark else None,
                    )
        except yaml.YAMLError as exc:
            raise _yaml_error(exc, text, line_offset) from None
    loader = _Loader(text)
    try:
        node: Node | None = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, line_offset) from None
    finally:
        loader.dispose()
    return node


def _yaml_error(exc: yaml.YAMLError, text: str, line_offset: int) -> InvalidArticleError:
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        line, column = _line_col(text, exc.position)
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        return InvalidArticleError(
            f"invalid YAML: character {char} is not allowed ({exc.reason})",
            line + line_offset,
            column,
        )
    if not isinstance(exc, yaml.MarkedYAMLError):
        return InvalidArticleError(f"invalid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "syntax error"
    if exc.context:
        problem = f"{problem} ({exc.context})"
    if mark is None:
        return InvalidArticleError(f"invalid YAML: {problem}")
    return InvalidArticleError(
        f"invalid YAML: {problem}", mark.line + 1 + line_offset, mark.column + 1
    )


def _construct_mapping(node: Node, line_offset: int = 0) -> dict[str, Any]:
    if not isinstance(node, MappingNode):
        kind = "a list" if isinstance(node, SequenceNode) else "a single value"
        raise InvalidArticleError(
            f"expected a mapping of article fields, got {kind}", *_mark(node, line_offset)
        )
    seen: dict[str, Node] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, ScalarNode):
            if key_node.value in seen:
                first = _mark(seen[key_node.value], line_offset)[0]
                raise InvalidArticleError(
                    f"duplicate field {key_node.value!r} (first at line {first})",
                    *_mark(key_node, line_offset),
                )
            seen[key_node.value] = key_node
    try:
        value = _build(node)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, "", line_offset) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        raise InvalidArticleError(f"invalid YAML value: {exc}", *_mark(node, line_offset)) from None
    return {str(k) if not isinstance(k, str) else k: v for k, v in value.items()}


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_BOOLS = SafeConstructor.bool_values
_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")


def _build(node: Node) -> Any:
    """Construct Python data from a node tree, exactly as SafeConstructor would.

    The common tags (str, plain ints, bool, null, maps, seqs) are built directly, which is
    three times faster than SafeConstructor for these files; anything else (timestamps,
    floats, binary, sets, merge keys...) is handed to SafeConstructor for that node.
    """
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _MAP and isinstance(node, MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                return SafeConstructor().construct_document(node)
            key = _build(key_node)
            try:
                out[key] = _build(value_node)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key",
                    key_node.start_mark,
                ) from None
        return out
    if tag == _SEQ and isinstance(node, SequenceNode):
        return [_build(child) for child in node.value]
    if tag == _INT and _PLAIN_INT.match(node.value):
        return int(node.value)
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return _BOOLS[node.value.lower()]
    return SafeConstructor().construct_document(node)


# --------------------------------------------------------------------------- validation


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
        return _mark(mark_node, self.line_offset)


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
            f"got {_describe(data['publishedDateTime'])}",
            "publishedDateTime",
        )

    kind = data.get("type", "article")
    if kind is None:
        kind = "article"
    if not isinstance(kind, str) or not kind.strip():
        raise fail(
            f"type: expected text such as 'article' or 'video', got {_describe(kind)}", "type"
        )

    published = data.get("published", False)
    if published is None:
        published = False
    if not isinstance(published, bool):
        raise fail(f"published: expected true or false, got {_describe(published)}", "published")

    return Article(
        url=url,
        title=title,
        published_at=published_at,
        excerpt=_text(data.get("excerpt"), "excerpt", fail),
        web_url=web_url,
        original_url=original_url,
        type=kind.strip(),
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
    )


_Fail = Any  # Callable[..., InvalidArticleError]; kept loose for brevity


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text {shown!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime | date):
        return f"the date {value.isoformat()}"
    return type(value).__name__


def _text(value: object, name: str, fail: _Fail) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() if name == "title" else value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise fail(f"{name}: expected text, got {_describe(value)} (quote it?)", name)


def _url(value: object, name: str, fail: _Fail) -> tuple[str | None, str | None]:
    """The URL as written (stripped) and its canonical form."""
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        raise fail(f"{name}: expected a URL, got {_describe(value)}", name)
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
        raise fail(f"{name}: expected a number, got {_describe(value)}", name)
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
            f"provider: expected a mapping with name and domain, got {_describe(value)}", "provider"
        )
    name = _text(value.get("name"), "provider.name", lambda m, *_: fail(m, "provider", "name"))
    domain = _text(
        value.get("domain"), "provider.domain", lambda m, *_: fail(m, "provider", "domain")
    )
    images = value.get("images")
    if images is not None and not isinstance(images, list):
        raise fail(
            f"provider.images: expected a list, got {_describe(images)}", "provider", "images"
        )
    extra = {str(k): jsonable(v) for k, v in value.items() if k not in ("name", "domain")}
    return Provider(name=name, domain=domain, extra=extra)


def _topics(value: object, fail: _Fail) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail(f"topics: expected a list of topic names, got {_describe(value)}", "topics")
    topics: list[str] = []
    seen: set[str] = set()
    for i, topic in enumerate(value):
        if isinstance(topic, int | float) and not isinstance(topic, bool):
            topic = str(topic)
        if not isinstance(topic, str):
            raise fail(
                f"topics[{i + 1}]: expected a topic name, got {_describe(topic)}", "topics", i
            )
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
        raise fail(f"{name}: expected a list, got {_describe(value)}", name)
    out: list[dict[str, Any]] = []
    for i, element in enumerate(value):
        if not isinstance(element, dict):
            raise fail(f"{name}[{i + 1}]: expected a mapping, got {_describe(element)}", name, i)
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


def jsonable(value: Any) -> Any:
    """Turn a YAML value into plain JSON data (timestamps become ISO-8601 text)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return format_timestamp(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with a 'Z', as the source format writes it (seconds, or microseconds)."""
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
