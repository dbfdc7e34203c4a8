"""Keyword filters end to end: set from Discord, applied by a run, explained by the preview."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import (
    AI_CHANNEL,
    ALICE,
    GUILD,
    ROBOTS_CHANNEL,
    Running,
    article,
    make_fake,
    make_settings,
    populate,
    running_bot,
    subscription,
    url_of,
)
from tests.fakediscord import FakeDiscord

pytestmark = pytest.mark.slow


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with make_fake() as server:
        populate(server)
        yield server


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[Running]:
    article(tmp_path, 1, title="Robots learn to cook", excerpt="Kitchens of the future.")
    article(tmp_path, 2, title="A café run by robots", excerpt="They also accept crypto.")
    article(tmp_path, 3, title="Machine learning, explained", excerpt="No robots inside.")
    article(tmp_path, 4, title="Learning a machine", excerpt="Order matters in a phrase.")
    article(tmp_path, 5, title="Weather", excerpt="Sunny all week.")
    article(tmp_path, 6, title="人工智能研究的新进展", excerpt=None)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, max_per_run=10)])
    async with running_bot(fake, settings) as running:
        yield running


async def test_keywords_from_discord_decide_what_a_run_posts(
    bot: Running, fake: FakeDiscord
) -> None:
    made = await fake.slash(
        GUILD,
        AI_CHANNEL,
        ALICE,
        "newsadmin subscribe",
        {
            "channel": ROBOTS_CHANNEL,
            "max_age": "none",
            "max_per_run": 10,
            "keywords": 'ROBOTS, "machine learning" 人工智能',
            "exclude_keywords": "crypto",
        },
    )
    assert "with a keyword of ROBOTS" in made.content, made.content
    preview = await fake.slash(
        GUILD, AI_CHANNEL, ALICE, "newsadmin preview", {"channel": ROBOTS_CHANNEL}
    )
    shown = preview.embeds[0]["description"]
    assert "has an excluded keyword" in shown and "has none of the keywords" in shown
    report = await bot.run(ROBOTS_CHANNEL)
    assert sorted(bot.posted_urls(ROBOTS_CHANNEL)) == sorted(url_of(n) for n in (1, 3, 6))
    assert len(report.posted) == 3

    cleared = await fake.slash(
        GUILD,
        AI_CHANNEL,
        ALICE,
        "newsadmin edit",
        {"channel": ROBOTS_CHANNEL, "keywords": "-", "exclude_keywords": "-"},
    )
    assert "keyword" not in cleared.content
    await bot.run(ROBOTS_CHANNEL)
    assert len(bot.posted_urls(ROBOTS_CHANNEL)) == 6


async def test_a_keyword_without_a_word_is_refused_clearly(bot: Running, fake: FakeDiscord) -> None:
    bad = await fake.slash(
        GUILD,
        AI_CHANNEL,
        ALICE,
        "newsadmin edit",
        {"channel": AI_CHANNEL, "keywords": '"..." !!'},
    )
    assert "keywords: '\"...\"' has no word to look for" in bad.content, bad.content
    assert "Traceback" not in bad.content
    assert (await bot.sub(AI_CHANNEL)).spec.keywords == ()
