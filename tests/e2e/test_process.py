"""``newsdesk run`` as a real process against the fake Discord: signals and crashes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import urllib.error
import urllib.request
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


async def start_bot(
    fake: FakeDiscord | None,
    tmp_path: Path,
    *,
    api: str | None = None,
    token: str = TOKEN,
) -> asyncio.subprocess.Process:
    """``newsdesk run`` against the fake, or against ``api`` (where there may be no Discord)."""
    where = fake.env() if fake is not None else {}
    if api is not None:
        where = {
            "FAKE_DISCORD_API": api,
            "FAKE_DISCORD_GATEWAY": api.replace("http", "ws", 1).rsplit("/api", 1)[0] + "/",
            "PYTHONPATH": str(ROOT),
        }
    env = {**os.environ, **where, "DISCORD_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    return await asyncio.create_subprocess_exec(
        *FakeDiscord.launch_command("run", "--config", "config.yaml"),
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


async def test_a_log_reader_that_went_away_changes_nothing(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    """``newsdesk run | head -1``: the bot goes on posting, its log goes nowhere, stderr
    stays empty and the stop is still clean."""
    for n in (1, 2):
        article(tmp_path, n)
    write_config(tmp_path, max_per_run=1)
    env = {**os.environ, **fake.env(), "DISCORD_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.to_thread(
        subprocess.Popen,
        FakeDiscord.launch_command("run", "--config", "config.yaml"),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert await asyncio.to_thread(process.stdout.readline)  # head read its one line
        process.stdout.close()
        await fake.wait_for_messages(AI_CHANNEL, 2, timeout=30)  # logging all the while
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(process.communicate, timeout=20)
    except BaseException:
        process.kill()
        raise
    assert process.returncode == 0, err
    assert err == b""


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


# --------------------------------------------------------------------------- an absent Discord


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def read_until(
    process: asyncio.subprocess.Process, seen: list[str], predicate: Any, within: float = 30
) -> None:
    """Collect output lines into ``seen`` until one satisfies ``predicate``."""
    assert process.stdout is not None

    async def loop() -> None:
        while True:
            line = await process.stdout.readline()  # type: ignore[union-attr]
            if not line:
                raise AssertionError("the bot exited:\n" + "".join(seen))
            seen.append(line.decode())
            if predicate(seen[-1]):
                return

    await asyncio.wait_for(loop(), within)


def healthz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_run_waits_for_a_discord_that_cannot_be_reached_then_posts(
    tmp_path: Path,
) -> None:
    """Connection refused: one line per attempt, backoff, ingest and /healthz go on; then the
    network comes back and the bot connects and posts by itself."""
    from tests.e2e.harness import make_fake, populate

    article(tmp_path, 1)
    write_config(tmp_path)
    health = free_port()
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["http"] = {"port": health}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    process = await start_bot(None, tmp_path, api=f"http://127.0.0.1:{port}/api/v10")
    seen: list[str] = []
    try:
        refused = f"cannot reach Discord (127.0.0.1:{port}): Connection refused; trying again in"
        await read_until(process, seen, lambda line: f"{refused} 2s" in line)
        assert any(f"{refused} 1s" in line for line in seen)
        status, body = await asyncio.to_thread(healthz, health)
        assert status == 503
        assert body["checks"]["gateway"] == "disconnected"
        with sqlite3.connect(tmp_path / "newsdesk.db") as conn:  # ingest did not wait
            assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
        conn.close()

        fake = make_fake()
        fake.requested_port = port
        async with fake:
            populate(fake)
            await fake.wait_for_messages(AI_CHANNEL, 1, timeout=30)
            status, output = await stop(process, signal.SIGTERM)
    except BaseException:
        process.kill()
        raise
    output = "".join(seen) + output
    assert status == 0, output
    assert "Traceback" not in output
    assert urls_in(fake, AI_CHANNEL) == [url_of(1)]


@pytest.mark.parametrize("kind", ["dns", "tls"])
async def test_run_names_what_failed_when_discord_cannot_be_reached(
    tmp_path: Path, fake: FakeDiscord, kind: str
) -> None:
    write_config(tmp_path)
    if kind == "dns":
        api, expected = (
            "http://discord.invalid/api/v10",
            "cannot reach Discord (discord.invalid:80): the name does not resolve",
        )
    else:  # TLS spoken to a server that answers plain HTTP
        api, expected = (
            f"https://127.0.0.1:{fake.port}/api/v10",
            f"cannot reach Discord (127.0.0.1:{fake.port}): TLS error",
        )
    process = await start_bot(None, tmp_path, api=api)
    seen: list[str] = []
    try:
        await read_until(process, seen, lambda line: expected in line)
    except BaseException:
        process.kill()
        raise
    status, output = await stop(process, signal.SIGTERM)
    output = "".join(seen) + output
    assert status == 0, output
    assert "Traceback" not in output
    assert "stop requested before Discord could be reached" in output


async def test_a_refused_token_is_final(tmp_path: Path, fake: FakeDiscord) -> None:
    write_config(tmp_path)
    process = await start_bot(fake, tmp_path, token="not-the-token")
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    text = output.decode()
    assert process.returncode == 2, text
    assert "Traceback" not in text
    assert [line for line in text.splitlines() if line.startswith("newsdesk:")] == [
        "newsdesk: DISCORD_TOKEN: Discord refused the token (check it, or reset it in the "
        "Developer Portal)"
    ]


async def test_sync_says_when_discord_cannot_be_reached(tmp_path: Path) -> None:
    write_config(tmp_path)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api/v10"
    env = {
        **os.environ,
        "FAKE_DISCORD_API": api,
        "FAKE_DISCORD_GATEWAY": f"ws://127.0.0.1:{port}/",
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": TOKEN,
    }
    process = await asyncio.create_subprocess_exec(
        *FakeDiscord.launch_command("sync", "--config", "config.yaml"),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    text = err.decode()
    assert "Traceback" not in text
    assert [line for line in text.splitlines() if line.startswith("newsdesk:")] == [
        f"newsdesk: cannot reach Discord (127.0.0.1:{port}): Connection refused"
    ]
