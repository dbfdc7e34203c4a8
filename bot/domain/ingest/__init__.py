"""Parsing Smartable news files into articles (pure): files.py dispatches by format (markdown
front matter, YAML streams, JSON exports), yaml_fast.py reads YAML safely and fast, schema.py
validates one article's fields, rejections.py says why something was not stored.

Ingest workers import this package: it must stay free of the store, discord.py and pydantic.
"""

from bot.domain.ingest.files import (
    MARKDOWN_SUFFIXES,
    SCANNED_SUFFIXES,
    parse_file,
    suffix_of,
    too_large,
)
from bot.domain.ingest.rejections import InvalidArticleError, ParsedFile, Rejection
from bot.domain.ingest.yaml_fast import LIBYAML

__all__ = [
    "LIBYAML",
    "MARKDOWN_SUFFIXES",
    "SCANNED_SUFFIXES",
    "InvalidArticleError",
    "ParsedFile",
    "Rejection",
    "parse_file",
    "suffix_of",
    "too_large",
]
