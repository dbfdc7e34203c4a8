"""What a post shows, and so which changes of an article edit its posts (bot.domain.edits)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.edits import WITHDRAWN_SHOWN, Action, edit_cutoff, next_action, shown_digest
from bot.domain.models import Article, Provider, RelatedItem

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def related(n: int) -> RelatedItem:
    return RelatedItem(url=f"https://other.example/{n}", title=f"Coverage {n}", provider_name="P")


BASE = Article(
    url="https://news.example.com/a",
    title="Robots learn chess",
    published_at=NOW,
    excerpt="They play well.",
    quality=70,
    heat=40,
    provider=Provider("Example", "example.com", {"images": [{"url": "https://e.com/i.png"}]}),
    topics=("AI",),
    images=({"url": "https://img.example/1.jpg"},),
    related=(related(1), related(2)),
    body="The body.",
)


@pytest.mark.parametrize(
    "changed",
    [
        {"title": "Robots learn chess, and go"},
        {"excerpt": "They play very well."},
        {"images": ({"url": "https://img.example/2.jpg"},)},
        {"images": ()},
        {"provider": Provider("Other", "example.com", BASE.provider.extra)},  # type: ignore[union-attr]
        {"provider": Provider("Example", "example.com", {})},  # the icon went away
        {"related": (related(1), related(2), related(3))},  # grown, within what is listed
        {"related": (related(2), related(1))},  # reordered
        {"type": "video"},  # shown as a thumbnail then
    ],
)
def test_what_a_post_shows_changes_the_digest(changed: dict[str, object]) -> None:
    assert shown_digest(replace(BASE, **changed)) != shown_digest(BASE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changed",
    [
        {"quality": 71},  # re-scored: the footer's figure, not worth an edit per post
        {"topics": ("AI", "Games")},
        {"published_at": NOW + timedelta(hours=1)},
        {"heat": 90},
        {"body": "Another body."},
        {"title": "Robots   learn\nchess "},  # whitespace the post collapses anyway
        {"related": (related(1), related(2), RelatedItem(url=None, title="no link"))},
        {"extra": {"unknown": 1}},
    ],
)
def test_what_a_post_does_not_show_leaves_the_digest(changed: dict[str, object]) -> None:
    assert shown_digest(replace(BASE, **changed)) == shown_digest(BASE)  # type: ignore[arg-type]


def test_related_coverage_beyond_the_listed_items_costs_no_edit() -> None:
    three = replace(BASE, related=(related(1), related(2), related(3)))
    four = replace(BASE, related=(related(1), related(2), related(3), related(4)))
    assert shown_digest(three) == shown_digest(four)


def test_the_edit_window() -> None:
    assert edit_cutoff(None, NOW) is None
    assert edit_cutoff(timedelta(days=7), NOW) == NOW - timedelta(days=7)


@pytest.mark.parametrize(
    ("withdrawn", "on_removed", "edits", "post", "expected"),
    [
        (False, "keep", True, "old", Action.EDIT),
        (False, "keep", True, "now", Action.NOTHING),  # changed and changed back
        (False, "keep", False, "old", Action.NOTHING),  # edits off
        (False, "mark", False, WITHDRAWN_SHOWN, Action.EDIT),  # came back: shown again
        (True, "keep", True, "old", Action.NOTHING),
        (True, "mark", False, "now", Action.MARK),  # acts with edits off
        (True, "mark", True, WITHDRAWN_SHOWN, Action.NOTHING),  # marked already
        (True, "delete", False, "now", Action.DELETE),
    ],
)
def test_what_a_queued_post_needs(
    withdrawn: bool, on_removed: str, edits: bool, post: str, expected: Action
) -> None:
    got = next_action(
        withdrawn=withdrawn,
        on_removed=on_removed,
        edits=edits,
        post_shows=post,
        article_shows="now",
    )
    assert got is expected
