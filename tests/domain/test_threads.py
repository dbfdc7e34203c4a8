"""Where a post goes: thread names, forum tags, options a channel's type ignores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.domain.subscription import SubscriptionSpec
from bot.domain.threads import (
    ChannelKind,
    ForumTag,
    NoTagPossible,
    ignored_options,
    pick_tags,
    starts_thread,
    thread_name,
    thread_too_late,
)

TAGS = (
    ForumTag(1, "AI"),
    ForumTag(2, "Computer Vision"),
    ForumTag(3, "Staff picks", moderated=True),
    ForumTag(4, "robotics"),
)


# Random text alone seldom passes 100 characters once collapsed: words joined by mixed
# whitespace reach the cut every time, and the examples pin the edges.
_TITLES = st.one_of(
    st.text(max_size=400),
    st.builds(
        str.join,
        st.sampled_from([" ", "  ", "\n", "\t "]),
        st.lists(
            st.text(st.characters(blacklist_categories=("Z", "C")), min_size=1, max_size=40),
            min_size=1,
            max_size=30,
        ),
    ),
)


@given(_TITLES)
@example("")
@example(" \n\t ")
@example("x" * 150)
@example("word " * 40)
@example("a" * 60 + " " + "b" * 60)
def test_a_thread_name_is_the_title_collapsed_within_100_characters(title: str) -> None:
    name = thread_name(title)
    collapsed = " ".join(title.split())
    assert 1 <= len(name) <= 100
    assert name == name.strip()
    assert name == "Untitled" if not collapsed else collapsed.startswith(name)
    if collapsed and name != collapsed:  # cut: at a word, unless no space leaves half of it
        rest = collapsed[len(name) :]
        assert rest[0] == " " or len(name) == 100


def test_a_thread_name_is_cut_at_a_word_and_keeps_markdown_as_written() -> None:
    title = "*Bold* claims: " + "word " * 40
    name = thread_name(title)
    assert name.startswith("*Bold* claims: word")
    assert name.endswith("word") and len(name) <= 100
    assert thread_name("  A\n\ttitle  ") == "A title"
    assert thread_name(" \n ") == "Untitled"
    assert thread_name("x" * 150) == "x" * 100  # no space to cut at


def test_tags_follow_the_topics_case_insensitively_in_topic_order() -> None:
    topics = ["Robotics", "ai", "Unknown"]
    assert pick_tags(topics, TAGS, auto=True, required=False, may_moderate=False) == (4, 1)
    assert pick_tags(topics, TAGS, auto=False, required=False, may_moderate=False) == ()


def test_moderated_tags_need_manage_threads() -> None:
    topics = ["Staff picks"]
    assert pick_tags(topics, TAGS, auto=True, required=False, may_moderate=False) == ()
    assert pick_tags(topics, TAGS, auto=True, required=False, may_moderate=True) == (3,)


def test_at_most_five_tags() -> None:
    many = tuple(ForumTag(i, f"t{i}") for i in range(1, 9))
    topics = [f"T{i}" for i in range(8, 0, -1)]
    assert pick_tags(topics, many, auto=True, required=False, may_moderate=False) == (
        8,
        7,
        6,
        5,
        4,
    )


def test_a_forum_that_requires_a_tag_gets_its_first_usable_one() -> None:
    moderated_first = (ForumTag(9, "Picks", moderated=True), *TAGS)
    got = pick_tags(["nothing"], moderated_first, auto=True, required=True, may_moderate=False)
    assert got == (1,)
    assert pick_tags([], TAGS, auto=False, required=True, may_moderate=False) == (1,)


def test_a_required_tag_that_cannot_be_applied_says_why() -> None:
    only_moderated = (ForumTag(9, "Picks", moderated=True),)
    with pytest.raises(NoTagPossible, match="Manage Threads"):
        pick_tags(["AI"], only_moderated, auto=True, required=True, may_moderate=False)
    with pytest.raises(NoTagPossible, match="has no tags"):
        pick_tags(["AI"], (), auto=True, required=True, may_moderate=False)


def _spec(**options: object) -> SubscriptionSpec:
    return SubscriptionSpec.model_validate({"channel_id": 1, **options})


@pytest.mark.parametrize(
    ("options", "kind", "ignored"),
    [
        ({"thread": True}, ChannelKind.FORUM, ["thread"]),
        ({"thread": True}, ChannelKind.THREAD, ["thread"]),
        ({"thread": True}, ChannelKind.TEXT, []),
        ({"thread": True, "crosspost": True}, ChannelKind.ANNOUNCEMENT, []),
        ({"forum_tags": "none"}, ChannelKind.TEXT, ["forum_tags"]),
        ({"forum_tags": "none"}, ChannelKind.FORUM, []),
        ({"crosspost": True}, ChannelKind.FORUM, ["crosspost"]),
        ({"crosspost": True}, ChannelKind.TEXT, ["crosspost"]),
        ({"thread_archive": "7d"}, ChannelKind.FORUM, []),  # forum posts archive too
        ({}, ChannelKind.VOICE, []),
        ({"mode": "digest", "max_per_run": 1}, ChannelKind.TEXT, ["max_per_run"]),
        ({"mode": "digest", "digest_size": 3}, ChannelKind.FORUM, []),
        ({"digest_size": 3}, ChannelKind.TEXT, ["digest_size"]),
    ],
)
def test_options_that_do_not_fit_the_channel_are_named(
    options: dict[str, object], kind: ChannelKind, ignored: list[str]
) -> None:
    got = [note.split(" ", 1)[0] for note in ignored_options(_spec(**options), kind)]
    assert got == ignored


def test_only_text_and_announcement_channels_start_threads() -> None:
    spec = _spec(thread=True)
    assert [k for k in ChannelKind if starts_thread(spec, k)] == [
        ChannelKind.TEXT,
        ChannelKind.ANNOUNCEMENT,
    ]
    assert not any(starts_thread(_spec(), k) for k in ChannelKind)


def test_an_owed_thread_is_given_up_after_its_archive_duration() -> None:
    sent = datetime(2026, 12, 1, 12, tzinfo=UTC)
    hourly = _spec(thread=True, thread_archive="1h")
    assert not thread_too_late(hourly, sent, sent + timedelta(minutes=60))
    assert thread_too_late(hourly, sent, sent + timedelta(minutes=61))
    weekly = _spec(thread=True, thread_archive="7d")
    assert not thread_too_late(weekly, sent, sent + timedelta(days=6))
    assert not thread_too_late(weekly, None, sent)  # not confirmed yet: nothing to give up
