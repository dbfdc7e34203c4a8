"""One file's bytes to articles and rejections: the format by suffix, markdown front matter,
YAML streams (each document, and each item of a list, stands alone), JSON exports.

Pure: never raises for bad input. Every rejection names the reason and, where the reason has
a place, the line and column (1-based) in the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from yaml.nodes import ScalarNode, SequenceNode

from bot.domain.ingest.rejections import InvalidArticleError, ParsedFile, Rejection, line_col
from bot.domain.ingest.schema import article_from_mapping
from bot.domain.ingest.yaml_fast import compose, construct_mapping, mark
from bot.domain.models import Article
from bot.domain.text import kind

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})
JSON_SUFFIXES = frozenset({".json"})
# What a directory scan picks up. JSON (an export) is read when a file is named explicitly.
SCANNED_SUFFIXES = MARKDOWN_SUFFIXES | YAML_SUFFIXES
SUPPORTED_SUFFIXES = SCANNED_SUFFIXES | JSON_SUFFIXES

DEFAULT_MAX_ARTICLE_BYTES = 1024 * 1024
# A YAML document holding a list of articles may be much larger than one article.
MAX_DOCUMENT_FACTOR = 1000

_DELIMITER = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)


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
            "file contains a NUL character (binary data?)", *line_col(text, offset)
        )
    return text


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
            compose(text)
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
    node = compose(yaml_text)
    if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
        raise InvalidArticleError("front matter is empty", 2, 1)
    mapping = construct_mapping(node)
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
            node = compose(doc_text, line_offset=first_line - 1)
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
                        *mark(element, first_line - 1),
                    )
                mapping = construct_mapping(element, line_offset=first_line - 1)
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
        line, column = line_col(text, start)
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
                    f"expected an object of article fields, got {kind(value)}", line, column
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
