"""``newsdesk status`` after a real bot ran: what operators see without Discord."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.harness import (
    AI_CHANNEL,
    ANNOUNCE_CHANNEL,
    GUILD,
    LOG_CHANNEL,
    ROBOTS_CHANNEL,
    article,
    make_settings,
    running_bot,
    subscription,
)
from tests.fakediscord import SEND_MESSAGES, FakeDiscord, Overwrite
from tests.test_cli import newsdesk

pytestmark = pytest.mark.slow


async def test_status_shows_each_subscription_from_the_database(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    for n in range(1, 4):
        article(tmp_path, n, quality=90 - n)
    settings = make_settings(
        tmp_path,
        [
            subscription(AI_CHANNEL, interval="30m", max_per_run=1),  # on, two more to go
            subscription(ROBOTS_CHANNEL, interval="1h"),  # switched off below
            subscription(ANNOUNCE_CHANNEL, interval="1h"),  # a 503: pending, retrying
            subscription(LOG_CHANNEL, interval="1h"),  # paused: no Send Messages
        ],
    )
    async with running_bot(fake, settings) as run:
        await run.run(AI_CHANNEL)
        ran_at = (await run.sub(AI_CHANNEL)).last_run_at
        article(tmp_path, 1, quality=89, title="A corrected title")  # its post waits for an edit
        await run.ingest()
        robots = await run.sub(ROBOTS_CHANNEL)
        await run.stores.subscriptions.set_enabled(robots.id, False)
        fake.fail_next("POST", f"/channels/{ANNOUNCE_CHANNEL}/messages", 503)
        await run.run(ANNOUNCE_CHANNEL)
        bot_role = next(r for r in fake.state.guild(GUILD).roles.values() if r.managed)
        fake.update_channel(
            LOG_CHANNEL, overwrites=[Overwrite.role(bot_role.id, deny=SEND_MESSAGES)]
        )
        await fake.wait_for(
            lambda: run.bot.services.channels.channel_info(LOG_CHANNEL).problem is not None,  # type: ignore[union-attr]
            timeout=5,
        )
        await run.run(LOG_CHANNEL)
    assert ran_at is not None
    (tmp_path / "status.yaml").write_text(
        f"database:\n  path: {tmp_path / 'newsdesk.db'}\n", encoding="utf-8"
    )

    done = newsdesk("status", "--json", "--config", "status.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    by_channel = {s["channel_id"]: s for s in json.loads(done.stdout)}
    assert set(by_channel) == {AI_CHANNEL, ROBOTS_CHANNEL, ANNOUNCE_CHANNEL, LOG_CHANNEL}
    fields = {"channel_id", "guild_id", "state", "reason", "last_run", "last_post", "pending"}
    fields |= {"eligible", "next_run"}
    assert all(fields <= set(s) for s in by_channel.values())

    ai = by_channel[AI_CHANNEL]
    assert (ai["state"], ai["reason"], ai["guild_id"]) == ("on", None, GUILD)
    assert ai["last_run"] == ran_at.isoformat(timespec="seconds")
    assert ai["last_post"] is not None
    assert (ai["pending"], ai["eligible"], ai["edits_queued"], ai["mode"]) == (0, 2, 1, "posts")
    assert datetime.fromisoformat(ai["next_run"]) == (ran_at + timedelta(minutes=30)).replace(
        microsecond=0
    )

    robots_status = by_channel[ROBOTS_CHANNEL]
    assert (robots_status["state"], robots_status["reason"]) == (
        "off",
        "the subscription is switched off",
    )
    assert robots_status["next_run"] is None
    retrying = by_channel[ANNOUNCE_CHANNEL]
    assert (retrying["state"], retrying["pending"], retrying["retrying"]) == ("on", 1, 1)
    assert retrying["eligible"] == 2  # article 1 is pending there, 2 and 3 could go
    paused = by_channel[LOG_CHANNEL]
    assert (paused["state"], paused["reason"]) == ("paused", "missing permissions: Send Messages")

    text = newsdesk("status", "--config", "status.yaml", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) <= 24  # one screen
    assert all(len(line) <= 100 for line in lines)
    assert f"server {GUILD} (publishing on)" in text.stdout
    assert "missing permissions: Send Messages" in text.stdout
    assert "1 (1 retrying)" in text.stdout
    assert "1 post waits for an edit" in text.stdout
    row = next(line for line in lines if line.strip().startswith(str(AI_CHANNEL)))
    assert row.split()[1] == "on"
