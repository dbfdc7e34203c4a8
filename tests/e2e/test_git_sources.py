"""A git source end to end: the running bot fetches it on its interval, posts its articles,
and a commit that corrects a title edits the posted message in place."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.harness import AI_CHANNEL, make_settings, recent, running_bot, subscription
from tests.fakediscord import FakeDiscord
from tests.support.git_remote import GitRemote

pytestmark = pytest.mark.slow


async def test_a_commit_with_a_corrected_title_edits_the_posted_message(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    remote = GitRemote(tmp_path / "git")
    remote.article("_news/1.md", 1, title="A title with a typpo", publishedDateTime=recent(1))
    remote.article("_news/2.md", 2, publishedDateTime=recent(2))
    remote.commit("first")
    settings = make_settings(
        tmp_path,
        [subscription(AI_CHANNEL, interval="1s", topics=["AI"])],
        sources=[{"git": remote.url, "paths": ["_news"], "interval": "1s"}],
    )
    async with running_bot(fake, settings) as run:
        await fake.wait_for_messages(AI_CHANNEL, 2, timeout=20)
        posts = run.post_requests(AI_CHANNEL)
        [typo] = [m for m in fake.messages_in(AI_CHANNEL) if "typpo" in m["embeds"][0]["title"]]
        remote.article("_news/1.md", 1, title="A title without a typo", publishedDateTime=recent(1))
        remote.commit("fix the title")
        for _ in range(200):
            edited = fake.message(int(typo["id"]))
            if edited and edited["embeds"][0]["title"] == "A title without a typo":
                break
            await asyncio.sleep(0.1)
        assert edited is not None
        assert edited["embeds"][0]["title"] == "A title without a typo"
        assert edited["edited_timestamp"]
        assert run.post_requests(AI_CHANNEL) == posts  # edited in place, never reposted
        assert len(fake.messages_in(AI_CHANNEL)) == 2
