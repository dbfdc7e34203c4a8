"""The command line as a user runs it: real processes, real files, stdout kept pure."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.store.schema import migration_files
from tests.conftest import MALFORMED, ROOT, SAMPLES
from tests.support.articles import article_fields, markdown, write_article


def newsdesk(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text("database:\n  path: store/news.db\n", encoding="utf-8")
    return tmp_path


def test_ingest_json_summary_is_all_that_reaches_stdout(workdir: Path) -> None:
    news = workdir / "news"
    shutil.copytree(SAMPLES, news)
    shutil.copy(MALFORMED, news)
    first = newsdesk("ingest", "news", "--config", "config.yaml", "--json", cwd=workdir)
    assert first.returncode == 1, first.stderr
    summary = json.loads(first.stdout)  # nothing else on stdout
    assert (summary["new"], summary["updated"], summary["unchanged"]) == (59, 0, 0)
    (rejected,) = summary["rejected"]
    assert rejected == {
        "path": f"news/{MALFORMED.name}",
        "error": rejected["error"],
        "line": 5,
        "column": 35,
    }
    assert "59 new" not in first.stderr  # the summary is the result: once, on stdout
    assert "applied migration" in first.stderr  # logs go to stderr

    second = newsdesk("ingest", "news", "--config", "config.yaml", "--json", cwd=workdir)
    assert json.loads(second.stdout)["unchanged"] == 59
    assert second.returncode == 1


def test_exit_status_zero_when_nothing_is_rejected(workdir: Path) -> None:
    write_article(workdir / "news", "a.md", 1)
    run = newsdesk("ingest", "news", "--config", "config.yaml", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "1 new, 0 updated, 0 unchanged, 0 rejected"
    (workdir / "empty").mkdir()
    empty = newsdesk("ingest", "empty", "--config", "config.yaml", "--json", cwd=workdir)
    assert empty.returncode == 0
    assert json.loads(empty.stdout) == {
        "new": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
        "withdrawn": 0,
        "withdrawals_refused": [],
    }


def test_unusable_arguments_or_config_exit_2(workdir: Path) -> None:
    missing = newsdesk("ingest", "nowhere", "--config", "config.yaml", cwd=workdir)
    assert missing.returncode == 2
    assert "nowhere: no such file or directory" in missing.stderr
    assert missing.stdout == ""

    (workdir / "bad.yaml").write_text(
        "database: {path: x.db, size: 3}\ningest: {interval: soon}\n", encoding="utf-8"
    )
    bad = newsdesk("ingest", "news", "--config", "bad.yaml", cwd=workdir)
    assert bad.returncode == 2
    assert "configuration has 2 problems" in bad.stderr
    assert "database.size: unknown key" in bad.stderr
    assert "ingest.interval: expected a duration" in bad.stderr

    nofile = newsdesk("export", "--config", "absent.yaml", cwd=workdir)
    assert nofile.returncode == 2
    assert "config file not found" in nofile.stderr

    usage = newsdesk("ingest", "--frobnicate", cwd=workdir)
    assert usage.returncode == 2


def test_offline_commands_need_no_token(workdir: Path) -> None:
    run = newsdesk("migrate", "--config", "config.yaml", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith(f"schema version {len(migration_files())}")


def test_fresh_checkout_falls_back_to_the_example_config(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "config", tmp_path / "config", ignore=shutil.ignore_patterns("config.yaml")
    )
    run = newsdesk("ingest", "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["new"] == 59
    assert "using config/config.example.yaml" in run.stderr
    assert (tmp_path / "data" / "newsdesk.db").exists()


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_then_ingest_into_an_empty_store_then_export_again_is_identical(
    workdir: Path, fmt: str
) -> None:
    news = workdir / "news"
    shutil.copytree(SAMPLES, news)
    extra = article_fields(
        900,
        webUrl=None,
        originalUrl="https://video.example.com/watch?v=1",
        type="video",
        featuredContent='<iframe src="https://www.youtube.com/embed/x"></iframe>',
        quality=None,
        heat=-1,
        provider={"name": "Tube", "images": [{"url": "https://tube.example/icon.png"}]},
        publishedDateTime="2021-05-01T10:30:15.250000+02:00",
        customField={"nested": [1, "two", None, True], "when": "2021-01-01"},
    )
    (news / "video.md").write_text(markdown(extra) + "A markdown body.\n", encoding="utf-8")
    assert newsdesk("ingest", "news", "--config", "config.yaml", cwd=workdir).returncode == 0
    # One article has been posted: its export says published, so a rebuilt store never reposts it.
    with sqlite3.connect(workdir / "store" / "news.db") as conn:
        conn.execute(
            "INSERT INTO deliveries (channel_id, article_id, state, nonce, intent_at, "
            "last_attempt_at) SELECT 1, id, 'sent', 'n', '2021-01-01T00:00:00.000000Z', "
            "'2021-01-01T00:00:00.000000Z' FROM articles "
            "WHERE url = 'https://video.example.com/watch?v=1'"
        )
        # Two articles only servers' own feeds carry: one seen by two servers, one by none
        # (its feed was removed). A rebuilt store must not show them to everyone.
        first_two = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY id LIMIT 2")]
        conn.execute(
            "UPDATE articles SET restricted = 1, scope = 'r' WHERE id IN (?, ?)", first_two
        )
        conn.execute(
            "UPDATE article_topics SET restricted = 1 WHERE article_id IN (?, ?)", first_two
        )
        conn.executemany(
            "INSERT INTO article_guilds (article_id, guild_id) VALUES (?, ?)",
            [(first_two[0], 222), (first_two[0], 111)],
        )
        conn.execute("UPDATE articles SET scope = 'r g111 g222' WHERE id = ?", first_two[:1])
    conn.close()

    first = newsdesk("export", "--format", fmt, "--config", "config.yaml", cwd=workdir)
    assert first.returncode == 0, first.stderr
    dump = workdir / f"export.{fmt}"
    dump.write_text(first.stdout, encoding="utf-8")

    (workdir / "other.yaml").write_text("database:\n  path: other.db\n", encoding="utf-8")
    back = newsdesk("ingest", dump.name, "--config", "other.yaml", "--json", cwd=workdir)
    assert back.returncode == 0, back.stdout + back.stderr
    assert json.loads(back.stdout)["new"] == 60

    second = newsdesk("export", "--format", fmt, "--config", "other.yaml", cwd=workdir)
    assert second.stdout == first.stdout
    with sqlite3.connect(workdir / "other.db") as conn:
        visibility = conn.execute(
            "SELECT a.restricted, a.scope, (SELECT group_concat(guild_id) FROM "
            "(SELECT guild_id FROM article_guilds g WHERE g.article_id = a.id ORDER BY 1)) "
            "FROM articles a WHERE a.restricted = 1 OR a.scope != '' ORDER BY a.id"
        ).fetchall()
    conn.close()
    assert visibility == [(1, "r g111 g222", "111,222"), (1, "r", None)]

    articles = (
        json.loads(first.stdout)
        if fmt == "json"
        else list(yaml.load_all(first.stdout, Loader=yaml.SafeLoader))
    )
    assert len(articles) == 60
    video = next(
        a for a in articles if a.get("originalUrl") == "https://video.example.com/watch?v=1"
    )
    assert video["published"] is True
    assert "quality" not in video
    assert video["heat"] == -1
    assert video["customField"] == {"nested": [1, "two", None, True], "when": "2021-01-01"}
    assert video["body"] == "A markdown body.\n"
    assert video["provider"]["images"] == [{"url": "https://tube.example/icon.png"}]
    assert sorted(map(str, (a.get("newsdeskServers") for a in articles))) == sorted(
        ["[111, 222]", "[]"] + ["None"] * 58
    )
    if fmt == "yaml":
        events = yaml.parse(first.stdout, Loader=yaml.SafeLoader)
        assert not any(isinstance(e, yaml.AliasEvent) for e in events)
        assert "publishedDateTime: 2021-05-01T08:30:15.250000Z" in first.stdout


def test_export_of_an_empty_store(workdir: Path) -> None:
    assert newsdesk("migrate", "--config", "config.yaml", cwd=workdir).returncode == 0
    run = newsdesk("export", "--config", "config.yaml", cwd=workdir)
    assert run.returncode == 0
    assert json.loads(run.stdout) == []


def test_progress_bar_only_for_large_runs() -> None:
    import io

    from bot.cli.ingest import ProgressBar

    small = io.StringIO()
    bar = ProgressBar(small, minimum=1000)
    for done in range(1, 11):
        bar(done, 10)
    assert small.getvalue() == ""
    large = io.StringIO()
    bar = ProgressBar(large, minimum=1000)
    bar(1, 5000)
    bar(5000, 5000)
    text = large.getvalue()
    assert "\r[" in text
    assert "5,000/5,000 files" in text
    assert text.endswith("\n")


def test_ingest_applies_the_published_flag_switch(tmp_path: Path) -> None:
    import sqlite3

    (tmp_path / "config.yaml").write_text(
        "database:\n  path: a.db\ningest:\n  trust_published_flag: false\n", encoding="utf-8"
    )
    write_article(tmp_path / "news", "a.md", 1, published=True)
    assert newsdesk("ingest", "news", "--config", "config.yaml", cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "a.db") as conn:
        assert conn.execute("SELECT source_published, postable FROM articles").fetchone() == (1, 1)
    conn.close()
    (tmp_path / "config.yaml").write_text("database:\n  path: a.db\n", encoding="utf-8")
    assert newsdesk("migrate", "--config", "config.yaml", cwd=tmp_path).returncode == 0
    assert newsdesk("ingest", "news", "--config", "config.yaml", cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "a.db") as conn:  # the switch flipped back: recomputed
        assert conn.execute("SELECT source_published, postable FROM articles").fetchone() == (1, 0)
    conn.close()


@pytest.mark.parametrize("host", ["::1", "127.0.0.1", "0.0.0.0"])
def test_health_without_a_running_bot_is_a_clean_failure(tmp_path: Path, host: str) -> None:
    (tmp_path / "config.yaml").write_text(
        f'database:\n  path: a.db\nhttp:\n  host: "{host}"\n  port: 9\n', encoding="utf-8"
    )
    run = newsdesk("health", "--config", "config.yaml", cwd=tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "/healthz" in run.stderr
    no_http = tmp_path / "plain.yaml"
    no_http.write_text("database:\n  path: a.db\n", encoding="utf-8")
    assert newsdesk("health", "--config", "plain.yaml", cwd=tmp_path).returncode == 2


def test_ingest_of_the_sources_withdraws_and_refuses_a_mass_removal(workdir: Path) -> None:
    config = "database:\n  path: store/news.db\nsources:\n  - path: news\n"
    (workdir / "config.yaml").write_text(config, encoding="utf-8")
    files = [write_article(workdir / "news", f"{n:02d}.md", n) for n in range(25)]
    assert newsdesk("ingest", "--config", "config.yaml", cwd=workdir).returncode == 0
    for path in files[:10]:
        path.unlink()
    by_hand = newsdesk("ingest", "news", "--config", "config.yaml", "--json", cwd=workdir)
    assert json.loads(by_hand.stdout)["withdrawn"] == 0  # paths given by hand never withdraw
    refused = newsdesk("ingest", "--config", "config.yaml", "--json", cwd=workdir)
    assert refused.returncode == 1
    summary = json.loads(refused.stdout)
    assert summary["withdrawn"] == 0
    assert summary["withdrawals_refused"] == [
        {"source": "news", "reason": summary["withdrawals_refused"][0]["reason"]}
    ]
    assert "10 of its 25 articles" in summary["withdrawals_refused"][0]["reason"]
    assert refused.stderr.count("withdrew nothing") == 2  # the log's error and the one line
    assert "Traceback" not in refused.stderr
    allowed = newsdesk("ingest", "--config", "config.yaml", "--allow-withdrawals", cwd=workdir)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "0 new, 0 updated, 15 unchanged, 0 rejected, 10 withdrawn"
