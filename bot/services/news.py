"""Reading the archive for people: related coverage (and, with the slash commands, more)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.listings import CoverageItem
from bot.domain.models import Article
from bot.store.articles import ArticleStore


@dataclass(frozen=True, slots=True)
class Coverage:
    article: Article
    items: list[CoverageItem]


class NewsService:
    def __init__(self, articles: ArticleStore) -> None:
        self.articles = articles

    async def related(self, article_id: int) -> Coverage | None:
        """The source's related items plus stored articles that cover the same story."""
        article = await self.articles.get(article_id)
        if article is None:
            return None
        items: dict[str, CoverageItem] = {}
        for item in article.related:
            if item.url and item.url != article.url:
                items.setdefault(
                    item.url,
                    CoverageItem(
                        title=item.title or item.url,
                        url=item.url,
                        provider=item.provider_name,
                        published_at=item.published_at,
                    ),
                )
        for other in await self.articles.linking_to(article_id):
            if other.url != article.url:
                items.setdefault(other.url, _item(other))
        ordered = sorted(
            items.values(),
            key=lambda i: (i.published_at is not None, i.published_at),
            reverse=True,
        )
        return Coverage(article, ordered)


def _item(article: Article) -> CoverageItem:
    return CoverageItem(
        title=article.title,
        url=article.url,
        provider=article.provider.name if article.provider else None,
        published_at=article.published_at,
        article_id=article.id,
    )
