"""Web feeds to articles (pure): parse.py reads RSS, Atom and JSON Feed bodies, articles.py
maps an item to an article through the archive's one validation, html_text.py turns feed
HTML into text. Imported by parse workers: free of the store, discord.py and pydantic."""

from bot.domain.feeds.articles import (
    GUID_FIELD,
    FeedArticle,
    entry_article,
    feed_articles,
    first_date,
)
from bot.domain.feeds.models import FeedDocument, FeedEntry, FeedSourceFields
from bot.domain.feeds.parse import parse_feed

__all__ = [
    "GUID_FIELD",
    "FeedArticle",
    "FeedDocument",
    "FeedEntry",
    "FeedSourceFields",
    "entry_article",
    "feed_articles",
    "first_date",
    "parse_feed",
]
