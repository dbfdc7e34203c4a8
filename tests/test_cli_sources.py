"""``newsdesk ingest`` fetches the configured feeds and git sources: the ``sources`` list,
secrets, exit status, and how ``newsdesk status`` shows them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT
from tests.support.articles import write_article
from tests.support.feed_server import feed_server
from tests.support.git_remote import GitRemote

FEED = (
    b"<rss version='2.0'><channel><title>Local</title>"
    b"<item><guid isPermaLink='false'>one</guid><title>Feed story</title><link>/one</link></item>"
    b"<item><guid isPermaLink='false'>two</guid><title>No link</title></item>"
    b"</channel></rss>"
)


async def newsdesk(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    environment.update(PYTHONPATH=str(ROOT), **env)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_ingest_fetches_feeds_and_reports_each_source(tmp_path: Path) -> None:
    write_article(tmp_path / "news", "a.md", title="From a file")
    async with feed_server() as server:
        server.body("/feed.xml", FEED)
        secret_url = server.url("/feed.xml?token=${FEED_TOKEN}")
        config = {
            "database": {"path": "store/news.db"},
            "sources": [
                {"path": "news"},
                {"feed": secret_url, "topics": ["Local"], "quality": 70},
                {"feed": server.url("/gone.xml")},
            ],
            "fetch": {"allow_networks": ["127.0.0.0/8"], "timeout": "5s"},
        }
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        env = {"FEED_TOKEN": "hunter2"}
        code, out, err = await newsdesk(
            "--config", "config.yaml", "ingest", "--json", cwd=tmp_path, env=env
        )
        assert "/feed.xml?token=hunter2" in server.requested  # the token went to the server
    assert code == 1, err  # a source failed (404), and one item was rejected
    summary = json.loads(out)
    sources = summary["sources"]
    assert [(s["kind"], s["outcome"], s["new"], s["http_status"]) for s in sources] == [
        ("path", "ok", 1, None),
        ("feed", "ok", 1, 200),
        ("feed", "failed", 0, 404),
    ]
    assert sources[1]["source"] == secret_url  # as written: the reference, not the token
    assert sources[2]["error"] == "HTTP 404 Not Found"
    assert summary["new"] == 2
    assert [(r["path"], r["item"]) for r in summary["rejected"]] == [(secret_url, "two")]
    assert "hunter2" not in out + err
    assert "failed: HTTP 404" in err

    code, out, err = await newsdesk("--config", "config.yaml", "status", cwd=tmp_path, env=env)
    assert code == 0, err
    feeds = out.split("\nFeeds\n", 1)[1].splitlines()
    assert feeds[0].startswith(f"  {secret_url}: ok (HTTP 200) ")
    assert "1 new, 0 updated, 1 rejected; next " in feeds[0]
    assert (
        feeds[1]
        == f"  {server.url('/gone.xml')}: failed once (HTTP 404): HTTP 404 Not Found; next "
        + feeds[1].rsplit("next ", 1)[1]
    )
    assert "hunter2" not in out + err


async def test_a_missing_environment_reference_is_a_config_error(tmp_path: Path) -> None:
    for source, problem in (
        ({"feed": "https://example.com/f?key=${NOT_SET}"}, "feed: ${NOT_SET} is not set"),
        ({"feed": "https://example.com/${DISCORD_TOKEN}"}, "feed: ${DISCORD_TOKEN} cannot be"),
        ({"feed": "ftp://example.com/feed"}, "feed: expected an http:// or https:// URL"),
        ({"git": "https://t:${NOT_SET}@h.example/r.git"}, "git: ${NOT_SET} is not set"),
        ({"git": "git@github.com:a/b.git"}, "git: ssh is not supported: use the repository's"),
        ({"git": "ext::sh -c id"}, "git: only https:// and file:/// repositories are fetched"),
        ({"git": "https://h.example/r.git", "topics": ["AI"]}, "topics: only for feed sources"),
        ({"git": "https://h.example/r.git", "paths": ["../up"]}, "paths: expected a folder"),
        ({"path": "news", "branch": "main"}, "branch: only for git sources (this source is"),
    ):
        config = {"database": {"path": "db.sqlite"}, "sources": [source]}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        env = {"DISCORD_TOKEN": "tok"}
        code, out, err = await newsdesk("--config", "config.yaml", "ingest", cwd=tmp_path, env=env)
        assert code == 2 and out == ""
        assert f"sources[0].{problem}" in err
        assert "Traceback" not in err


async def test_ingest_fetches_git_sources_and_status_shows_them(tmp_path: Path) -> None:
    remote = GitRemote(tmp_path / "git")
    remote.article("_news/1.md", 1)
    remote.article("_news/2.md", 2)
    head = remote.commit()
    config = {
        "database": {"path": "store/news.db"},
        "sources": [{"git": remote.url, "paths": ["_news"], "interval": "5m"}],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    code, out, err = await newsdesk(
        "--config", "config.yaml", "ingest", "--json", cwd=tmp_path, env={}
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["new"] == 2
    assert summary["sources"] == [
        {
            "source": remote.url,
            "kind": "git",
            "outcome": "ok",
            "http_status": None,
            "new": 2,
            "updated": 0,
            "withdrawn": 0,
            "error": None,
        }
    ]
    assert list((tmp_path / "store" / "checkouts").iterdir())  # next to the SQLite file

    remote.delete("_news/2.md")
    second = remote.commit()
    assert second != head
    code, out, err = await newsdesk("--config", "config.yaml", "ingest", cwd=tmp_path, env={})
    assert code == 0, err
    assert f"{remote.url}: 0 new, 0 updated, 1 withdrawn" in out

    remote.bare.rename(tmp_path / "moved.git")
    code, out, err = await newsdesk("--config", "config.yaml", "ingest", cwd=tmp_path, env={})
    assert code == 1
    assert f"{remote.url}: failed: git " in err and "Traceback" not in err

    code, out, err = await newsdesk("--config", "config.yaml", "status", cwd=tmp_path, env={})
    assert code == 0, err
    [line] = out.split("\nGit sources\n", 1)[1].splitlines()[:1]
    assert line.startswith(f"  {remote.url}: failed once: git ")
    assert f"; at commit {second[:12]}; next " in line  # the last one ingested


async def test_status_lists_the_feeds_servers_added_by_server(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.store.db import Database
    from bot.store.server_sources import ServerSourceStore

    config = {"database": {"path": "news.db"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    db = await Database.open(tmp_path / "news.db")
    try:
        store = ServerSourceStore(db)
        for guild, name in ((222, "b"), (111, "a"), (222, "c")):
            await store.add(
                guild,
                f"https://feeds.example.net/{name}.xml",
                topics=(),
                quality=50,
                interval=timedelta(minutes=15),
                added_by=1,
                at=datetime(2026, 12, 2, tzinfo=UTC),
                limit=50,
            )
    finally:
        await db.close()
    code, out, err = await newsdesk("--config", "config.yaml", "status", cwd=tmp_path, env={})
    assert code == 0, err
    assert out.split("\nFeeds added from Discord\n", 1)[1].splitlines() == [
        "  server 111",
        "    https://feeds.example.net/a.xml: not fetched yet",
        "  server 222",
        "    https://feeds.example.net/b.xml: not fetched yet",
        "    https://feeds.example.net/c.xml: not fetched yet",
    ]
