"""``newsdesk run`` as a real process against the fake Discord: signals and crashes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.e2e.harness import (
    AI_CHANNEL,
    LOG_CHANNEL,
    TOKEN,
    article,
    url_of,
)
from tests.fakediscord import FakeDiscord
from tests.test_cli import newsdesk

pytestmark = pytest.mark.slow


def write_config(tmp_path: Path, **subscription: Any) -> Path:
    config = {
        "database": {"path": "newsdesk.db"},
        "sources": [{"path": "news"}],
        "publishing": {"pace": "1s"},
        "subscriptions": [{"channel_id": AI_CHANNEL, "interval": "1s", **subscription}],
        "moderation": {"log_channel_id": LOG_CHANNEL},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def start_bot(fake: FakeDiscord, tmp_path: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, **fake.env(), "DISCORD_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    return await asyncio.create_subprocess_exec(
        *fake.launch_command("run", "--config", "config.yaml"),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def stop(process: asyncio.subprocess.Process, sig: int) -> tuple[int, str]:
    process.send_signal(sig)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    return process.returncode or 0, output.decode()


def urls_in(fake: FakeDiscord, channel_id: int) -> list[str]:
    return [m["embeds"][0]["url"] for m in fake.messages_in(channel_id) if m.get("embeds")]


async def test_sigterm_stops_cleanly_with_exit_status_zero(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    article(tmp_path, 1)
    write_config(tmp_path)
    process = await start_bot(fake, tmp_path)
    try:
        await fake.wait_for_messages(AI_CHANNEL, 1, timeout=30)
    except BaseException:
        process.kill()
        raise
    status, output = await stop(process, signal.SIGTERM)
    assert status == 0, output
    assert "stopped cleanly" in output
    await fake.wait_for(lambda: len(fake.gateway_disconnects) >= 1, timeout=5)
    assert fake.gateway_disconnects[-1] is not None  # a close frame, not a dropped socket
    assert urls_in(fake, AI_CHANNEL) == [url_of(1)]


async def test_sigint_also_stops_cleanly(tmp_path: Path, fake: FakeDiscord) -> None:
    write_config(tmp_path)
    process = await start_bot(fake, tmp_path)
    await fake.wait_ready(timeout=30)
    await asyncio.sleep(0.5)
    status, output = await stop(process, signal.SIGINT)
    assert status == 0, output


async def test_crash_during_a_send_neither_loses_nor_duplicates(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    """SIGKILL while Discord has created the message but not answered; restart much later."""
    for n in (1, 2, 3):
        article(tmp_path, n, quality=90 - n)
    write_config(tmp_path, max_per_run=3)
    fake.hang_next_message_create(AI_CHANNEL)
    process = await start_bot(fake, tmp_path)
    try:
        await fake.wait_hung(timeout=30)
    finally:
        process.kill()
        await process.wait()
    assert urls_in(fake, AI_CHANNEL) == [url_of(1)]  # created, never acknowledged
    fake.release_hung()
    fake.expire_nonces()  # the restart comes after Discord forgot the nonce

    process = await start_bot(fake, tmp_path)
    try:
        await fake.wait_for_messages(AI_CHANNEL, 3, timeout=30)
        await asyncio.sleep(2)  # give a duplicate every chance to appear
    finally:
        status, output = await stop(process, signal.SIGTERM)
    assert status == 0, output
    assert urls_in(fake, AI_CHANNEL) == [url_of(1), url_of(2), url_of(3)]
    assert "found an unconfirmed post in the channel" in output


def test_run_without_a_token_points_at_dry_run(tmp_path: Path) -> None:
    write_config(tmp_path)
    done = newsdesk("run", "--config", "config.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "DISCORD_TOKEN" in done.stderr
    assert "--dry-run" in done.stderr


def test_dry_run_with_the_bundled_example_shows_real_posts(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "config", tmp_path / "config", ignore=shutil.ignore_patterns("config.yaml")
    )
    done = newsdesk("run", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "→ channel 123456789012345678" in done.stdout
    assert "3 posts would be made (dry run: nothing sent)" in done.stdout
    assert "Quality" in done.stdout
    again = newsdesk("run", "--dry-run", cwd=tmp_path)
    assert again.stdout == done.stdout  # a dry run records nothing


async def test_sync_command_pushes_the_tree_to_one_guild(tmp_path: Path, fake: FakeDiscord) -> None:
    from tests.e2e.harness import GUILD

    write_config(tmp_path)
    env = {**os.environ, **fake.env(), "DISCORD_TOKEN": TOKEN}
    process = await asyncio.create_subprocess_exec(
        *fake.launch_command("sync", "--guild", str(GUILD), "--config", "config.yaml"),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    assert out.decode().strip() == f"synced 2 top-level commands to server {GUILD}"
    (scope, payload) = fake.command_syncs[-1]
    assert scope == GUILD
    assert sorted(c["name"] for c in payload) == ["news", "newsadmin"]
    assert fake.identify_count == 0  # HTTP only: no gateway session was opened
