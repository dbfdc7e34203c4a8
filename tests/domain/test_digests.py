"""The digest builder: every Discord limit shared by ten embeds, its title, order and nonce."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord_io.render import post_embeds, post_view
from bot.domain.delivery import digest_nonce, nonce_for
from bot.domain.digests import (
    MAX_EMBEDS,
    DigestItem,
    build_digest,
    digest_title,
    in_digest_order,
    shown_withdrawn,
)
from bot.domain.edits import WITHDRAWN_SHOWN, Action, digest_action
from bot.domain.models import RelatedItem
from bot.domain.posts import (
    AUTHOR_LIMIT,
    EMBED_TOTAL_LIMIT,
    RELATED_BUTTON_PREFIX,
    TITLE_LIMIT,
    WITHDRAWN_NOTE,
    embed_length,
)
from tests.domain.test_posts import make

WHEN = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)


def test_a_typical_digest() -> None:
    related = (RelatedItem("https://r.example.com/1", "Elsewhere"),)
    items = [
        DigestItem(make(id=1, url="https://n.example.com/1", title="One", related=related)),
        DigestItem(make(id=2, url="https://n.example.com/2", title="Two *bold*")),
    ]
    post = build_digest(items, title="News digest · Wednesday 2 December 2026", mention_role_id=5)
    assert post.content == "<@&5> **News digest · Wednesday 2 December 2026**"
    assert [e["title"] for e in post.embeds] == ["One", r"Two \*bold\*"]
    assert [e["url"] for e in post.embeds] == ["https://n.example.com/1", "https://n.example.com/2"]
    assert post.urls == ("https://n.example.com/1", "https://n.example.com/2")
    assert post.embeds[0]["thumbnail"] == {"url": "https://img.example.com/1.jpg"}
    assert "image" not in post.embeds[0] and "fields" not in post.embeds[0]
    assert post.embeds[0]["footer"] == {"text": "AI · Robotics | Quality 88"}
    assert post.article_id is None and post.related_button_id is None  # no post's button
    assert [(c.article_id, c.label) for c in post.related_buttons] == [(1, "🔗 1. One")]
    view = post_view(post)
    (button,) = view.to_components()[0]["components"]
    assert button["custom_id"] == f"{RELATED_BUTTON_PREFIX}1"
    assert button["label"] == "🔗 1. One"
    assert len(post_embeds(post)) == 2


def test_a_withdrawn_article_shows_its_title_and_link_only() -> None:
    items = [DigestItem(make(id=1)), DigestItem(make(id=2, url="https://n.example.com/2"), True)]
    post = build_digest(items, title="t")
    shown = post.embeds[1]
    assert shown["title"] == "A title" and shown["url"] == "https://n.example.com/2"
    assert WITHDRAWN_NOTE in shown["description"]
    assert "thumbnail" not in shown and "author" not in shown
    assert post.related_buttons == ()  # none has related coverage


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, MAX_EMBEDS),
    title=st.text(min_size=0, max_size=400),
    excerpt=st.text(min_size=0, max_size=5000),
    provider=st.text(min_size=1, max_size=400),
    topic=st.text(min_size=1, max_size=300),
)
def test_every_digest_fits_what_one_message_allows(
    count: int, title: str, excerpt: str, provider: str, topic: str
) -> None:
    base = make(title=title, excerpt=excerpt, topics=(topic,) * 5)
    base = replace(base, provider=replace(base.provider, name=provider))  # type: ignore[type-var]
    items = [
        DigestItem(replace(base, id=n, url=f"https://n.example.com/{n}")) for n in range(count)
    ]
    post = build_digest(items, title=title or "t")
    assert len(post.embeds) == count
    assert sum(embed_length(e) for e in post.embeds) <= EMBED_TOTAL_LIMIT
    for embed in post.embeds:
        assert 1 <= len(embed["title"]) <= TITLE_LIMIT
        assert len(embed.get("author", {}).get("name", "")) <= AUTHOR_LIMIT
        discord.Embed.from_dict(embed)  # discord.py takes it
    assert post.content is not None and len(post.content) <= 2000
    assert all(len(b.label) <= 80 for b in post.related_buttons)


def test_the_title_is_the_date_in_the_subscriptions_time_zone() -> None:
    assert digest_title(WHEN, "UTC") == "News digest · Wednesday 2 December 2026"
    assert digest_title(WHEN, "Asia/Tokyo") == "News digest · Thursday 3 December 2026"
    assert digest_title(WHEN, "America/Los_Angeles") == "News digest · Wednesday 2 December 2026"


def test_articles_show_best_first_then_newest() -> None:
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    articles = [
        make(id=1, quality=None, published_at=late),
        make(id=2, quality=50, published_at=early),
        make(id=3, quality=50, published_at=late),
        make(id=4, quality=90, published_at=early),
    ]
    assert [a.id for a in in_digest_order(articles)] == [4, 3, 2, 1]


def test_a_digest_nonce_names_its_channel_and_its_articles_in_any_order() -> None:
    nonce = digest_nonce(10, [3, 1, 2])
    assert nonce == digest_nonce(10, [1, 2, 3])
    assert len(nonce) <= 25
    assert nonce != digest_nonce(11, [1, 2, 3])
    assert nonce != digest_nonce(10, [1, 2])
    assert nonce != nonce_for(10, "1,2,3")


def test_what_a_digest_needs_from_what_its_articles_would() -> None:
    nothing, edit, mark, delete = Action.NOTHING, Action.EDIT, Action.MARK, Action.DELETE
    assert digest_action([nothing, nothing]) is nothing
    assert digest_action([nothing, edit]) is edit
    assert digest_action([mark, nothing]) is edit  # the whole digest is rendered again
    assert digest_action([delete, nothing]) is edit  # delete acts as mark among others
    assert digest_action([delete, delete]) is delete
    assert digest_action([delete]) is delete


def test_a_withdrawn_article_shows_as_withdrawn_unless_kept() -> None:
    assert not shown_withdrawn(False, "delete", None)
    assert shown_withdrawn(True, "mark", None)
    assert shown_withdrawn(True, "delete", "abc")
    assert not shown_withdrawn(True, "keep", "abc")
    assert shown_withdrawn(True, "keep", WITHDRAWN_SHOWN)  # marked before on_removed changed
