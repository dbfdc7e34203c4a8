"""Reading the archive for people: topics, pages, search, related coverage, autocomplete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.listings import CoverageItem
from bot.domain.models import Article
from bot.domain.search import rank
from bot.domain.similarity import SAME_STORY_THRESHOLD, title_similarity
from bot.errors import UserFacingError
from bot.store.article_reads import ArticleReads
from bot.store.browse import ArticleSummary, BrowseStore, Sort, TopicCount, fts_query

PAGE_SIZE = 5
MAX_PAGES = 50
SAME_STORY_WINDOW = timedelta(days=3)
SAME_STORY_SCAN = 600
MAX_QUERY_LENGTH = 200
_WORDS = re.compile(r"\w+", re.UNICODE)


class UnknownTopicError(UserFacingError):
    def __init__(self, typed: str) -> None:
        shown = typed if len(typed) <= 60 else typed[:57] + "..."
        super().__init__(
            f"There is no topic called “{shown}”. Start typing and pick one from the list, "
            "or see them all with `/news topics`."
        )


class UnknownArticleError(UserFacingError):
    def __init__(self, typed: str) -> None:
        shown = typed if len(typed) <= 60 else typed[:57] + "..."
        super().__init__(
            f"No article matches “{shown}”. Start typing a few words of its title and pick it "
            "from the list."
        )


@dataclass(frozen=True, slots=True)
class Page:
    items: list[ArticleSummary]
    number: int  # 0-based
    has_next: bool


@dataclass(frozen=True, slots=True)
class Coverage:
    article: Article
    items: list[CoverageItem]


class NewsService:
    """Every method answers for one server (``guild``; None: a DM): it shows only what that
    server may see (store.visibility)."""

    def __init__(self, articles: ArticleReads, browse: BrowseStore) -> None:
        self.articles = articles
        self.browse = browse

    # ------------------------------------------------------------------ topics

    async def resolve_topic(self, typed: str) -> tuple[int, str]:
        """(id, display name) for what the user typed or picked; UnknownTopicError otherwise."""
        found = await self.browse.topic(typed.strip())
        if found is None:
            raise UnknownTopicError(typed.strip())
        return found

    async def topics(self, number: int, *, guild: int | None) -> tuple[list[TopicCount], bool, int]:
        """One page of topics with their article counts, biggest first; and the total."""
        size = 20
        rows = await self.browse.topics(size + 1, number * size, guild=guild)
        return rows[:size], len(rows) > size, await self.browse.topic_count(guild=guild)

    async def complete_topic(self, typed: str, *, guild: int | None) -> list[TopicCount]:
        return await self.browse.complete_topic(typed[:100], guild=guild)

    # ------------------------------------------------------------------ pages

    async def topic_page(
        self, topic_id: int, sort: Sort, number: int, *, guild: int | None
    ) -> Page:
        rows = await self.browse.topic_page(
            topic_id, sort, PAGE_SIZE + 1, number * PAGE_SIZE, guild=guild
        )
        return _page(rows, number)

    async def latest_page(self, topic_id: int | None, number: int, *, guild: int | None) -> Page:
        if topic_id is not None:
            return await self.topic_page(topic_id, "recent", number, guild=guild)
        rows = await self.browse.latest(PAGE_SIZE + 1, number * PAGE_SIZE, guild=guild)
        return _page(rows, number)

    async def search_page(
        self, text: str, topic: tuple[int, str] | None, number: int, *, guild: int | None
    ) -> Page:
        """Best matches first, among the newest matches (see bot.domain.search)."""
        query = search_query(text, topic[1] if topic else None)
        found = await self.browse.search(query, topic[0] if topic else None, guild=guild)
        ranked = rank(text, found)
        start = number * PAGE_SIZE
        window = ranked[start : start + PAGE_SIZE + 1]
        return _page(await self.browse.summaries([m.id for m in window], guild=guild), number)

    # ------------------------------------------------------------------ articles

    async def resolve_article(self, typed: str, *, guild: int | None) -> Article:
        """The article picked in autocomplete (its id), or the newest whose title matches."""
        value = typed.strip()
        if value.isdigit() and len(value) < 19:
            article = await self._visible(int(value), guild)
            if article is not None:
                return article
        matches = await self.browse.complete_article(value, limit=1, guild=guild) if value else []
        if not matches:
            raise UnknownArticleError(value)
        article = await self.articles.get(matches[0].id)
        if article is None or article.withdrawn_at is not None:  # pragma: no cover - a race
            raise UnknownArticleError(value)
        return article

    async def complete_article(self, typed: str, *, guild: int | None) -> list[ArticleSummary]:
        return await self.browse.complete_article(typed[:100], guild=guild)

    async def _visible(self, article_id: int, guild: int | None) -> Article | None:
        """The article, unless it was withdrawn or ``guild`` may not see it."""
        if not await self.browse.visible(article_id, guild=guild):
            return None
        article = await self.articles.get(article_id)
        return article if article is not None and article.withdrawn_at is None else None

    async def related(self, article_id: int, *, guild: int | None) -> Coverage | None:
        """The source's related items, stored articles linked by related coverage, and stored
        articles on the same story (a shared topic, a similar title, within a few days); only
        what ``guild`` may see."""
        article = await self._visible(article_id, guild)
        if article is None:  # hidden once withdrawn, and from other servers
            return None
        items: dict[str, CoverageItem] = {}
        for item in article.related:
            if item.url and item.url != article.url:
                items.setdefault(
                    item.url,
                    CoverageItem(
                        item.title or item.url, item.url, item.provider_name, item.published_at
                    ),
                )
        for other in await self.articles.linking_to(article_id, guild=guild):
            if other.url != article.url and other.withdrawn_at is None:
                items.setdefault(other.url, _from_article(other))
        topic_ids = await self.browse.topic_ids_of(article_id)
        if topic_ids:
            nearby = await self.browse.near_in_time(
                topic_ids,
                article.published_at - SAME_STORY_WINDOW,
                article.published_at + SAME_STORY_WINDOW,
                SAME_STORY_SCAN,
                guild=guild,
            )
            similar = [
                (title_similarity(article.title, s.title), s)
                for s in nearby
                if s.id != article.id and s.url not in items
            ]
            for score, summary in sorted(similar, key=lambda p: p[0], reverse=True)[:10]:
                if score >= SAME_STORY_THRESHOLD:
                    items.setdefault(summary.url, _from_summary(summary))
        ordered = sorted(
            items.values(), key=lambda i: (i.published_at is not None, i.published_at), reverse=True
        )
        return Coverage(article, ordered)


def search_query(text: str, topic_name: str | None) -> str:
    """The FTS5 query for a user's search text; UserFacingError when nothing can be searched."""
    if len(text) > MAX_QUERY_LENGTH:
        raise UserFacingError(f"Please search for at most {MAX_QUERY_LENGTH} characters.")
    query = fts_query(text)
    if query is None:
        raise UserFacingError(
            "Type at least one word to search for (punctuation alone is not searched)."
        )
    if topic_name:
        words = " ".join(f'"{w}"' for w in _WORDS.findall(topic_name))
        if words:
            query = f"({query}) AND topics_text : ({words})"
    return query


def _page(rows: list[ArticleSummary], number: int) -> Page:
    return Page(rows[:PAGE_SIZE], number, len(rows) > PAGE_SIZE and number + 1 < MAX_PAGES)


def _from_article(article: Article) -> CoverageItem:
    return CoverageItem(
        title=article.title,
        url=article.url,
        provider=article.provider.name if article.provider else None,
        published_at=article.published_at,
        article_id=article.id,
    )


def _from_summary(summary: ArticleSummary) -> CoverageItem:
    return CoverageItem(
        summary.title, summary.url, summary.provider, summary.published_at, summary.id
    )
