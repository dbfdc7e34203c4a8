"""The embed builder: every Discord limit, over hostile articles (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord_io.render import allowed_mentions, post_embeds, post_view
from bot.domain.models import Article, Provider, RelatedItem
from bot.domain.posts import (
    AUTHOR_LIMIT,
    BUTTON_URL_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FIELDS_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    build_post,
    embed_length,
    escape_markdown,
    truncate,
)
from bot.domain.urls import is_http_url

WHEN = datetime(2021, 1, 2, 3, 4, 5, tzinfo=UTC)


def make(**overrides: object) -> Article:
    fields: dict[str, object] = {
        "id": 7,
        "url": "https://news.example.com/a",
        "title": "A title",
        "published_at": WHEN,
        "excerpt": "An excerpt.",
        "provider": Provider(
            "Example", "example.com", {"images": [{"url": "https://e.com/i.png"}]}
        ),
        "topics": ("AI", "Robotics"),
        "quality": 88,
        "images": ({"url": "https://img.example.com/1.jpg"},),
    }
    fields.update(overrides)
    return Article(**fields)  # type: ignore[arg-type]


def test_a_typical_post() -> None:
    related = tuple(
        RelatedItem(f"https://r.example.com/{i}", f"Related {i}", provider_name="R")
        for i in range(5)
    )
    post = build_post(make(related=related))
    embed = post.embed
    assert embed["title"] == "A title"
    assert embed["url"] == "https://news.example.com/a"
    assert embed["description"] == "An excerpt."
    assert embed["timestamp"] == "2021-01-02T03:04:05+00:00"
    assert embed["author"] == {
        "name": "Example",
        "icon_url": "https://e.com/i.png",
        "url": "https://example.com/",
    }
    assert embed["image"] == {"url": "https://img.example.com/1.jpg"}
    assert embed["footer"] == {"text": "AI · Robotics | Quality 88"}
    (field,) = embed["fields"]
    assert field["name"] == "Related coverage"
    assert field["value"].count("\n") == 2  # at most three links
    assert post.link_button is not None
    assert post.related_button_id == "newsdesk:related:7"
    assert post.content is None


def test_an_unrated_article_says_so_in_its_footer() -> None:
    assert build_post(make(quality=None)).embed["footer"] == {"text": "AI · Robotics | Unrated"}
    assert build_post(make(quality=None, topics=())).embed["footer"] == {"text": "Unrated"}
    assert build_post(make(quality=12.5, topics=())).embed["footer"] == {"text": "Quality 12.5"}


def test_excerpt_is_cut_at_a_word_boundary() -> None:
    post = build_post(make(excerpt="word " * 200), excerpt_length=50)
    description = post.embed["description"]
    assert len(description) <= 50
    assert description.endswith("word…")


def test_video_gets_a_thumbnail_from_its_embed() -> None:
    post = build_post(
        make(
            type="video",
            images=(),
            featured_content='<iframe src="https://www.youtube.com/embed/qwoVBh49Db8"></iframe>',
        )
    )
    assert post.embed["thumbnail"] == {
        "url": "https://img.youtube.com/vi/qwoVBh49Db8/hqdefault.jpg"
    }
    assert "image" not in post.embed


def test_markdown_in_titles_is_escaped() -> None:
    assert escape_markdown("**bold** _it_ `code` [x](y) @everyone") == (
        r"\*\*bold\*\* \_it\_ \`code\` \[x\]\(y\) @everyone"
    )


def test_truncate_never_leaves_half_an_escape() -> None:
    text = escape_markdown("a" * 20 + "*" * 20)
    for limit in range(10, 60):
        cut = truncate(text, limit)
        assert len(cut) <= limit
        body = cut.removesuffix("…")
        assert (len(body) - len(body.rstrip("\\"))) % 2 == 0


def test_unsafe_urls_are_dropped() -> None:
    post = build_post(
        make(
            url="https://news.example.com/" + "x" * 600,
            images=({"url": "javascript:alert(1)"},),
            provider=Provider("P", None, {"images": [{"url": "ftp://x/icon.png"}]}),
        )
    )
    assert "image" not in post.embed
    assert "icon_url" not in post.embed["author"]
    assert post.link_button is None  # longer than 512: no link button, the title still links


text_any = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=6000
)
urls = st.one_of(
    st.just("https://ok.example.com/a"),
    st.text(max_size=80),
    st.builds(lambda s: "https://h.example.com/" + s, st.text(max_size=3000)),
)


@settings(max_examples=200, deadline=None)
@given(
    title=text_any.filter(str.strip),
    excerpt=st.one_of(st.none(), text_any),
    provider=st.one_of(st.none(), st.builds(Provider, text_any, st.one_of(st.none(), text_any))),
    topics=st.lists(text_any, max_size=40).map(tuple),
    related=st.lists(
        st.builds(RelatedItem, st.one_of(st.none(), urls), st.one_of(st.none(), text_any)),
        max_size=40,
    ).map(tuple),
    image=urls,
    quality=st.one_of(st.none(), st.floats(allow_nan=False), st.integers()),
    kind=st.sampled_from(["article", "video", "VIDEO", "podcast"]),
    mention=st.one_of(st.none(), st.integers(1, 2**63 - 1)),
)
def test_every_limit_holds_for_hostile_articles(
    title: str,
    excerpt: str | None,
    provider: Provider | None,
    topics: tuple[str, ...],
    related: tuple[RelatedItem, ...],
    image: str,
    quality: float | None,
    kind: str,
    mention: int | None,
) -> None:
    article = make(
        title=title,
        excerpt=excerpt,
        provider=provider,
        topics=topics,
        related=related,
        images=({"url": image},),
        quality=quality,
        type=kind,
    )
    post = build_post(article, excerpt_length=4096, mention_role_id=mention)
    embed = post.embed
    assert 0 < len(embed["title"]) <= TITLE_LIMIT
    assert len(embed.get("description", "")) <= DESCRIPTION_LIMIT
    assert len(embed["footer"]["text"]) <= FOOTER_LIMIT
    assert len(embed.get("author", {}).get("name", "")) <= AUTHOR_LIMIT
    assert len(embed.get("fields", [])) <= FIELDS_LIMIT
    for item in embed.get("fields", []):
        assert 0 < len(item["name"]) <= FIELD_NAME_LIMIT
        assert 0 < len(item["value"]) <= FIELD_VALUE_LIMIT
    assert embed_length(embed) <= EMBED_TOTAL_LIMIT
    for where in (embed.get("image"), embed.get("thumbnail"), embed.get("author")):
        for key in ("url", "icon_url"):
            if where and key in where:
                assert is_http_url(where[key])
    if post.link_button:
        assert len(post.link_button.url) <= BUTTON_URL_LIMIT
    # discord.py's own view of it agrees
    (rendered,) = post_embeds(post)
    assert len(rendered) <= EMBED_TOTAL_LIMIT
    view = post_view(post)
    assert all(len(getattr(i, "label", "") or "") <= 80 for i in view.children)
    mentions = allowed_mentions(post).to_dict()
    assert mentions["parse"] == []
    assert mentions.get("roles", []) == ([mention] if mention else [])
    assert isinstance(rendered, discord.Embed)
