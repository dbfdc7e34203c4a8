"""Publishing end to end: the real bot, store and discord.py against the fake Discord."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.domain.posts import EMBED_TOTAL_LIMIT, embed_length
from tests.e2e.harness import (
    AI_CHANNEL,
    ANNOUNCE_CHANNEL,
    BOB,
    GUILD,
    LOG_CHANNEL,
    OTHER_CHANNEL,
    OTHER_GUILD,
    PING_ROLE,
    ROBOTS_CHANNEL,
    article,
    make_settings,
    recent,
    running_bot,
    subscription,
    url_of,
)
from tests.fakediscord import SEND_MESSAGES, FakeDiscord, Overwrite

pytestmark = pytest.mark.slow


async def test_right_articles_in_the_right_channels_each_exactly_once(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1, quality=90)
    article(tmp_path, 2, quality=80)
    article(tmp_path, 3, quality=70)
    article(tmp_path, 4, quality=75, topics=["Robotics"])
    article(tmp_path, 5, quality=20)  # below the minimum
    article(tmp_path, 6, quality=99, published=True)  # the source says it was published
    article(tmp_path, 7, quality=95, publishedDateTime=recent(24 * 30))  # too old
    article(tmp_path, 8, quality=None)  # missing quality counts as 0
    settings = make_settings(
        tmp_path,
        [
            subscription(AI_CHANNEL, topics=["ai"], min_quality=50, max_per_run=2, max_age="7d"),
            subscription(ROBOTS_CHANNEL, topics=["ROBOTICS"], min_quality=50),
        ],
    )
    async with running_bot(fake, settings) as run:
        first = await run.run(AI_CHANNEL)
        assert first.error is None
        assert run.posted_urls(AI_CHANNEL) == [url_of(1), url_of(2)]  # best first, max_per_run
        await run.run(AI_CHANNEL)
        assert run.posted_urls(AI_CHANNEL) == [url_of(1), url_of(2), url_of(3)]
        third = await run.run(AI_CHANNEL)
        assert third.posted == []  # nothing left: nothing is posted twice
        await run.run(ROBOTS_CHANNEL)
        await run.run(ROBOTS_CHANNEL)
        assert run.posted_urls(ROBOTS_CHANNEL) == [url_of(4)]
        assert run.posted_urls(OTHER_CHANNEL) == []

        message = fake.messages_in(AI_CHANNEL)[0]
        assert message["nonce"]
        assert len(message["nonce"]) <= 25
        assert message["enforce_nonce"] is True
        assert message["allowed_mentions"]["parse"] == []
        assert not message["allowed_mentions"].get("roles")
        embed = message["embeds"][0]
        assert embed["title"] == "Article number 1 about robots"
        assert embed["footer"]["text"] == "AI | Quality 90"
        assert embed["author"]["name"] == "Example News"
        assert embed["image"]["url"] == "https://img.example.com/1.jpg"
        assert embed_length(embed) <= EMBED_TOTAL_LIMIT
        buttons = [c for row in message["components"] for c in row["components"]]
        assert buttons[0]["url"] == url_of(1)
        assert buttons[1]["custom_id"].startswith("newsdesk:related:")
        assert fake.unhandled == []


async def test_nonces_differ_per_channel_and_repeat_per_article(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL), subscription(ROBOTS_CHANNEL)])
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
        await run.run(ROBOTS_CHANNEL)
        (a,) = fake.messages_in(AI_CHANNEL)
        (b,) = fake.messages_in(ROBOTS_CHANNEL)
        assert a["nonce"] != b["nonce"]


async def test_same_story_is_skipped_and_logged(
    tmp_path: Path, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    article(tmp_path, 1, quality=90, related=[{"title": "Two", "webUrl": url_of(2)}])
    article(tmp_path, 2, quality=80)  # listed as related coverage of 1: the same story
    article(tmp_path, 3, quality=70, related=[{"title": "One", "webUrl": url_of(1)}])  # reverse
    article(tmp_path, 4, quality=60, title="Similar title but another outlet, not linked")
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, max_per_run=1)])
    caplog.set_level(logging.INFO, logger="bot.services.publishing")
    async with running_bot(fake, settings) as run:
        for _ in range(4):
            await run.run(AI_CHANNEL)
        assert run.posted_urls(AI_CHANNEL) == [url_of(1), url_of(4)]
        skipped = await run.stores.db.fetch(
            "SELECT article_id FROM deliveries WHERE channel_id = ? AND state = 'skipped' "
            "ORDER BY article_id",
            (AI_CHANNEL,),
        )
        assert [row[0] for row in skipped] == [2, 3]
    assert "same story as an article already posted here" in caplog.text


async def test_same_story_within_one_run(tmp_path: Path, fake: FakeDiscord) -> None:
    article(tmp_path, 1, quality=90, related=[{"title": "Two", "webUrl": url_of(2)}])
    article(tmp_path, 2, quality=80)
    article(tmp_path, 3, quality=70)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, max_per_run=3)])
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
        assert run.posted_urls(AI_CHANNEL) == [url_of(1), url_of(3)]


async def test_rate_limit_is_waited_out_and_the_post_lands_once(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        fault = fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 429, retry_after=0.3)
        report = await run.run(AI_CHANNEL)
        assert fault.hits == 1
        assert report.posted == [1]
        assert run.posted_urls(AI_CHANNEL) == [url_of(1)]


async def test_server_errors_are_retried_on_later_runs_with_backoff(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503)
        failed = await run.run(AI_CHANNEL)
        assert failed.posted == []
        assert failed.error is not None
        pending = await run.stores.outbox.open_deliveries(AI_CHANNEL)
        assert [(d.article_id, d.attempts) for d in pending] == [(1, 1)]
        requests = run.post_requests(AI_CHANNEL)
        waiting = await run.run(AI_CHANNEL)  # within the backoff: Discord is left alone
        assert waiting.not_run == "waiting to retry a failed post"
        assert run.post_requests(AI_CHANNEL) == requests
        await asyncio.sleep(1.1)
        retried = await run.run(AI_CHANNEL)
        assert retried.posted == [1]
        assert run.posted_urls(AI_CHANNEL) == [url_of(1)]


async def test_a_lost_response_is_found_in_history_not_reposted(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503, processed=True)
        await run.run(AI_CHANNEL)  # the message was created, but the bot saw a 503
        fake.expire_nonces()  # long after: the nonce no longer protects us
        await asyncio.sleep(1.1)
        report = await run.run(AI_CHANNEL)
        assert report.recovered == [1]
        assert run.posted_urls(AI_CHANNEL) == [url_of(1)]
        delivery = await run.delivery(AI_CHANNEL, 1)
        assert delivery.state == "sent"
        assert delivery.message_id == int(fake.messages_in(AI_CHANNEL)[0]["id"])


async def test_bounded_retries_then_give_up(tmp_path: Path, fake: FakeDiscord) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)], publishing={"retry_limit": 2})
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503, times=5)
        await run.run(AI_CHANNEL)
        await asyncio.sleep(1.1)
        await run.run(AI_CHANNEL)
        delivery = await run.delivery(AI_CHANNEL, 1)
        assert (delivery.state, delivery.attempts) == ("failed", 2)
        requests = run.post_requests(AI_CHANNEL)
        await asyncio.sleep(2.1)
        await run.run(AI_CHANNEL)
        assert run.post_requests(AI_CHANNEL) == requests


@pytest.mark.parametrize(
    ("status", "code"), [(403, 50013), (403, 50001), (404, 10003)], ids=["perms", "access", "gone"]
)
async def test_refused_channel_pauses_alerts_once_and_stops_calling(
    tmp_path: Path, fake: FakeDiscord, status: int, code: int
) -> None:
    article(tmp_path, 1)
    article(tmp_path, 2)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", status, code=code)
        report = await run.run(AI_CHANNEL)
        assert report.posted == []
        sub = await run.sub(AI_CHANNEL)
        assert sub.paused_reason is not None
        assert str(code) in sub.paused_reason
        (alert,) = fake.messages_in(LOG_CHANNEL)
        assert f"<#{AI_CHANNEL}>" in alert["content"]
        requests = len(fake.requests)
        for _ in range(3):
            assert (await run.run(AI_CHANNEL)).not_run.startswith("paused")
        assert len(fake.requests) == requests  # never hammer Discord
        assert len(fake.messages_in(LOG_CHANNEL)) == 1  # alerted once
        # nothing was lost: a moderator switches it back on and the held articles go out
        await run.stores.subscriptions.set_enabled(sub.id, True)
        await run.run(AI_CHANNEL)
        assert sorted(run.posted_urls(AI_CHANNEL)) == [url_of(1), url_of(2)]


async def test_missing_permission_pauses_without_a_request_and_resumes_by_itself(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        bot_role = next(r for r in fake.state.guild(GUILD).roles.values() if r.managed)
        fake.update_channel(
            AI_CHANNEL, overwrites=[Overwrite.role(bot_role.id, deny=SEND_MESSAGES)]
        )
        await fake.wait_for(
            lambda: run.bot.services.channels.channel_info(AI_CHANNEL).problem is not None,  # type: ignore[union-attr]
            timeout=5,
        )
        report = await run.run(AI_CHANNEL)
        assert report.not_run == "paused: missing permissions: Send Messages"
        assert fake.calls("POST", f"/channels/{AI_CHANNEL}/messages") == []
        fake.update_channel(AI_CHANNEL, overwrites=[])
        await fake.wait_for(
            lambda: run.bot.services.channels.channel_info(AI_CHANNEL).problem is None,  # type: ignore[union-attr]
            timeout=5,
        )
        assert await run.bot.services.pauses.recheck() == [(await run.sub(AI_CHANNEL)).id]
        await run.run(AI_CHANNEL)
        assert run.posted_urls(AI_CHANNEL) == [url_of(1)]


async def test_malformed_post_is_quarantined_and_the_run_goes_on(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1, quality=90)
    article(tmp_path, 2, quality=80)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 400, code=50035)
        report = await run.run(AI_CHANNEL)
        assert report.quarantined == [1]
        assert report.posted == [2]
        assert (await run.delivery(AI_CHANNEL, 1)).state == "quarantined"
        await run.run(AI_CHANNEL)
        assert run.posted_urls(AI_CHANNEL) == [url_of(2)]


async def test_publishing_off_holds_articles_and_on_releases_them(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        await run.stores.guilds.set_publishing(GUILD, False)
        report = await run.run(AI_CHANNEL)
        assert report.not_run == "publishing is switched off for this server"
        sub = await run.sub(AI_CHANNEL)
        await run.stores.guilds.set_publishing(GUILD, True)
        await run.stores.subscriptions.set_enabled(sub.id, False)
        assert (await run.run(AI_CHANNEL)).not_run == "the subscription is switched off"
        assert fake.messages_in(AI_CHANNEL) == []
        await run.stores.subscriptions.set_enabled(sub.id, True)
        await run.run(AI_CHANNEL)
        assert run.posted_urls(AI_CHANNEL) == [url_of(1)]


async def test_leaving_a_guild_pauses_its_subscriptions(tmp_path: Path, fake: FakeDiscord) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(OTHER_CHANNEL), subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        await run.run(OTHER_CHANNEL)
        fake.remove_guild(OTHER_GUILD)
        await fake.wait_for(lambda: run.bot.get_guild(OTHER_GUILD) is None, timeout=5)
        await asyncio.sleep(0.1)
        assert (await run.sub(OTHER_CHANNEL)).paused_reason == "the bot left the server"
        assert (await run.sub(AI_CHANNEL)).paused_reason is None


async def test_gateway_drop_and_resume_neither_stops_nor_duplicates(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    for n in range(1, 5):
        article(tmp_path, n, quality=90 - n)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, max_per_run=1)])
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
        await fake.drop_gateway()
        await run.run(AI_CHANNEL)  # REST needs no gateway
        await fake.wait_for(lambda: fake.resume_count == 1, timeout=10)
        await run.run(AI_CHANNEL)
        assert fake.identify_count == 1
        assert run.posted_urls(AI_CHANNEL) == [url_of(1), url_of(2), url_of(3)]


async def test_scheduler_posts_on_its_interval_without_duplicates(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    for n in range(1, 4):
        article(tmp_path, n, quality=90 - n)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, interval="1s", max_per_run=1)])
    async with running_bot(fake, settings) as run:
        await fake.wait_for_messages(AI_CHANNEL, 3, timeout=15)
        await asyncio.sleep(1.5)
        assert run.posted_urls(AI_CHANNEL) == [url_of(1), url_of(2), url_of(3)]


async def test_role_mention_pings_only_that_role_and_crosspost(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1, title="@everyone look <@&123> at *this*")
    settings = make_settings(
        tmp_path,
        [subscription(ANNOUNCE_CHANNEL, mention_role_id=PING_ROLE, crosspost=True)],
    )
    async with running_bot(fake, settings) as run:
        await run.run(ANNOUNCE_CHANNEL)
        (message,) = fake.messages_in(ANNOUNCE_CHANNEL)
        assert message["content"] == f"<@&{PING_ROLE}>"
        assert [int(r) for r in message["allowed_mentions"]["roles"]] == [PING_ROLE]
        assert message["allowed_mentions"]["parse"] == []
        assert message["embeds"][0]["title"] == r"@everyone look \<@&123\> at \*this\*"
        assert fake.calls(
            "POST", f"/channels/{ANNOUNCE_CHANNEL}/messages/{message['id']}/crosspost"
        )


async def test_related_coverage_button_answers_privately(tmp_path: Path, fake: FakeDiscord) -> None:
    article(
        tmp_path,
        1,
        related=[
            {
                "title": "Another outlet's take",
                "webUrl": "https://other.example.org/take",
                "provider": {"name": "Other Outlet"},
                "publishedDateTime": "2021-01-02T10:00:00Z",
            }
        ],
    )
    article(tmp_path, 2, related=[{"title": "One", "webUrl": url_of(1)}])  # covers 1 too
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, max_per_run=1)])
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
        (message,) = fake.messages_in(AI_CHANNEL)
        button = message["components"][0]["components"][1]["custom_id"]
        record = await fake.click(int(message["id"]), button, BOB)
        assert record.ephemeral
        text = record.embeds[0]["description"]
        assert "Another outlet's take" in text
        assert "Other Outlet" in text
        assert url_of(2) in text


async def test_quiet_hours_hold_scheduled_runs_but_not_post_now(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    from datetime import UTC, datetime, timedelta

    article(tmp_path, 1)
    now = datetime.now(UTC)
    quiet = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, quiet_hours=quiet)])
    async with running_bot(fake, settings) as run:
        assert (await run.run(AI_CHANNEL)).not_run == "quiet hours"
        forced = await run.publisher.run((await run.sub(AI_CHANNEL)).id, force=True)
        assert forced.posted == [1]


async def test_related_button_still_works_after_a_restart(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1, related=[{"title": "Elsewhere", "webUrl": "https://else.example.org/1"}])
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
    (message,) = fake.messages_in(AI_CHANNEL)
    button = message["components"][0]["components"][1]["custom_id"]
    async with running_bot(fake, settings):  # a new process' worth of bot, same database
        record = await fake.click(int(message["id"]), button, BOB)
    assert record.ephemeral
    assert "Elsewhere" in record.embeds[0]["description"]


async def test_a_related_button_that_fails_is_answered_not_left_thinking(
    tmp_path: Path, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """The button goes through the commands' error policy: a private apology with an id."""
    import sqlite3

    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
        (message,) = fake.messages_in(AI_CHANNEL)
        button = message["components"][0]["components"][1]["custom_id"]
        with sqlite3.connect(tmp_path / "newsdesk.db") as conn:  # the archive breaks
            conn.execute("DROP TABLE related")
        conn.close()
        record = await fake.click(int(message["id"]), button, BOB)
    assert record.ephemeral
    assert "Something went wrong on my side (error id" in record.content
    error_id = record.content.split("`")[1]
    assert f"button {button} failed (error id {error_id})" in caplog.text


async def test_a_retry_long_after_the_first_attempt_is_still_found_in_history(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    """History is searched up to the latest attempt, not only around the first one."""
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503)  # nothing created
        await run.run(AI_CHANNEL)
        await run.stores.db.execute(  # the first attempt was an hour ago
            "UPDATE deliveries SET intent_at = '2000-01-01T00:00:00.000000Z', "
            "last_attempt_at = '2000-01-01T00:00:00.000000Z', next_attempt_at = NULL"
        )
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503, processed=True)
        await run.run(AI_CHANNEL)  # this attempt creates the message; the answer is lost
        assert len(fake.messages_in(AI_CHANNEL)) == 1
        fake.expire_nonces()
        await run.stores.db.execute("UPDATE deliveries SET next_attempt_at = NULL")
        report = await run.run(AI_CHANNEL)
        assert report.recovered == [1]
        assert run.posted_urls(AI_CHANNEL) == [url_of(1)]


@pytest.mark.parametrize("policy", ["skip", "resend"])
async def test_unreadable_history_follows_the_documented_policy(
    tmp_path: Path, fake: FakeDiscord, policy: str
) -> None:
    """Without Read Message History Discord returns an empty history, not a refusal."""
    from tests.fakediscord import READ_MESSAGE_HISTORY

    article(tmp_path, 1)
    settings = make_settings(
        tmp_path, [subscription(AI_CHANNEL)], publishing={"history_unreadable": policy}
    )
    async with running_bot(fake, settings) as run:
        bot_role = next(r for r in fake.state.guild(GUILD).roles.values() if r.managed)
        fake.update_channel(
            AI_CHANNEL, overwrites=[Overwrite.role(bot_role.id, deny=READ_MESSAGE_HISTORY)]
        )
        channel = run.bot.get_channel(AI_CHANNEL)
        await fake.wait_for(
            lambda: not channel.permissions_for(channel.guild.me).read_message_history,  # type: ignore[union-attr]
            timeout=5,
        )
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503, processed=True)
        await run.run(AI_CHANNEL)
        fake.expire_nonces()
        await run.stores.db.execute("UPDATE deliveries SET next_attempt_at = NULL")
        await run.run(AI_CHANNEL)
        delivery = await run.delivery(AI_CHANNEL, 1)
        if policy == "skip":
            assert delivery.state == "unconfirmed"
            assert len(fake.messages_in(AI_CHANNEL)) == 1  # never a duplicate
            assert "Read Message History" in fake.messages_in(LOG_CHANNEL)[-1]["content"]
        else:
            assert delivery.state == "sent"
            assert len(fake.messages_in(AI_CHANNEL)) == 2  # rather a duplicate than a loss


async def test_start_up_reconciliation_respects_publishing_switched_off(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{AI_CHANNEL}/messages", 503)  # pending, not created
        await run.run(AI_CHANNEL)
        await run.stores.guilds.set_publishing(GUILD, False)  # the moderators' emergency stop
        await run.stores.db.execute("UPDATE deliveries SET next_attempt_at = NULL")
    async with running_bot(fake, settings) as run:  # a restart
        assert fake.messages_in(AI_CHANNEL) == []
        assert (await run.delivery(AI_CHANNEL, 1)).state == "pending"
        await run.stores.guilds.set_publishing(GUILD, True)
        await run.run(AI_CHANNEL)
        assert run.posted_urls(AI_CHANNEL) == [url_of(1)]


async def test_a_deleted_subscription_is_not_posted_by_a_waiting_run(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL)])
    async with running_bot(fake, settings) as run:
        sub = await run.sub(AI_CHANNEL)
        lock = run.publisher._lock(sub.id)
        async with lock:  # a run in progress holds the channel
            waiting = asyncio.ensure_future(run.publisher.run(sub.id))
            await asyncio.sleep(0.05)
            await run.stores.subscriptions.delete(AI_CHANNEL)
        report = await waiting
        assert report.not_run == "no such subscription"
        assert fake.messages_in(AI_CHANNEL) == []


async def test_a_new_subscription_waits_for_the_old_ones_run_in_the_same_channel(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    """Unsubscribed and subscribed again while a run is sending: the new subscription's run
    waits for the channel, then finds the post made, instead of reconciling it mid-send."""
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL), subscription(ROBOTS_CHANNEL)])
    async with running_bot(fake, settings) as run:
        old = await run.sub(AI_CHANNEL)
        fake.set_latency(1.0, f"/channels/{AI_CHANNEL}/messages")
        sending = asyncio.ensure_future(run.publisher.run(old.id))
        # The request reached Discord (so the intent is recorded): the post is on its way.
        await fake.wait_for(lambda: run.post_requests(AI_CHANNEL), what="the old run's post")
        await run.stores.subscriptions.delete(AI_CHANNEL)
        new = await run.stores.subscriptions.create(old.spec, old.guild_id)
        assert new.id != old.id
        report = await run.publisher.run(new.id)
        assert (await sending).posted == [1]
        assert report.posted == report.recovered == []
        assert run.post_requests(AI_CHANNEL) == 1
        assert run.posted_urls(AI_CHANNEL) == [url_of(1)]


async def test_the_default_log_channel_never_gets_another_servers_alerts(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    settings = make_settings(tmp_path, [subscription(OTHER_CHANNEL)])  # log channel is in GUILD
    async with running_bot(fake, settings) as run:
        fake.fail_next("POST", f"/channels/{OTHER_CHANNEL}/messages", 403, code=50013)
        await run.run(OTHER_CHANNEL)
        assert (await run.sub(OTHER_CHANNEL)).paused_reason is not None
        assert fake.messages_in(LOG_CHANNEL) == []


async def test_provider_filters_match_names_case_insensitively_beyond_ascii(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1, provider={"name": "Öko-Test Magazin", "domain": "oeko-test.de"})
    article(tmp_path, 2, provider={"name": "Other", "domain": "other.example"})
    settings = make_settings(
        tmp_path, [subscription(AI_CHANNEL, providers=["ÖKO-TEST  magazin"], max_per_run=5)]
    )
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
        assert run.posted_urls(AI_CHANNEL) == [url_of(1)]


class CountedConnection:
    """An aiosqlite connection that records each database operation made through it: a
    query on the reader, a transaction (BEGIN ... COMMIT) on the writer."""

    def __init__(self, conn: Any, operations: list[str], *, writer: bool) -> None:
        self._conn = conn
        self._operations = operations
        self._writer = writer
        self._in_transaction = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._conn, name)
        if name not in ("execute", "execute_fetchall", "executemany", "commit", "rollback"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            sql = " ".join(str(args[0]).split())[:60] if args else name
            if name in ("commit", "rollback"):
                self._in_transaction = False
            elif sql.startswith("BEGIN"):
                self._in_transaction = True
                self._operations.append("transaction")
            elif not self._in_transaction:
                self._operations.append(f"{'write' if self._writer else 'query'}: {sql}")
            return attr(*args, **kwargs)

        return call


def count_operations(db: Any) -> list[str]:
    operations: list[str] = []
    db._writer = CountedConnection(db._writer, operations, writer=True)
    db._reader = CountedConnection(db._reader, operations, writer=False)
    return operations


@pytest.mark.parametrize(
    "rules",
    [
        {"topics": ["AI"]},
        {"topics": ["AI", "Robotics", "Space"], "max_age": "7d"},
        {"topics": ["AI", "Robotics"], "max_age": "7d", "providers": ["Reuters"]},
    ],
    ids=["one topic", "three topics and a window", "providers"],
)
async def test_one_post_costs_at_most_eight_database_operations(
    tmp_path: Path, fake: FakeDiscord, rules: dict[str, Any]
) -> None:
    """A run reads its subscription (with its server's switch) once and builds its post
    from one read of the chosen article: subscription, last run, three candidate queries
    (however many topics), the article, the intent, the confirmation."""
    for n in range(1, 6):
        article(
            tmp_path,
            n,
            quality=90 - n,
            topics=["AI", "Space"],
            provider={"name": "Reuters", "domain": "reuters.com"},
        )
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, max_per_run=1, **rules)])
    async with running_bot(fake, settings) as run:
        sub = await run.sub(AI_CHANNEL)
        await run.run(AI_CHANNEL)  # the first run learns the subscription's server, once
        operations = count_operations(run.stores.db)
        report = await run.publisher.run(sub.id)
        assert report.posted == [2]
        assert len(operations) <= 8, operations
        more = sub.spec.model_copy(update={"max_per_run": 3})
        await run.stores.subscriptions.update_spec(AI_CHANNEL, more)
        operations.clear()
        report = await run.publisher.run(sub.id)
        assert report.posted == [3, 4, 5]
        assert len(operations) <= 8 + 2 * 2, operations  # each further post: intent, sent


async def test_a_digest_costs_what_one_post_costs_however_many_articles_it_carries(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    """Its intents are one transaction, its confirmation another: a digest of five articles
    costs the eight operations of one post."""
    for n in range(1, 11):
        article(tmp_path, n, quality=90 - n)
    rules = {"topics": ["AI"], "mode": "digest", "digest_size": 5}
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, **rules)])
    async with running_bot(fake, settings) as run:
        sub = await run.sub(AI_CHANNEL)
        await run.run(AI_CHANNEL)  # the first run learns the subscription's server, once
        operations = count_operations(run.stores.db)
        report = await run.publisher.run(sub.id)
        assert report.posted == [6, 7, 8, 9, 10]
        assert len(operations) <= 8, operations
