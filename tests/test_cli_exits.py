"""The command line's unhappy paths, as a user meets them: one line, the right exit status.

Closed pipes, databases that cannot be created or written, read-only commands on missing or
foreign databases, the global --config option, a health probe with no bot behind it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.process import cannot_write
from bot.store.schema import migration_files
from tests.conftest import ROOT, SAMPLES
from tests.test_cli import newsdesk

LATEST = len(migration_files())


def assert_one_line(err: str, expected: str) -> None:
    """stderr is exactly one line (logs aside), with no traceback and no thread noise."""
    for noise in ("Traceback", "Exception ignored", "Event loop is closed", "Exception in thread"):
        assert noise not in err, err
    lines = [line for line in err.splitlines() if line.startswith("newsdesk:")]
    assert lines == [expected], err


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A working directory with the samples ingested into store/news.db."""
    (tmp_path / "config.yaml").write_text("database:\n  path: store/news.db\n", encoding="utf-8")
    shutil.copytree(SAMPLES, tmp_path / "news")
    assert newsdesk("ingest", "news", "--config", "config.yaml", cwd=tmp_path).returncode == 0
    return tmp_path


# --------------------------------------------------------------------------- closed stdout


def test_export_into_a_pipe_its_reader_closed_exits_141_quietly(stored: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "export", "--config", "config.yaml"],
        cwd=stored,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"[\n"  # like `newsdesk export | head -1`
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 141
    assert err == b""


@pytest.mark.parametrize("args", [["ingest", "news", "--json"], ["migrate"]])
def test_any_command_writing_to_a_closed_pipe_exits_141(stored: Path, args: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args, "--config", "config.yaml"],
            cwd=stored,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert done.returncode == 141
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr


# --------------------------------------------------------------------------- unusable databases


@pytest.mark.parametrize(
    "command", [["ingest", "news"], ["run", "--dry-run"], ["migrate"]], ids=lambda c: c[0]
)
def test_a_database_directory_blocked_by_a_file(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "data").write_text("not a directory", encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        "database:\n  path: data/news.db\nsources: [news]\n", encoding="utf-8"
    )
    shutil.copytree(SAMPLES, tmp_path / "news")
    done = newsdesk(*command, "--config", "config.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert_one_line(
        done.stderr,
        "newsdesk: database data/news.db: cannot create its directory data: a file of that "
        "name is in the way",
    )


@pytest.mark.parametrize("command", [["ingest", "news"], ["run", "--dry-run"]], ids=str)
def test_a_database_on_a_file_system_that_refuses_directories(
    tmp_path: Path, command: list[str]
) -> None:
    """/sys refuses new directories to everyone, root included."""
    (tmp_path / "config.yaml").write_text(
        "database:\n  path: /sys/newsdesk/news.db\nsources: [news]\n", encoding="utf-8"
    )
    shutil.copytree(SAMPLES, tmp_path / "news")
    done = newsdesk(*command, "--config", "config.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert_one_line(
        done.stderr,
        "newsdesk: database /sys/newsdesk/news.db: cannot create its directory /sys/newsdesk: "
        "Operation not permitted",
    )


_READ_ONLY = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
# A 64 KiB file system; what the command left there is listed after it ends.
_SMALL = (
    'mount -t tmpfs -o size=64k tmpfs "$1" && d="$1" && shift && "$@"; s=$?; '
    'echo "left: $(ls -A "$d")"; exit $s'
)


def in_mount(
    script: str, directory: Path, *args: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """``newsdesk ARGS`` with ``directory`` mounted by ``script`` in a private mount
    namespace: nothing changes outside the command, and even root meets the mount's limits."""
    assert shutil.which("unshare"), "needs unshare(1) (util-linux) to mount a directory"
    mount = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
    done = subprocess.run(
        [*mount, str(directory), sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0 and ("unshare:" in done.stderr or "mount:" in done.stderr):
        pytest.fail(f"cannot mount for the test (it needs root): {done.stderr.strip()}")
    return done


def with_read_only(directory: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``newsdesk ARGS`` while ``directory`` is a read-only mount."""
    return in_mount(_READ_ONLY, directory, *args, cwd=cwd)


def test_a_database_directory_on_a_read_only_file_system(tmp_path: Path) -> None:
    (tmp_path / "mounted").mkdir()
    (tmp_path / "config.yaml").write_text(
        "database:\n  path: mounted/data/news.db\n", encoding="utf-8"
    )
    done = with_read_only(tmp_path / "mounted", "migrate", "--config", "config.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert_one_line(
        done.stderr,
        "newsdesk: database mounted/data/news.db: cannot create its directory mounted/data: "
        "Read-only file system",
    )


# --------------------------------------------------------------------------- read-only commands


@pytest.mark.parametrize(
    "command", [["export"], ["status"], ["backup", "copy.db"]], ids=lambda c: c[0]
)
def test_read_only_commands_refuse_a_missing_database(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  path: typo/news.db\n", encoding="utf-8")
    done = newsdesk(*command, "--config", "config.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert_one_line(
        done.stderr,
        "newsdesk: database typo/news.db: no such database (check database.path; "
        "`newsdesk migrate` creates it)",
    )
    assert done.stdout == ""
    assert not (tmp_path / "typo").exists()  # nothing was created


@pytest.mark.parametrize(
    "command", [["export"], ["status"], ["backup", "copy.db"]], ids=lambda c: c[0]
)
@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (0, f"schema version 0, this Newsdesk reads version {LATEST}: run `newsdesk migrate`"),
        (99, f"schema version 99, but this Newsdesk only knows versions up to {LATEST}"),
    ],
)
def test_read_only_commands_neither_migrate_nor_read_a_foreign_schema(
    tmp_path: Path, version: int, expected: str, command: list[str]
) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  path: news.db\n", encoding="utf-8")
    with sqlite3.connect(tmp_path / "news.db") as conn:
        conn.execute("CREATE TABLE notes (x)")
        conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    done = newsdesk(*command, "--config", "config.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert expected in done.stderr
    assert_one_line(done.stderr, done.stderr.strip().splitlines()[-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "news.db"]  # no copy
    with sqlite3.connect(tmp_path / "news.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version  # untouched
    conn.close()


def test_read_only_commands_work_on_a_database_they_cannot_write(stored: Path) -> None:
    """A WAL database on a read-only mount (SQLite cannot make its -shm there): opened
    immutable; export, status and backup work and leave the directory as it was."""
    expected = newsdesk("export", "--config", "config.yaml", cwd=stored).stdout
    with sqlite3.connect(stored / "store" / "news.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    before = sorted(p.name for p in (stored / "store").iterdir())
    assert before == ["news.db"]
    store = stored / "store"
    exported = with_read_only(store, "export", "--config", "config.yaml", cwd=stored)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == expected
    status = with_read_only(store, "status", "--json", "--config", "config.yaml", cwd=stored)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout) == []
    backup = with_read_only(store, "backup", "copy.db", "--config", "config.yaml", cwd=stored)
    assert backup.returncode == 0, backup.stderr
    assert "59 articles" in backup.stdout
    assert sorted(p.name for p in store.iterdir()) == before


@pytest.mark.parametrize(
    "command",
    [["backup", "out/copy.db"], ["export", "--deliveries", "out/deliveries.jsonl"]],
    ids=["backup", "export --deliveries"],
)
def test_a_copy_into_a_directory_that_cannot_be_written_names_it(
    stored: Path, command: list[str]
) -> None:
    (stored / "out").mkdir()
    done = with_read_only(stored / "out", *command, "--config", "config.yaml", cwd=stored)
    assert done.returncode == 2, done.stderr
    assert_one_line(
        done.stderr,
        f"newsdesk: {command[-1]}: cannot create files in out (no write permission, or a "
        "read-only file system)",
    )
    assert done.stdout == ""  # export checks before it writes anything


def test_a_backup_that_fills_the_disk_leaves_nothing_half_written(stored: Path) -> None:
    (stored / "out").mkdir()
    done = in_mount(
        _SMALL, stored / "out", "backup", "out/copy.db", "--config", "config.yaml", cwd=stored
    )
    assert done.returncode == 2, done.stderr
    assert_one_line(
        done.stderr,
        "newsdesk: cannot copy store/news.db to out/copy.db: database or disk is full",
    )
    assert done.stdout == "left: \n"  # neither a copy nor the partial one


def test_a_full_disk_under_stdout_is_one_line_and_status_1(stored: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "export", "--config", "config.yaml"],
            cwd=stored,
            env=environment,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert_one_line(done.stderr, "newsdesk: output: No space left on device")


def test_run_says_when_the_health_port_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / "config.yaml").write_text(
            f"database:\n  path: a.db\nhttp:\n  port: {port}\n", encoding="utf-8"
        )
        done = newsdesk("run", "--config", "config.yaml", cwd=tmp_path, env={"DISCORD_TOKEN": "x"})
    assert done.returncode == 2, done.stderr
    assert_one_line(
        done.stderr,
        f"newsdesk: http: cannot serve on 127.0.0.1:{port}: Address already in use (choose "
        "another http.port or http.host, or stop what is using it)",
    )


# --------------------------------------------------------------------------- small ones


def test_config_is_accepted_before_and_after_the_command(stored: Path) -> None:
    before = newsdesk("--config", "config.yaml", "export", cwd=stored)
    assert before.returncode == 0, before.stderr
    assert len(json.loads(before.stdout)) == 59
    (stored / "other.yaml").write_text("database:\n  path: other.db\n", encoding="utf-8")
    both = newsdesk("--config", "other.yaml", "export", "--config", "config.yaml", cwd=stored)
    assert both.returncode == 0, both.stderr  # the one after the command wins
    assert both.stdout == before.stdout


def test_health_says_when_no_bot_answers(tmp_path: Path) -> None:
    with socket_port() as port:
        (tmp_path / "config.yaml").write_text(
            f"database:\n  path: a.db\nhttp:\n  port: {port}\n", encoding="utf-8"
        )
        done = newsdesk("health", "--config", "config.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert_one_line(
        done.stderr,
        f"newsdesk: no bot answers on http://127.0.0.1:{port}/healthz (is `newsdesk run` "
        "running, with this config's http: section?)",
    )


class socket_port:
    """A local TCP port that nothing listens on (reserved while the block runs)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EIO, "Input/output error"), True),
        (BrokenPipeError(errno.EPIPE, "Broken pipe"), True),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "x"), False),
        (TimeoutError(), False),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), False),
    ],
)
def test_only_a_refused_write_is_an_output_error(error: OSError, refused: bool) -> None:
    """Any other OSError reaching the top is a bug, reported as one (with a debug traceback),
    not as 'output: ...'."""
    assert cannot_write(error) is refused


# --------------------------------------------------------------------------- signals

_SEEN_BY_THE_COMMAND = """
import signal, sys
from bot.cli.process import guard

def command() -> int:
    try:
        signal.raise_signal(signal.SIGINT)
    except BaseException as exc:
        print(type(exc).__name__)
        raise
    return 0

sys.exit(guard(command))
"""


def test_a_ctrl_c_reaches_the_command_as_interrupted_not_keyboard_interrupt() -> None:
    """A KeyboardInterrupt that escapes an exec() of a string (dataclasses build methods so
    while a module is imported) makes CPython kill itself with SIGINT at exit, whatever status
    guard returned; seen as exit status -2 when a Ctrl-C came during start-up."""
    result = subprocess.run(
        [sys.executable, "-c", _SEEN_BY_THE_COMMAND],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout == "Interrupted\n", result.stderr
    assert result.returncode == 130
    assert result.stderr == "newsdesk: interrupted\n"
