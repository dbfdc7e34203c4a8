"""Operations: backups, schema upgrades, exports with delivery records, the README's reference."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import typing
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pydantic import BaseModel

from bot.errors import DatabaseError
from bot.settings import Settings
from bot.store.db import MIGRATIONS, Database, backup_database, schema_version
from tests.conftest import ROOT
from tests.support.articles import article_fields, write_article
from tests.test_cli import newsdesk


class _Dir:
    """A migrations directory: the real ones plus extra (name, text) pairs."""

    def __init__(self, extra: dict[str, str]) -> None:
        self.extra = extra

    def iterdir(self) -> list[object]:
        class Script:
            def __init__(self, name: str, text: str) -> None:
                self.name, self.text = name, text

            def read_text(self, encoding: str = "utf-8") -> str:
                return self.text

        real = [Script(f.name, f.read_text(encoding="utf-8")) for f in MIGRATIONS.iterdir()]
        return real + [Script(n, t) for n, t in self.extra.items()]


async def test_an_older_database_is_copied_then_migrated(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    await (await Database.open(path)).close()
    newer = _Dir({"0002_notes.sql": "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"})
    db = await Database.open(path, migrations=newer)  # type: ignore[arg-type]
    try:
        assert await schema_version(db.writer) == 2
    finally:
        await db.close()
    (copy,) = tmp_path.glob("news.db.v1-*.bak")
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    conn.close()
    # and the current code refuses the upgraded file instead of guessing
    with pytest.raises(DatabaseError, match=r"schema version 2.*only knows versions up to 1"):
        await Database.open(path)


def test_backup_copy_is_consistent_and_opens_as_a_database(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  path: news.db\n", encoding="utf-8")
    for n in range(3):
        write_article(tmp_path / "news", f"{n}.md", n)
    assert newsdesk("ingest", "news", "--config", "config.yaml", cwd=tmp_path).returncode == 0
    done = newsdesk("backup", "copy.db", "--config", "config.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "schema version 1, 3 articles, 0 deliveries" in done.stdout
    again = newsdesk("backup", "copy.db", "--config", "config.yaml", cwd=tmp_path)
    assert again.returncode == 2
    assert "exists" in again.stderr
    (tmp_path / "other.yaml").write_text("database:\n  path: copy.db\n", encoding="utf-8")
    exported = newsdesk("export", "--config", "other.yaml", cwd=tmp_path)
    assert len(json.loads(exported.stdout)) == 3
    missing = newsdesk("backup", "x/y.db", "--config", "config.yaml", cwd=tmp_path)
    assert missing.returncode == 2


def test_backup_of_a_live_wal_database_includes_committed_work(tmp_path: Path) -> None:
    """The copy is the database at one moment, WAL content included, in one file."""
    source = tmp_path / "live.db"
    writer = sqlite3.connect(source)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1000)])
    writer.commit()  # committed, still in the -wal file
    writer.execute("BEGIN")
    writer.execute("INSERT INTO t VALUES (-1)")  # uncommitted: must not be in the copy
    target = tmp_path / "copy.db"
    backup_database(source, target)
    writer.rollback()
    writer.close()
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*), min(x) FROM t").fetchone() == (1000, 0)
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copy.close()
    assert not list(tmp_path.glob(".copy.db.partial"))


def _sent_record(db: Path, channel: int, article: int, message: int) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO deliveries (channel_id, article_id, guild_id, state, nonce, intent_at, "
            "last_attempt_at, attempts, message_id, sent_at) VALUES (?, ?, 7, 'sent', 'ndabc', "
            "'2021-01-01T00:00:00.000000Z', '2021-01-01T00:00:00.000000Z', 1, ?, "
            "'2021-01-01T00:00:01.000000Z')",
            (channel, article, message),
        )
    conn.close()


def test_deliveries_are_their_own_stream_and_round_trip(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  path: a.db\n", encoding="utf-8")
    write_article(tmp_path / "news", "a.md", 1)
    write_article(tmp_path / "news", "b.md", 2)
    assert newsdesk("ingest", "news", "--config", "config.yaml", cwd=tmp_path).returncode == 0
    _sent_record(tmp_path / "a.db", 42, 1, 99)
    first = newsdesk(
        "export",
        "--deliveries",
        "out.jsonl",
        "--format",
        "yaml",
        "--config",
        "config.yaml",
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    assert "newsdeskDeliveries" not in first.stdout  # articles carry none
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "url": "https://news.example.com/articles/1",
            "channelId": 42,
            "guildId": 7,
            "state": "sent",
            "nonce": "ndabc",
            "intentAt": "2021-01-01T00:00:00.000000Z",
            "lastAttemptAt": "2021-01-01T00:00:00.000000Z",
            "attempts": 1,
            "messageId": 99,
            "sentAt": "2021-01-01T00:00:01.000000Z",
        }
    ]
    again = newsdesk("export", "--deliveries", "out.jsonl", "--config", "config.yaml", cwd=tmp_path)
    assert again.returncode == 2
    assert "out.jsonl exists" in again.stderr

    (tmp_path / "dump.yaml").write_text(first.stdout, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("database:\n  path: b.db\n", encoding="utf-8")
    restored = newsdesk(
        "ingest",
        "dump.yaml",
        "--deliveries",
        "out.jsonl",
        "--json",
        "--config",
        "b.yaml",
        cwd=tmp_path,
    )
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["deliveries"] == {
        "restored": 1,
        "kept": 0,
        "unknown_article": 0,
    }
    second = newsdesk(
        "export",
        "--deliveries",
        "back.jsonl",
        "--format",
        "yaml",
        "--config",
        "b.yaml",
        cwd=tmp_path,
    )
    assert second.stdout == first.stdout
    assert (tmp_path / "back.jsonl").read_text() == (tmp_path / "out.jsonl").read_text()
    twice = newsdesk(
        "ingest",
        "dump.yaml",
        "--deliveries",
        "out.jsonl",
        "--json",
        "--config",
        "b.yaml",
        cwd=tmp_path,
    )  # never overwrites a record the store has
    assert json.loads(twice.stdout)["deliveries"] == {
        "restored": 0,
        "kept": 1,
        "unknown_article": 0,
    }


def test_a_bad_delivery_line_is_rejected_and_the_rest_restored(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  path: a.db\n", encoding="utf-8")
    write_article(tmp_path / "news", "a.md", 1)
    good = {
        "url": "https://news.example.com/articles/1",
        "channelId": 5,
        "state": "sent",
        "intentAt": "2021-01-01T00:00:00Z",
    }
    (tmp_path / "d.jsonl").write_text(
        "\n".join(
            [
                json.dumps(good),
                "{not json",
                json.dumps({**good, "state": "posted"}),
                json.dumps({**good, "url": "https://elsewhere.example/x", "channelId": 6}),
            ]
        ),
        encoding="utf-8",
    )
    done = newsdesk(
        "ingest",
        "news",
        "--deliveries",
        "d.jsonl",
        "--json",
        "--config",
        "config.yaml",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert summary["deliveries"] == {"restored": 1, "kept": 0, "unknown_article": 1}
    assert [(r["path"], r["line"], r["error"][:20]) for r in summary["rejected"]] == [
        ("d.jsonl", 2, "invalid JSON: Expect"),
        ("d.jsonl", 3, "not a delivery recor"),
    ]


def test_older_exports_with_deliveries_inside_articles_are_still_restored(tmp_path: Path) -> None:
    """newsdeskDeliveries inside an article: restored through the outbox, never overwriting;
    not kept as an article field."""
    fields = article_fields(1)
    fields["newsdeskDeliveries"] = [
        {"channelId": 42, "state": "sent", "nonce": "n", "intentAt": "2021-01-01T00:00:00Z"},
        {"channelId": 43, "state": "nonsense"},  # malformed: left out
    ]
    (tmp_path / "old.json").write_text(json.dumps([fields]), encoding="utf-8")
    (tmp_path / "config.yaml").write_text("database:\n  path: a.db\n", encoding="utf-8")
    done = newsdesk("ingest", "old.json", "--json", "--config", "config.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["deliveries"] == {
        "restored": 1,
        "kept": 0,
        "unknown_article": 0,
    }
    with sqlite3.connect(tmp_path / "a.db") as conn:
        assert conn.execute("SELECT channel_id, state FROM deliveries").fetchall() == [(42, "sent")]
        assert (
            conn.execute("SELECT extra_json FROM articles").fetchone()[0].find("newsdeskDeliveries")
            == -1
        )
    conn.close()
    exported = newsdesk("export", "--config", "config.yaml", cwd=tmp_path)
    assert json.loads(exported.stdout)[0]["published"] is True  # posted somewhere


# --------------------------------------------------------------------------- the README


def _readme_keys(section: str) -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(section)
    table = text[start : text.index("\n\n", text.index("|---", start))]
    keys: set[str] = set()
    for row in table.splitlines()[2:]:
        cell = row.split("|")[1]
        for part in re.findall(r"`([^`]+)`", cell):
            keys.add(part)
    return keys


def _model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every key the config file may hold, as ``section.key`` (``sources[].path``...)."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        inner = [
            a for a in _flat(field.annotation) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not inner:
            keys.add(prefix + name)
        elif name in ("sources", "subscriptions"):
            keys |= _model_keys(inner[0], f"{prefix}{name}[].")
        else:
            keys |= _model_keys(inner[0], f"{prefix}{name}.")
    return keys


def _flat(annotation: object) -> list[object]:
    out = [annotation]
    for arg in typing.get_args(annotation):
        out += _flat(arg)
    return out


def _example_keys(value: object, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict):
                keys |= _example_keys(item, f"{prefix}{key}.")
            elif isinstance(item, list) and item and isinstance(item[0], dict):
                keys |= _example_keys(item[0], f"{prefix}{key}[].")
            else:
                keys.add(f"{prefix}{key}")
    return keys


def test_the_example_config_holds_every_key_the_settings_know() -> None:
    example = yaml.safe_load((ROOT / "config" / "config.example.yaml").read_text())
    assert _example_keys(example) == _model_keys(Settings)


def test_the_readme_documents_every_key_and_only_those() -> None:
    documented = set()
    for key in _readme_keys("| key | default | meaning |"):
        documented |= set(key.replace(" ", "").split("/"))
    for key in _readme_keys("A subscription sends articles"):
        documented |= {f"subscriptions[].{k}" for k in key.replace(" ", "").split("/")}
    documented.discard("subscriptions[]")  # the row that points at the subscriptions table
    assert documented == _model_keys(Settings)


def test_constraints_pin_every_package_newsdesk_installs() -> None:
    """What the Dockerfile and .ci/run install with -c constraints.txt is all pinned, at the
    versions installed here (runtime and test dependencies, and theirs)."""
    pinned: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[canonicalize_name(name)] = version
    needed: set[str] = set()
    todo = [("newsdesk", {"test"})]
    while todo:
        name, extras = todo.pop()
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            markers = requirement.marker
            if markers and not any(markers.evaluate({"extra": e}) for e in extras | {""}):
                continue
            key = canonicalize_name(requirement.name)
            if key not in needed:
                needed.add(key)
                todo.append((requirement.name, set(requirement.extras)))
    assert needed - set(pinned) == set(), "not pinned in constraints.txt"
    for name in needed:
        assert metadata.version(name) == pinned[name], name


def test_readme_set_up_commands_are_the_ones_ci_runs() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    run = re.search(r"<!-- run-command -->\s*```sh\n(.+?)\n```", text, re.S)
    test = re.search(r"<!-- test-command -->\s*```sh\n(.+?)\n```", text, re.S)
    assert run is not None
    assert test is not None
    assert run.group(1).endswith("newsdesk run --dry-run")
    assert "pytest" in test.group(1)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command" in ci


# --------------------------------------------------------------------------- Docker


def test_dockerfile_follows_the_rules() -> None:
    """No Docker engine here: check what the image must do, line by line."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    froms = [ln for ln in lines if ln.startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage"
    assert all(
        re.match(r"FROM python:3\.\d+(\.\d+)?-slim(-\w+)?(@sha256:\w+)?( AS \w+)?$", f)
        for f in froms
    ), froms
    assert any("-c constraints.txt" in ln for ln in lines if "pip install" in ln), "pinned"
    user = [ln for ln in lines if ln.startswith("USER ")]
    assert user, "runs as a non-root user"
    assert user[-1] not in ("USER root", "USER 0")
    assert any(ln.startswith("VOLUME") and "/data" in ln for ln in lines)
    assert 'ENTRYPOINT ["newsdesk"]' in lines
    health = [ln for ln in lines if ln.startswith("HEALTHCHECK")]
    assert health, "a HEALTHCHECK"
    assert "newsdesk" in " ".join(lines[lines.index(health[0]) :])
    assert not any(ln.startswith("ADD ") for ln in lines), "COPY, not ADD"
    assert any("tzdata" in ln for ln in lines) or "tzdata" in (ROOT / "pyproject.toml").read_text()
    assert "STOPSIGNAL SIGTERM" in lines or not any(ln.startswith("STOPSIGNAL") for ln in lines)
    config = yaml.safe_load((ROOT / "config" / "docker.yaml").read_text())
    assert config["http"]["host"] == "0.0.0.0"
    assert config["database"]["path"].startswith("/data/")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = next(iter(compose["services"].values()))
    assert any(v.endswith(":ro") for v in service["volumes"] if "/config" in v)


@pytest.mark.slow
def test_the_image_install_steps_work_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    """What the Dockerfile's build stage does, in a new venv; then the image's dry run."""
    import subprocess
    import sys

    source = tmp_path / "src"
    for name in ("pyproject.toml", "README.md", "constraints.txt"):
        shutil.copy(ROOT / name, source / name if source.exists() else _mkdir(source) / name)
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "-c", "constraints.txt", "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    data = tmp_path / "data"
    shutil.copytree(ROOT / "config" / "sample-news", data / "news")
    config = yaml.safe_load((ROOT / "config" / "docker.yaml").read_text())
    config["database"]["path"] = str(data / "newsdesk.db")
    config["sources"] = [{"path": str(data / "news")}]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    run = subprocess.run(
        [
            str(venv / "bin" / "newsdesk"),
            "run",
            "--dry-run",
            "--config",
            str(tmp_path / "config.yaml"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    assert "would be made (dry run: nothing sent)" in run.stdout


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path
