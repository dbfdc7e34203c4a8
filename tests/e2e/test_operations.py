"""Running it for real: health, metrics, JSON logs, backups while the bot posts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.store.schema import migration_files
from tests.conftest import ROOT
from tests.e2e.harness import (
    AI_CHANNEL,
    BOB,
    GUILD,
    LOG_CHANNEL,
    ROBOTS_CHANNEL,
    TOKEN,
    article,
    make_settings,
    running_bot,
    subscription,
)
from tests.fakediscord import FakeDiscord

pytestmark = pytest.mark.slow


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def test_healthz_and_metrics(tmp_path: Path, fake: FakeDiscord) -> None:
    article(tmp_path, 1)
    settings = make_settings(
        tmp_path, [subscription(AI_CHANNEL)], http={"host": "127.0.0.1", "port": 0}
    )
    async with running_bot(fake, settings) as run:
        assert run.server is not None
        base = f"http://127.0.0.1:{run.server.port}"
        status, body = await get(f"{base}/healthz")
        assert status == 200, body
        health = json.loads(body)
        assert health["checks"] == {
            "gateway": "connected",
            "scheduler": "running",
            "publishing": "started",
            "database": "writable",
        }
        assert health["last_successful_run"] is None
        await run.run(AI_CHANNEL)
        await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "news topics")
        await fake.slash(GUILD, ROBOTS_CHANNEL, BOB, "newsadmin publishing off")  # refused
        status, text = await get(f"{base}/metrics")
        assert status == 200
        assert 'newsdesk_posts_total{result="sent"} 1.0' in text
        assert 'newsdesk_publish_runs_total{outcome="posted"} 1.0' in text
        assert "newsdesk_subscriptions 1.0" in text
        assert "newsdesk_subscriptions_paused 0.0" in text
        assert 'newsdesk_command_seconds_count{command="news topics"} 1.0' in text
        assert 'newsdesk_command_errors_total{kind="refused"} 1.0' in text
        assert "newsdesk_gateway_connected 1.0" in text
        assert json.loads((await get(f"{base}/healthz"))[1])["last_successful_run"] is not None

        # a stopped scheduler, then a database that cannot take a write: 503, and why
        run.bot.services.jobs.scheduler.shutdown(wait=False)
        status, body = await get(f"{base}/healthz")
        assert status == 503
        assert json.loads(body)["checks"]["scheduler"] == "stopped"
        blocker = sqlite3.connect(settings.database.path, timeout=0)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            status, body = await get(f"{base}/healthz")
        finally:
            blocker.rollback()
            blocker.close()
        assert status == 503
        assert json.loads(body)["checks"]["database"].startswith("not writable")
        # the timed-out check left no transaction open: the bot writes on as before
        await run.stores.subscriptions.mark_run((await run.sub(AI_CHANNEL)).id, datetime.now(UTC))


async def test_backup_while_the_bot_posts(tmp_path: Path, fake: FakeDiscord) -> None:
    for n in range(1, 9):
        article(tmp_path, n, quality=90 - n)
    settings = make_settings(tmp_path, [subscription(AI_CHANNEL, interval="1s", max_per_run=1)])
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump({"database": {"path": str(settings.database.path)}}), encoding="utf-8"
    )
    async with running_bot(fake, settings) as run:
        await fake.wait_for_messages(AI_CHANNEL, 1, timeout=15)
        copies = []
        for n in range(3):
            target = tmp_path / f"backup-{n}.db"
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "backup",
                str(target),
                "--config",
                "config.yaml",
                cwd=tmp_path,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await process.communicate()
            assert process.returncode == 0, err.decode()
            assert f"schema version {len(migration_files())}," in out.decode()
            copies.append(target)
            await asyncio.sleep(0.7)
        posted = len(fake.messages_in(AI_CHANNEL))
        assert posted >= 2
        metrics = run.bot.services.metrics.render().decode()
        assert re.search(r"^newsdesk_last_successful_post_timestamp_seconds [1-9]", metrics, re.M)
    sent_counts = []
    for copy in copies:
        with sqlite3.connect(copy) as conn:
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 8
            sent_counts.append(
                conn.execute("SELECT count(*) FROM deliveries WHERE state = 'sent'").fetchone()[0]
            )
        conn.close()
    assert sent_counts == sorted(sent_counts)  # later copies hold as much or more
    assert sent_counts[-1] >= 1


async def test_json_logs_name_every_post_and_never_the_token(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    config = {
        "database": {"path": "newsdesk.db"},
        "sources": [{"path": "news"}],
        "subscriptions": [{"channel_id": AI_CHANNEL, "interval": "1s"}],
        "moderation": {"log_channel_id": LOG_CHANNEL},
        "logging": {"format": "json", "level": "debug"},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    secret = TOKEN
    process = await asyncio.create_subprocess_exec(
        *fake.launch_command("run", "--config", "config.yaml"),
        cwd=tmp_path,
        env={**os.environ, **fake.env(), "DISCORD_TOKEN": secret},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_for_messages(AI_CHANNEL, 1, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0
    assert err.decode() == ""  # `run` logs to stdout only
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert not [r for r in lines if r["level"] in ("ERROR", "CRITICAL")], lines
    posted = [r for r in lines if r["message"].startswith("posted ")]
    assert len(posted) == 1
    assert posted[0]["channel_id"] == AI_CHANNEL
    assert posted[0]["guild_id"] == GUILD
    assert posted[0]["article_id"] == 1
    assert posted[0]["level"] == "INFO"
    assert secret not in out.decode()
