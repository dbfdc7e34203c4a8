"""Per-server visibility against a real SQLite file: articles that only a server's own sources
carry are that server's, in every query (candidates, listings, search, autocomplete, topics and
their counts, related coverage); a DM sees only global articles; visibility only widens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.models import Article, Provider, RelatedItem
from bot.domain.selection import Policy
from bot.errors import UserFacingError
from bot.services.news import NewsService
from bot.store.articles import ArticleStore
from bot.store.browse import RANKED_MATCHES, BrowseStore, fts_query
from bot.store.candidates import CandidateQueries
from bot.store.db import Database
from bot.store.rows import article_rows
from bot.store.withdrawals import WithdrawalStore

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ONE, TWO = 111, 222  # two servers
GLOBAL = "data/news/a.md"
FEED_ONE = f"server:{ONE}:https://one.example/feed"
FEED_TWO = f"server:{TWO}:https://two.example/feed"


def story(name: str, hours: int, topics: tuple[str, ...] = ("Robots",), **more: object) -> Article:
    return Article(
        url=f"https://news.example/{name}",
        title=f"Robots story {name}",
        excerpt=f"About robots: {name}",
        published_at=NOW - timedelta(hours=hours),
        quality=60,
        topics=topics,
        provider=Provider(name="Example News", domain="news.example"),
        **more,  # type: ignore[arg-type]
    )


async def store(articles: ArticleStore, items: list[Article], path: str, guild: int | None) -> None:
    await articles.apply_batch([article_rows(a, path) for a in items], guild=guild)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "news.db")
    yield database
    await database.close()


@pytest.fixture
async def desk(db: Database) -> ArticleStore:
    """global: g1 (linked from one's o1), w (first one's, then carried by a global source);
    server one: o1, o2 (only topic Gardening), shared; server two: t1, shared."""
    articles = ArticleStore(db)
    await store(articles, [story("w", 5)], FEED_ONE, ONE)
    await store(articles, [story("g1", 1), story("w", 5)], GLOBAL, None)
    await store(
        articles,
        [
            story("o1", 2, related=(RelatedItem(url="https://news.example/g1", title="g1"),)),
            story("o2", 3, topics=("Gardening",)),
            story("shared", 4),
        ],
        FEED_ONE,
        ONE,
    )
    await store(articles, [story("t1", 2), story("shared", 4)], FEED_TWO, TWO)
    return articles


SEES = {
    None: {"g1", "w"},
    ONE: {"g1", "w", "o1", "o2", "shared"},
    TWO: {"g1", "w", "t1", "shared"},
}


async def ids_of(db: Database, names: set[str]) -> dict[int, str]:
    rows = await db.fetch("SELECT id, url FROM articles")
    found = {r[0]: r[1].rsplit("/", 1)[1] for r in rows}
    return {i: n for i, n in found.items() if n in names}


def names(urls: list[str]) -> set[str]:
    return {u.rsplit("/", 1)[1] for u in urls}


async def recount(db: Database) -> dict[str, int]:
    """topics.article_count as a fresh count would make it: live global links."""
    rows = await db.fetch(
        "SELECT k.name, count(a.id) FROM topics k LEFT JOIN article_topics t ON t.topic_id = k.id "
        "AND t.restricted = 0 LEFT JOIN articles a ON a.id = t.article_id "
        "AND a.withdrawn_at IS NULL GROUP BY k.id"
    )
    return {r[0]: r[1] for r in rows}


async def stored_counts(db: Database) -> dict[str, int]:
    return {r[0]: r[1] for r in await db.fetch("SELECT name, article_count FROM topics")}


@pytest.mark.parametrize("guild", [None, ONE, TWO])
async def test_every_query_shows_a_server_its_own_and_the_global_articles(
    db: Database, desk: ArticleStore, guild: int | None
) -> None:
    browse = BrowseStore(db)
    wanted = SEES[guild]
    robots = await browse.topic("Robots")
    assert robots is not None
    policy = Policy.build(min_quality=0)
    queries = CandidateQueries(db)
    candidates = await queries.candidates(1, policy, NOW, 50, guild=guild)
    assert names([c.url for c in candidates]) == wanted
    in_topic = Policy.build(min_quality=0, topics=("Robots",))
    robot_candidates = await queries.candidates(1, in_topic, NOW, 50, guild=guild)
    assert names([c.url for c in robot_candidates]) == wanted - {"o2"}
    by_provider = Policy.build(min_quality=0, providers=("news.example",))
    provided = await queries.candidates(1, by_provider, NOW, 50, guild=guild)
    assert names([c.url for c in provided]) == wanted
    recent = await queries.recent(1, ("Robots",), 50, guild=guild)
    assert names([c.url for c in recent]) == wanted - {"o2"}
    assert names([c.url for c in await queries.recent(1, (), 50, guild=guild)]) == wanted

    assert names([a.url for a in await browse.latest(50, guild=guild)]) == wanted
    for sort in ("quality", "recent"):
        page = await browse.topic_page(robots[0], sort, 50, guild=guild)  # type: ignore[arg-type]
        assert names([a.url for a in page]) == wanted - {"o2"}
    query = fts_query("robots")
    assert query is not None
    found = await browse.search(query, None, guild=guild)
    every = await ids_of(db, SEES[ONE] | SEES[TWO])
    assert {every[m.id] for m in found} == wanted
    assert names([a.url for a in await browse.complete_article("robots sto", guild=guild)]) == (
        wanted
    )
    assert names([a.url for a in await browse.complete_article("rob", guild=guild)]) == wanted
    summaries = await browse.summaries(list(every), guild=guild)
    assert names([a.url for a in summaries]) == wanted
    near = await browse.near_in_time([robots[0]], NOW - timedelta(days=1), NOW, 50, guild=guild)
    assert names([a.url for a in near]) == wanted - {"o2"}


@pytest.mark.parametrize("guild", [None, ONE, TWO])
async def test_topics_and_their_counts_are_the_servers(
    db: Database, desk: ArticleStore, guild: int | None
) -> None:
    browse = BrowseStore(db)
    expected = {"Robots": len(SEES[guild] - {"o2"})}
    if guild == ONE:
        expected["Gardening"] = 1
    listed = {t.name: t.articles for t in await browse.topics(guild=guild)}
    assert listed == expected
    assert await browse.topic_count(guild=guild) == len(expected)
    completed = await browse.complete_topic("gard", guild=guild)
    assert [(t.name, t.articles) for t in completed] == ([("Gardening", 1)] if guild == ONE else [])
    assert [t.name for t in await browse.complete_topic("obot", guild=guild)] == ["Robots"]
    # the stored counts are the global ones, as a fresh count makes them
    assert await stored_counts(db) == await recount(db) == {"Robots": 2, "Gardening": 0}


@pytest.mark.parametrize("guild", [None, ONE, TWO])
async def test_articles_by_id_and_related_coverage_are_the_servers(
    db: Database, desk: ArticleStore, guild: int | None
) -> None:
    news = NewsService(desk, BrowseStore(db))
    every = await ids_of(db, SEES[ONE] | SEES[TWO])
    for article_id, name in every.items():
        if name in SEES[guild]:
            assert (await news.resolve_article(str(article_id), guild=guild)).id == article_id
            assert await news.related(article_id, guild=guild) is not None
        else:  # an id picked elsewhere (typed by hand, a button of another server's post)
            with pytest.raises(UserFacingError):
                await news.resolve_article(str(article_id), guild=guild)
            assert await news.related(article_id, guild=guild) is None
    g1 = next(i for i, n in every.items() if n == "g1")
    coverage = await news.related(g1, guild=guild)
    assert coverage is not None
    assert ("https://news.example/o1" in [i.url for i in coverage.items]) == (guild == ONE)
    if guild == ONE:
        assert (await news.resolve_article("Robots story o2", guild=guild)).title.endswith("o2")
    else:
        with pytest.raises(UserFacingError):
            await news.resolve_article("Robots story o2", guild=guild)


async def test_a_small_servers_pages_and_searches_are_full_among_many_others(
    db: Database, desk: ArticleStore
) -> None:
    """Visibility is inside the queries, before their limits: another server's flood of newer
    matches does not starve this one's pages or its search's newest-matches cut."""
    flood = [story(f"flood{i}", 0) for i in range(RANKED_MATCHES + 100)]
    await store(desk, flood, FEED_TWO, TWO)
    browse = BrowseStore(db)
    assert names([a.url for a in await browse.latest(5, guild=ONE)]) == SEES[ONE]
    query = fts_query("robots")
    assert query is not None
    assert len(await browse.search(query, None, guild=ONE)) == len(SEES[ONE])
    assert len(await browse.search(query, None, guild=TWO)) == RANKED_MATCHES
    assert names([a.url for a in await browse.complete_article("rob", 5, guild=ONE)]) == (SEES[ONE])
    found = await CandidateQueries(db).candidates(1, Policy.build(), NOW, 5, guild=ONE)
    assert names([c.url for c in found]) == SEES[ONE]


async def test_visibility_only_widens_and_the_counts_follow(
    db: Database, desk: ArticleStore
) -> None:
    browse = BrowseStore(db)
    # server two's source now carries o1 too: both servers see it, nobody else
    await store(desk, [story("o1", 2)], FEED_TWO, TWO)
    every = await ids_of(db, SEES[ONE] | SEES[TWO])
    query = fts_query("robots")
    assert query is not None

    async def searched(guild: int | None) -> set[str]:
        return {every[m.id] for m in await browse.search(query, None, guild=guild)}

    for guild in (ONE, TWO):
        assert "o1" in names([a.url for a in await browse.latest(50, guild=guild)])
        assert "o1" in await searched(guild)  # the search index knows both servers
        assert "o1" in names([a.url for a in await browse.complete_article("rob", guild=guild)])
    assert "o1" not in names([a.url for a in await browse.latest(50, guild=None)])
    assert "o1" not in await searched(None)
    # a global source carries it, changed: everyone sees it, and it counts
    corrected = replace(story("o1", 2), title="Robots story o1, corrected")
    await store(desk, [corrected], GLOBAL, None)
    assert "o1" in names([a.url for a in await browse.latest(50, guild=None)])
    assert "o1" in await searched(None)
    # a global source carries o2 unchanged: widened without being written
    await store(desk, [story("o2", 3, topics=("Gardening",))], GLOBAL, None)
    assert {t.name: t.articles for t in await browse.topics(guild=None)} == {
        "Robots": 3,
        "Gardening": 1,
    }
    assert await stored_counts(db) == await recount(db)
    # a server source carrying a global article again does not restrict it
    await store(desk, [story("o1", 2)], FEED_ONE, ONE)
    assert "o1" in names([a.url for a in await browse.latest(50, guild=TWO)])
    assert (
        await db.fetch(
            "SELECT * FROM article_guilds WHERE article_id IN "
            "(SELECT id FROM articles WHERE restricted = 0)"
        )
        == []
    )


async def test_a_servers_feed_never_rewrites_what_every_server_sees(
    db: Database, desk: ArticleStore
) -> None:
    # g1 is global (its source may be gone from the config since); w was server one's first
    # and is global now, its stored source path still server one's feed
    defaced = [
        replace(story("g1", 1), title="Robots story g1, as server two would have it"),
        replace(story("w", 5), title="Robots story w, as server one would have it"),
    ]
    for guild, path in ((TWO, FEED_TWO), (ONE, FEED_ONE)):
        result = await desk.apply_batch([article_rows(a, path) for a in defaced], guild=guild)
        assert set(result.outcomes.values()) == {"unchanged"}
        assert result.reshown == []
    titles = {r[0] for r in await db.fetch("SELECT title FROM articles")}
    assert {"Robots story g1", "Robots story w"} <= titles
    assert not any("would have it" in t for t in titles)
    # a withdrawn global article is not brought back for everyone by a server's feed either
    every = {n: i for i, n in (await ids_of(db, {"g1"})).items()}
    await WithdrawalStore(db).withdraw([every["g1"]], [])
    await store(desk, [story("g1", 1)], FEED_TWO, TWO)
    assert "g1" not in names([a.url for a in await BrowseStore(db).latest(50, guild=TWO)])
    assert await stored_counts(db) == await recount(db)


async def test_an_exports_record_of_servers_restricts_without_narrowing(
    db: Database, desk: ArticleStore
) -> None:
    browse = BrowseStore(db)
    # o1 (server one's) read back from an export that says servers one and two carried it;
    # g1 (global) from one that says only server one: visibility never narrows
    rows = [
        article_rows(replace(story("o1", 2), servers=(ONE, TWO)), GLOBAL),
        article_rows(replace(story("g1", 1), servers=(ONE,)), GLOBAL),
        article_rows(replace(story("new", 1), servers=(TWO,)), GLOBAL),
    ]
    await desk.apply_batch(rows)
    seen = {g: names([a.url for a in await browse.latest(50, guild=g)]) for g in (None, ONE, TWO)}
    assert seen[None] == SEES[None]
    assert seen[ONE] == SEES[ONE]
    assert seen[TWO] == SEES[TWO] | {"o1", "new"}
    query = fts_query("robots")
    assert query is not None
    every = await ids_of(db, SEES[ONE] | SEES[TWO] | {"new"})
    assert {every[m.id] for m in await browse.search(query, None, guild=None)} == SEES[None]
    assert await stored_counts(db) == await recount(db)


async def test_one_batch_with_a_url_twice_lets_every_rows_servers_see_it(
    db: Database, desk: ArticleStore
) -> None:
    browse = BrowseStore(db)
    twice = [  # two instances' exports of one new article; then one from everyone's source
        article_rows(replace(story("both", 1), servers=(ONE,)), GLOBAL),
        article_rows(replace(story("both", 1), servers=(TWO,)), "other/export.json"),
        article_rows(replace(story("open", 1), servers=(ONE,)), GLOBAL),
        article_rows(story("open", 1), "plain/file.md"),
    ]
    await desk.apply_batch(twice)
    seen = {g: names([a.url for a in await browse.latest(50, guild=g)]) for g in (None, ONE, TWO)}
    assert "both" in seen[ONE] and "both" in seen[TWO] and "both" not in seen[None]
    assert "open" in seen[None]  # a plain file carries it: everyone sees it
    assert await stored_counts(db) == await recount(db)


async def test_withdrawing_and_restoring_keeps_the_counts_true(
    db: Database, desk: ArticleStore
) -> None:
    every = {n: i for i, n in (await ids_of(db, SEES[ONE] | SEES[TWO])).items()}
    await WithdrawalStore(db).withdraw([every["g1"], every["shared"], every["o2"]], [])
    assert await stored_counts(db) == await recount(db) == {"Robots": 1, "Gardening": 0}
    browse = BrowseStore(db)
    assert {t.name: t.articles for t in await browse.topics(guild=ONE)} == {"Robots": 2}
    # restored by their sources
    await store(desk, [story("shared", 4)], FEED_TWO, TWO)
    await store(desk, [story("g1", 1)], GLOBAL, None)
    await store(desk, [story("o2", 3, topics=("Gardening",))], FEED_ONE, ONE)
    assert await stored_counts(db) == await recount(db) == {"Robots": 2, "Gardening": 0}
    assert {t.name: t.articles for t in await browse.topics(guild=ONE)} == {
        "Robots": 4,
        "Gardening": 1,
    }


async def test_the_words_that_say_who_may_see_an_article_are_not_searchable(
    db: Database, desk: ArticleStore
) -> None:
    """The full-text indexes carry each restricted article's scope (``r``, ``g<server>``): a
    search for those words finds nothing, from anywhere."""
    browse = BrowseStore(db)
    for word in ("r", f"g{ONE}", f"r g{TWO}", "scope"):
        query = fts_query(word)
        assert query is not None
        for guild in (None, ONE, TWO):
            assert await browse.search(query, None, guild=guild) == []
            assert await browse.complete_article(word, guild=guild) == []
