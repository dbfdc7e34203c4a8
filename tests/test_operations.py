"""Operations: backups, schema upgrades, exports with delivery records, the README's reference."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
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
from bot.store.connections import backup_database
from bot.store.db import Database
from bot.store.schema import MIGRATIONS, migration_files, schema_version
from tests.conftest import ROOT
from tests.support.articles import article_fields, write_article
from tests.test_cli import newsdesk

LATEST = len(migration_files())


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
    new = LATEST + 1
    notes = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"
    newer = _Dir({f"{new:04d}_notes.sql": notes})
    db = await Database.open(path, migrations=newer)  # type: ignore[arg-type]
    try:
        assert await schema_version(db.writer) == new
    finally:
        await db.close()
    (copy,) = tmp_path.glob(f"news.db.v{LATEST}-*.bak")
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    conn.close()
    # and the current code refuses the upgraded file instead of guessing
    with pytest.raises(
        DatabaseError, match=rf"schema version {new}.*only knows versions up to {LATEST}"
    ):
        await Database.open(path)


def test_backup_copy_is_consistent_and_opens_as_a_database(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  path: news.db\n", encoding="utf-8")
    for n in range(3):
        write_article(tmp_path / "news", f"{n}.md", n)
    assert newsdesk("ingest", "news", "--config", "config.yaml", cwd=tmp_path).returncode == 0
    done = newsdesk("backup", "copy.db", "--config", "config.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"schema version {LATEST}, 3 articles, 0 deliveries" in done.stdout
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
                for entry in item:
                    keys |= _example_keys(entry, f"{prefix}{key}[].")
            else:
                keys.add(f"{prefix}{key}")
    return keys


def test_the_example_config_holds_every_key_the_settings_know() -> None:
    text = (ROOT / "config" / "config.example.yaml").read_text()
    # A git source and a feed are shown commented out (a fresh checkout fetches nothing): their
    # keys count too; so does database.url, the alternative to database.path.
    text = re.sub(r"^  # (- feed:|- git:|  [a-z_]+:|url:)", r"  \1", text, flags=re.MULTILINE)
    example = yaml.safe_load(text)
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
    assert len(re.findall(r"^```sh$", text, re.M)) == 2  # exactly two set-up commands
    # What CI runs is what its own extraction finds in the README: run that extraction.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    extraction = re.search(r"^test_command=\$\((.+)\)$", ci, re.M)
    assert extraction is not None, "CI no longer reads its test command from the README"
    found = subprocess.run(
        ["bash", "-c", extraction.group(1)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == test.group(1)
    assert 'bash -c "$test_command"' in ci


# --------------------------------------------------------------------------- Docker


def test_compose_mounts_what_the_image_reads() -> None:
    """The image itself is exercised in tests/e2e/test_image.py; compose must hand it the
    config where its CMD reads it (read-only) and a volume where it keeps its data."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", dockerfile, re.M)[-1])
    config_path = cmd[cmd.index("--config") + 1]
    volume = re.findall(r"^VOLUME (\S+)$", dockerfile, re.M)[-1]
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    (service,) = compose["services"].values()
    mounts = [v.split(":") for v in service["volumes"]]
    assert [m for m in mounts if m[1] == config_path and m[2:] == ["ro"]], mounts
    assert [m for m in mounts if m[1] == volume and m[0] in compose["volumes"]], mounts
