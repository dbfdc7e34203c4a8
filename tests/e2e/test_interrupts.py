"""Every way out of a parallel ingest ends the whole process tree, cleanly, with one line.

A real ``newsdesk ingest --rescan`` of 5,000 generated files (two parse workers) is stopped at
random moments: Ctrl-C (SIGINT to its process group, as a terminal sends it), SIGTERM, a parse
worker killed outright, a database that another process keeps locked. Each time: the process
tree is gone within 10 s (the only timeout), stderr ends with one line and holds no traceback,
the database passes its integrity check, and the next ingest finishes the job.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.processes import children, marked, new_marker

pytestmark = pytest.mark.slow

FILES = 5000
SEED = int(os.environ.get("NEWSDESK_INTERRUPT_SEED", "0")) or random.randrange(1, 10**6)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """5,000 files and the number of distinct URLs they hold."""
    where = tmp_path_factory.mktemp("corpus")
    manifest = where / "manifest.json"
    generator = str(ROOT / "tests" / "support" / "gen_corpus.py")
    options = ["-n", str(FILES), "--seed", "5", "--manifest", str(manifest)]
    subprocess.run(
        [sys.executable, generator, str(where / "news"), *options],
        check=True,
        capture_output=True,
    )
    return where / "news", json.loads(manifest.read_text())["unique_urls"]


def start(workdir: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    environment.update(env, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args, "--config", "config.yaml"],
        cwd=workdir,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a foreground job in a terminal
    )


def wait_for_workers(process: subprocess.Popen[str], count: int = 2) -> list[int]:
    while process.poll() is None:
        workers = children(process.pid)
        if len(workers) >= count:
            return workers
        time.sleep(0.01)
    return []


def finish(process: subprocess.Popen[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Wait (10 s at most) for the process and for every process it started."""
    out, err = process.communicate(timeout=10)
    deadline = time.monotonic() + 10
    while marked(env) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marked(env) == [], f"processes left behind (seed {SEED})"
    return process.returncode, out, err


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    return str(result)


def stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        count = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    conn.close()
    return int(count)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text(
        "database:\n  path: news.db\ningest:\n  workers: 2\n", encoding="utf-8"
    )
    return tmp_path


def assert_one_line_and_no_traceback(err: str, last: str) -> None:
    assert "Traceback" not in err, err
    assert "Exception ignored" not in err, err
    assert err.strip().splitlines()[-1] == last, err
    assert err.count("newsdesk:") == 1, err


def test_sigint_and_sigterm_at_random_moments(corpus: tuple[Path, int], workdir: Path) -> None:
    news, urls = corpus
    rng = random.Random(SEED)
    interrupted = 0
    for attempt in range(8):
        env = new_marker()
        signum = signal.SIGINT if attempt % 2 == 0 else signal.SIGTERM
        process = start(workdir, env, "ingest", str(news), "--rescan")
        if attempt % 4 < 2:
            time.sleep(rng.uniform(0.3, 2.5))  # anywhere: start-up, planning, parsing, writing
        else:
            wait_for_workers(process)
            time.sleep(rng.uniform(0, 1.0))  # while the workers parse
        if process.poll() is None:
            os.killpg(process.pid, signum)  # what a Ctrl-C in a terminal does (SIGINT)
        code, _, err = finish(process, env)
        if code in (0, 1) and "interrupted" not in err:
            continue  # it was done before the signal arrived
        interrupted += 1
        assert code == 128 + signum, f"exit status {code} (seed {SEED}): {err}"
        assert_one_line_and_no_traceback(err, "newsdesk: interrupted")
        assert integrity(workdir / "news.db") == "ok"
    assert interrupted >= 4, f"only {interrupted} runs were interrupted (seed {SEED})"

    env = new_marker()
    code, out, err = finish(start(workdir, env, "ingest", str(news), "--json"), env)
    assert code == 0, err
    assert stored(workdir / "news.db") == urls  # the next ingest finished the job
    summary = json.loads(out)
    assert summary["new"] + summary["updated"] + summary["unchanged"] == urls


def test_a_parse_worker_that_dies_is_no_interruption(
    corpus: tuple[Path, int], workdir: Path
) -> None:
    news, urls = corpus
    env = new_marker()
    process = start(workdir, env, "ingest", str(news))
    workers = wait_for_workers(process)
    assert workers, "the ingest ended before its workers started"
    time.sleep(0.5)
    os.kill(workers[0], signal.SIGKILL)
    code, _, err = finish(process, env)
    assert code == 1, err
    assert_one_line_and_no_traceback(
        err,
        "newsdesk: a parse worker died (killed by SIGKILL); the batches stored so far are kept",
    )
    assert integrity(workdir / "news.db") == "ok"
    assert stored(workdir / "news.db") < urls

    env = new_marker()
    code, _, err = finish(start(workdir, env, "ingest", str(news)), env)
    assert code == 0, err
    assert stored(workdir / "news.db") == urls


def test_a_database_that_stays_locked_ends_the_ingest_cleanly(
    corpus: tuple[Path, int], workdir: Path
) -> None:
    """Another process holds the write lock past the busy timeout: the store fails mid-run."""
    news, urls = corpus
    env = new_marker()
    first = start(workdir, env, "migrate")
    assert finish(first, env)[0] == 0
    env = new_marker()
    process = start(workdir, env, "ingest", str(news))
    assert wait_for_workers(process)
    blocker = sqlite3.connect(workdir / "news.db", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # held until the ingest gave up
        code, _, err = finish(process, env)
    finally:
        blocker.rollback()
        blocker.close()
    assert code == 2, err
    assert_one_line_and_no_traceback(
        err,
        "newsdesk: database news.db: database is locked (another process is writing it; "
        "try again once it is done)",
    )
    assert integrity(workdir / "news.db") == "ok"

    env = new_marker()
    code, _, err = finish(start(workdir, env, "ingest", str(news)), env)
    assert code == 0, err
    assert stored(workdir / "news.db") == urls


def test_a_dry_run_is_interrupted_the_same_way(corpus: tuple[Path, int], workdir: Path) -> None:
    news, _ = corpus
    (workdir / "config.yaml").write_text(
        f"database:\n  path: news.db\nsources: [{news}]\ningest:\n  workers: 2\n",
        encoding="utf-8",
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        env = new_marker()
        process = start(workdir, env, "run", "--dry-run")
        assert wait_for_workers(process), "the dry run ended before its workers started"
        os.killpg(process.pid, signum)
        code, out, err = finish(process, env)
        assert code == 128 + signum, err
        assert_one_line_and_no_traceback(err, "newsdesk: interrupted")
        assert "would be made" not in out
        assert integrity(workdir / "news.db") == "ok"
