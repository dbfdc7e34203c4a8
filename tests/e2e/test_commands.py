"""Slash commands end to end: interactions injected into the fake Discord, answers asserted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.subscription import (
    DEFAULT_INTERVAL,
    DEFAULT_MAX_AGE,
    DEFAULT_PER_RUN,
    FORUM_TAGS,
    MAX_PER_RUN,
    THREAD_ARCHIVE_MINUTES,
)
from bot.domain.values import format_duration
from bot.errors import UserFacingError
from bot.services.admin import Actor
from tests.e2e.harness import (
    AI_CHANNEL,
    ALICE,
    BOB,
    GUILD,
    LOG_CHANNEL,
    OTHER_CHANNEL,
    OTHER_GUILD,
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
from tests.fakediscord import (
    MANAGE_GUILD,
    SEND_MESSAGES,
    FakeDiscord,
    InteractionRecord,
    Overwrite,
)

pytestmark = pytest.mark.slow

LOCKED = 700_000_000_000_000_050
CAROL = 700_000_000_000_000_042  # a member with the configured moderator role only
HELPER_ROLE = 700_000_000_000_000_032


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with make_fake() as server:
        populate(server)
        server.add_role(GUILD, HELPER_ROLE, "news helpers", 0)
        server.add_member(GUILD, CAROL, "carol", roles=[HELPER_ROLE])
        server.add_channel(
            GUILD, LOCKED, "locked", overwrites=[Overwrite.role(GUILD, deny=SEND_MESSAGES)]
        )
        server.add_member(OTHER_GUILD, ALICE, "alice")
        yield server


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[Running]:
    for n in range(1, 13):
        article(tmp_path, n, quality=40 + n * 5, title=f"Robots learn chess, part {n}")
    article(tmp_path, 20, topics=["Computer Vision"], quality=90, title="Cameras see better now")
    article(
        tmp_path,
        21,
        topics=["Computer Vision"],
        quality=50,
        title='OR NEAR star * quotes " and (parens)',
        excerpt="An article about search syntax.",
        related=[
            {
                "title": "Cameras elsewhere",
                "webUrl": "https://else.example.org/cams",
                "provider": {"name": "Elsewhere"},
            }
        ],
    )
    settings = make_settings(
        tmp_path,
        [subscription(AI_CHANNEL, topics=["AI"], min_quality=60, max_per_run=2)],
        moderation={"log_channel_id": LOG_CHANNEL, "moderator_role_ids": [HELPER_ROLE]},
    )
    async with running_bot(fake, settings) as running:
        yield running


def embed_titles(record: InteractionRecord) -> list[str]:
    return [e["title"] for e in record.embeds]


# --------------------------------------------------------------------------- /news


async def test_topic_pages_best_first_and_only_the_invoker_turns_them(
    bot: Running, fake: FakeDiscord
) -> None:
    record = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news topic", {"topic": "ai"})
    assert not record.ephemeral
    assert record.content.startswith("**AI** — best first · page 1")
    titles = embed_titles(record)
    assert titles[0] == "Robots learn chess, part 12"
    assert len(titles) == 5
    message_id = int(record.original["id"])
    buttons = [c for row in record.original["components"] for c in row["components"]]
    next_id = next(b["custom_id"] for b in buttons if b["label"] == "Next")
    stranger = await fake.click(message_id, next_id, ALICE)
    assert stranger.ephemeral
    assert "Only the member who ran this command" in stranger.content
    turned = await fake.click(message_id, next_id, BOB)
    assert turned.original["content"].endswith("page 2")
    assert turned.original["embeds"][0]["title"] == "Robots learn chess, part 7"


async def test_topic_sorted_by_recency_and_privately(bot: Running, fake: FakeDiscord) -> None:
    record = await fake.slash(
        GUILD,
        ROBOTS_CHANNEL,
        BOB,
        "news topic",
        {"topic": "AI", "sort": "recent", "ephemeral": True},
    )
    assert record.ephemeral
    assert embed_titles(record)[0] == "Robots learn chess, part 1"  # the newest


async def test_unknown_topic_gets_a_helpful_private_answer(bot: Running, fake: FakeDiscord) -> None:
    record = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news topic", {"topic": "Basket weaving"})
    assert record.ephemeral
    assert "There is no topic called “Basket weaving”" in record.content


async def test_topic_autocomplete_stays_within_limits(bot: Running, fake: FakeDiscord) -> None:
    record = await fake.autocomplete(
        GUILD, ROBOTS_CHANNEL, BOB, "news topic", {"topic": "vis"}, "topic"
    )
    assert [c["value"] for c in record.choices] == ["Computer Vision"]
    everything = await fake.autocomplete(
        GUILD, ROBOTS_CHANNEL, BOB, "news topic", {"topic": ""}, "topic"
    )
    assert 0 < len(everything.choices) <= 25
    assert all(len(c["name"]) <= 100 for c in everything.choices)


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "OR",
        "AND NOT",
        "*",
        "NEAR(",
        "((",
        "chess OR",
        'title:"x',
        "'; DROP TABLE articles; --",
        "-",
        "^",
        "ä" * 150,
        "chess*",
        "{col}: x",
        "\\",
    ],
)
async def test_hostile_search_strings_never_error(
    bot: Running, fake: FakeDiscord, query: str
) -> None:
    record = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news search", {"query": query})
    assert "Something went wrong" not in record.content
    assert record.content  # results, "nothing found", or a clean refusal


async def test_search_finds_syntax_words_literally_and_best_first(
    bot: Running, fake: FakeDiscord
) -> None:
    literal = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news search", {"query": "NEAR OR"})
    assert embed_titles(literal) == ['OR NEAR star \\* quotes " and \\(parens\\)']
    chess = await fake.slash(
        GUILD, ROBOTS_CHANNEL, BOB, "news search", {"query": "chess robots", "topic": "AI"}
    )
    assert len(embed_titles(chess)) == 5
    nothing = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news search", {"query": "zebra"})
    assert nothing.content.endswith("nothing found.")
    empty = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news search", {"query": "!!!"})
    assert empty.ephemeral
    assert "at least one word" in empty.content


async def test_related_by_title_autocomplete(bot: Running, fake: FakeDiscord) -> None:
    choices = await fake.autocomplete(
        GUILD, ROBOTS_CHANNEL, BOB, "news related", {"article": "camer"}, "article"
    )
    assert [c["name"].split(" — ")[0] for c in choices.choices] == ["Cameras see better now"]
    picked = choices.choices[0]["value"]
    record = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news related", {"article": picked})
    assert record.embeds[0]["title"].startswith("Related coverage: Cameras see better now")
    syntax = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news related", {"article": "parens"})
    assert "Cameras elsewhere" in syntax.embeds[0]["description"]
    unknown = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news related", {"article": "xyzzy"})
    assert unknown.ephemeral
    assert "No article matches “xyzzy”" in unknown.content


async def test_latest_and_topics(bot: Running, fake: FakeDiscord) -> None:
    latest = await fake.slash(
        GUILD, ROBOTS_CHANNEL, BOB, "news latest", {"topic": "computer vision"}
    )
    assert latest.content.startswith("**Latest in Computer Vision**")
    assert len(embed_titles(latest)) == 2
    topics = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news topics")
    assert "**AI** — 12" in topics.embeds[0]["description"]
    assert "**Computer Vision** — 2" in topics.embeds[0]["description"]


# --------------------------------------------------------------------------- /newsadmin


async def test_a_member_without_rights_is_refused_privately_and_nothing_changes(
    bot: Running, fake: FakeDiscord
) -> None:
    record = await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "newsadmin publishing off")
    assert record.ephemeral
    assert "Only moderators can do that" in record.content
    assert not record.deferred
    assert await bot.admin.server_publishing(GUILD) is True
    assert fake.messages_in(LOG_CHANNEL) == []


async def test_moderator_role_from_the_config_is_enough(bot: Running, fake: FakeDiscord) -> None:
    record = await fake.slash(GUILD, ROBOTS_CHANNEL, CAROL, "newsadmin publishing status")
    assert record.ephemeral
    assert record.embeds[0]["title"] == "Publishing status"


async def test_publishing_off_holds_and_on_releases(bot: Running, fake: FakeDiscord) -> None:
    off = await fake.slash(GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin publishing off")
    assert "Switched publishing off for the whole server" in off.content
    report = await bot.run(AI_CHANNEL)
    assert report.posted == []
    assert fake.messages_in(AI_CHANNEL) == []
    status = await fake.slash(GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin publishing status")
    assert "Publishing for this server is **off**" in status.embeds[0]["description"]
    await fake.slash(GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin publishing on")
    await bot.run(AI_CHANNEL)
    assert bot.posted_urls(AI_CHANNEL) == [url_of(12), url_of(11)]
    log = [m["content"] for m in fake.messages_in(LOG_CHANNEL)]
    assert log == [
        f"🛠️ <@{ALICE}> switched publishing off for the whole server",
        f"🛠️ <@{ALICE}> switched publishing on for the whole server",
    ]
    actions = await bot.stores.db.fetch(
        "SELECT user_id, action FROM moderator_actions WHERE guild_id = ? ORDER BY id", (GUILD,)
    )
    assert [(a[0], a[1]) for a in actions] == [
        (ALICE, "switched publishing off for the whole server"),
        (ALICE, "switched publishing on for the whole server"),
    ]


async def test_one_channel_off_and_status_shows_it(bot: Running, fake: FakeDiscord) -> None:
    await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin publishing off", {"channel": AI_CHANNEL}
    )
    assert (await bot.run(AI_CHANNEL)).not_run == "the subscription is switched off"
    status = await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin publishing status", {"channel": AI_CHANNEL}
    )
    assert "switched off" in status.embeds[0]["description"]
    await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin publishing on", {"channel": AI_CHANNEL}
    )
    assert len((await bot.run(AI_CHANNEL)).posted) == 2
    status = await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin publishing status", {"channel": AI_CHANNEL}
    )
    text = status.embeds[0]["description"]
    assert "— on" in text
    assert "posted" in text
    assert "queued: 2" in text


async def test_subscribe_validates_then_takes_effect(bot: Running, fake: FakeDiscord) -> None:
    unknown = await fake.slash(
        GUILD,
        ROBOTS_CHANNEL,
        ALICE,
        "newsadmin subscribe",
        {"channel": ROBOTS_CHANNEL, "topics": "AI, Underwater Basket"},
    )
    assert "Unknown topic: Underwater Basket" in unknown.content
    locked = await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin subscribe", {"channel": LOCKED}
    )
    assert "I cannot post in" in locked.content
    too_old = await fake.slash(
        GUILD,
        ROBOTS_CHANNEL,
        ALICE,
        "newsadmin subscribe",
        {"channel": ROBOTS_CHANNEL, "max_age": "800000d"},
    )
    assert "max_age: must be at most 3650d (ten years), got '800000d'" in too_old.content
    bad_interval = await fake.slash(
        GUILD,
        ROBOTS_CHANNEL,
        ALICE,
        "newsadmin subscribe",
        {"channel": ROBOTS_CHANNEL, "interval": "5s"},
    )
    # the config file's wording and rules, but a moderator's shortest interval is 1m
    assert "interval: must be from 1m to 7d, got '5s'" in bad_interval.content
    taken = await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin subscribe", {"channel": AI_CHANNEL}
    )
    assert "already has a subscription" in taken.content
    assert await bot.stores.subscriptions.get_by_channel(ROBOTS_CHANNEL) is None

    made = await fake.slash(
        GUILD,
        ROBOTS_CHANNEL,
        ALICE,
        "newsadmin subscribe",
        {
            "channel": ROBOTS_CHANNEL,
            "topics": "computer vision",
            "min_quality": 80,
            "max_age": "none",
        },
    )
    assert made.content.startswith("✅ Subscribed")
    assert bot.bot.services.jobs.next_run((await bot.sub(ROBOTS_CHANNEL)).id) is not None
    made_spec = (await bot.sub(ROBOTS_CHANNEL)).spec
    assert (made_spec.interval, made_spec.max_age) == (timedelta(minutes=30), None)
    await bot.run(ROBOTS_CHANNEL)
    assert bot.posted_urls(ROBOTS_CHANNEL) == [url_of(20)]

    edited = await fake.slash(
        GUILD,
        ROBOTS_CHANNEL,
        ALICE,
        "newsadmin edit",
        {"channel": ROBOTS_CHANNEL, "min_quality": 10},
    )
    assert "quality ≥ 10" in edited.content
    await bot.run(ROBOTS_CHANNEL)
    assert bot.posted_urls(ROBOTS_CHANNEL) == [url_of(20), url_of(21)]

    listed = await fake.slash(GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin subscriptions")
    assert f"<#{ROBOTS_CHANNEL}>" in listed.embeds[0]["description"]
    gone = await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin unsubscribe", {"channel": ROBOTS_CHANNEL}
    )
    assert gone.content == f"✅ Unsubscribed <#{ROBOTS_CHANNEL}>."
    assert await bot.stores.subscriptions.get_by_channel(ROBOTS_CHANNEL) is None


async def test_slash_options_take_their_limits_and_defaults_from_the_spec(
    bot: Running, fake: FakeDiscord
) -> None:
    """What Discord enforces and shows before a command reaches us is the spec's own rule."""
    command = fake.synced_command("newsadmin", GUILD)
    assert command is not None
    subcommands = {o["name"]: o for o in command["options"]}
    for name in ("subscribe", "edit"):
        options = {o["name"]: o for o in subcommands[name]["options"]}
        assert (options["max_per_run"]["min_value"], options["max_per_run"]["max_value"]) == (
            1,
            MAX_PER_RUN,
        )
        quality = options["min_quality"]
        assert (quality["type"], quality["min_value"], quality.get("max_value")) == (10, 0, None)
    described = {o["name"]: o["description"] for o in subcommands["subscribe"]["options"]}
    assert described["max_per_run"].endswith(f"(default {DEFAULT_PER_RUN})")
    assert described["max_age"].endswith(f"(default {format_duration(DEFAULT_MAX_AGE)})")
    assert described["interval"].endswith(f"(default {format_duration(DEFAULT_INTERVAL)})")
    made = await fake.slash(
        GUILD,
        ROBOTS_CHANNEL,
        ALICE,
        "newsadmin subscribe",
        {"channel": ROBOTS_CHANNEL, "min_quality": 12.5},
    )
    assert "quality ≥ 12.5" in made.content
    assert (await bot.sub(ROBOTS_CHANNEL)).spec.min_quality == 12.5


def _characters(option: dict[str, Any]) -> int:
    """What Discord counts toward a command's 8,000 characters: names, descriptions, choice
    names and values, of the command and everything under it."""
    total = len(option.get("name", "")) + len(option.get("description", ""))
    for choice in option.get("choices") or ():
        total += len(choice["name"]) + len(str(choice["value"]))
    return total + sum(_characters(o) for o in option.get("options") or ())


def _leaves(option: dict[str, Any]) -> list[dict[str, Any]]:
    """Subcommands (type 1) of a command, through its groups (type 2)."""
    subs = [o for o in option.get("options") or () if o["type"] in (1, 2)]
    if not subs:
        return [option]
    return [leaf for o in subs for leaf in _leaves(o)]


async def test_every_command_fits_discords_limits_and_takes_forum_channels(
    bot: Running, fake: FakeDiscord
) -> None:
    for name in ("news", "newsadmin"):
        command = fake.synced_command(name, GUILD)
        assert command is not None
        assert _characters(command) <= 8000, name
        for leaf in _leaves(command):
            assert len(leaf.get("options") or ()) <= 25, leaf["name"]
    newsadmin = fake.synced_command("newsadmin", GUILD)
    assert newsadmin is not None
    subcommands = {o["name"]: o for o in newsadmin["options"]}
    for name in ("subscribe", "edit"):
        options = {o["name"]: o for o in subcommands[name]["options"]}
        # text, announcement, forum and media
        assert sorted(options["channel"]["channel_types"]) == [0, 5, 15, 16]
        archive = [c["value"] for c in options["thread_archive"]["choices"]]
        assert archive == list(THREAD_ARCHIVE_MINUTES)
        assert [c["value"] for c in options["forum_tags"]["choices"]] == list(FORUM_TAGS)
        assert options["thread"]["type"] == 5  # boolean
        assert (options["edits"]["type"], options["edit_window"]["type"]) == (5, 3)
    # alerts are messages: a forum cannot be the log channel
    log = next(o for o in subcommands["settings"]["options"] if o["name"] == "log_channel")
    assert sorted(log["channel_types"]) == [0, 5]


async def test_preview_explains_near_misses(bot: Running, fake: FakeDiscord) -> None:
    record = await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin preview", {"channel": AI_CHANNEL}
    )
    assert record.ephemeral
    text = record.embeds[0]["description"]
    assert "Robots learn chess, part 12" in text
    assert "this run is full (max_per_run" in text
    assert "below the minimum quality" in text
    assert fake.messages_in(AI_CHANNEL) == []  # a preview posts nothing


async def test_post_now_and_ingest(bot: Running, fake: FakeDiscord, tmp_path: Path) -> None:
    posted = await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin post-now", {"channel": AI_CHANNEL}
    )
    assert "Posted 2 article(s)" in posted.content
    assert len(fake.messages_in(AI_CHANNEL)) == 2
    article(tmp_path, 30, quality=99, title="Fresh from the wire")
    scanned = await fake.slash(GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin ingest")
    assert "1 new" in scanned.content
    more = await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin post-now", {"channel": AI_CHANNEL}
    )
    assert "Posted 2" in more.content
    assert url_of(30) in bot.posted_urls(AI_CHANNEL)


async def test_a_moderator_elsewhere_cannot_touch_this_server(
    bot: Running, fake: FakeDiscord
) -> None:
    record = await fake.slash(
        OTHER_GUILD,
        OTHER_CHANNEL,
        ALICE,
        "newsadmin publishing off",
        {"channel": AI_CHANNEL},
        permissions=MANAGE_GUILD,
    )
    assert record.ephemeral
    assert "not a valid channel" in record.content  # discord.py refuses another server's channel
    # and the service refuses too, should a channel id from elsewhere ever reach it
    outsider = Actor(OTHER_GUILD, ALICE, "alice")
    with pytest.raises(UserFacingError, match="has no subscription"):
        await bot.admin.set_publishing(outsider, AI_CHANNEL, False)
    assert (await bot.sub(AI_CHANNEL)).spec.enabled
    assert await bot.admin.server_publishing(GUILD)


async def test_guild_settings_log_channel_and_roles(bot: Running, fake: FakeDiscord) -> None:
    record = await fake.slash(
        GUILD,
        ROBOTS_CHANNEL,
        ALICE,
        "newsadmin settings",
        {"log_channel": ROBOTS_CHANNEL, "remove_moderator_role": HELPER_ROLE},
    )
    assert f"Log channel: <#{ROBOTS_CHANNEL}>" in record.content
    assert "Manage Server only" in record.content
    refused = await fake.slash(GUILD, ROBOTS_CHANNEL, CAROL, "newsadmin publishing status")
    assert "Only moderators can do that" in refused.content
    announced = fake.messages_in(ROBOTS_CHANNEL)[-1]["content"]
    assert "changed the server's settings" in announced


async def test_commands_are_synced_once_not_on_every_start(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    settings = make_settings(tmp_path, [])
    async with running_bot(fake, settings):
        pass
    assert len(fake.command_syncs) == 1
    scope, payload = fake.command_syncs[0]
    assert scope == "global"
    assert sorted(c["name"] for c in payload) == ["news", "newsadmin"]
    admin = next(c for c in payload if c["name"] == "newsadmin")
    assert int(admin["default_member_permissions"]) == MANAGE_GUILD
    async with running_bot(fake, settings):
        pass
    assert len(fake.command_syncs) == 1


async def test_unsubscribing_a_config_subscription_switches_it_off_for_good(
    bot: Running, fake: FakeDiscord
) -> None:
    record = await fake.slash(
        GUILD, ROBOTS_CHANNEL, ALICE, "newsadmin unsubscribe", {"channel": AI_CHANNEL}
    )
    assert "it comes from the config file" in record.content
    sub = await bot.sub(AI_CHANNEL)
    assert not sub.spec.enabled
    await bot.stores.subscriptions.sync_from_config(bot.settings.subscriptions)  # a restart
    assert not (await bot.sub(AI_CHANNEL)).spec.enabled
