"""Benchmark: first ingest and unchanged re-ingest of a generated corpus, against a bare baseline.

    python bench/ingest.py [-n 100000] [--workdir bench/out]

Prints, for the same corpus in the same run:
* baseline: one process reads each file, parses its front matter with libyaml, and inserts the
  same tables (articles, topics, related, FTS5) with sqlite3 ``executemany`` in one transaction;
* ``newsdesk ingest`` into an empty store (the real command, as a subprocess), with the peak
  resident memory of its whole process tree (workers included);
* ``newsdesk ingest`` again over the unchanged corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "tests" / "support" / "gen_corpus.py"
_CLOSING = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)


def generate(corpus: Path, count: int) -> dict:
    manifest = corpus.with_suffix(".json")
    if manifest.exists() and json.loads(manifest.read_text())["n_good"] == count:
        return json.loads(manifest.read_text())
    if corpus.exists():
        for f in corpus.iterdir():
            f.unlink()
    cmd = [
        sys.executable,
        str(GENERATOR),
        str(corpus),
        "-n",
        str(count),
        "--manifest",
        str(manifest),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return json.loads(manifest.read_text())


def drop_caches_hint() -> None:
    # Warm the page cache once so both contenders read from memory (the disk is not measured).
    for f in os.scandir(CORPUS):
        with open(f.path, "rb") as h:
            h.read()


def baseline(corpus: Path, db_path: Path) -> float:
    """Read + libyaml parse + sqlite3 executemany of the same tables, single process."""
    schema = (resources.files("bot.store") / "migrations" / "0001_initial.sql").read_text()
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(schema)
    started = time.perf_counter()
    articles, links, related = [], [], []
    topics: dict[str, int] = {}
    for i, entry in enumerate(sorted(os.scandir(corpus), key=lambda e: e.name), start=1):
        with open(entry.path, encoding="utf-8") as handle:
            text = handle.read()
        end = _CLOSING.search(text, 4)
        data = yaml.load(text[4 : end.start()], Loader=yaml.CSafeLoader)
        url = data.get("webUrl") or data["originalUrl"]
        published = str(data["publishedDateTime"])
        provider = data.get("provider") or {}
        postable = 0 if data.get("published") else 1
        articles.append(
            (
                i,
                url,
                data.get("webUrl"),
                data.get("originalUrl"),
                data["title"],
                data.get("excerpt"),
                published,
                data.get("type", "article"),
                data.get("quality"),
                data.get("heat"),
                int(bool(data.get("published"))),
                provider.get("name"),
                provider.get("domain"),
                json.dumps(provider.get("images")),
                json.dumps(data.get("images")),
                data.get("featuredContent"),
                None,
                None,
                " | ".join(data.get("topics") or []),
                "hash",
                entry.path,
                "now",
                "now",
                postable,
            )
        )
        for pos, name in enumerate(data.get("topics") or []):
            tid = topics.setdefault(name.casefold(), len(topics) + 1)
            links.append((i, tid, pos, name, data.get("quality"), published, postable))
        for pos, item in enumerate(data.get("related") or []):
            related.append(
                (
                    i,
                    pos,
                    item.get("webUrl") or item.get("originalUrl"),
                    item.get("title"),
                    None,
                    None,
                    item.get("quality"),
                    json.dumps(item, default=str),
                )
            )
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT OR REPLACE INTO articles (id, url, web_url, original_url, title, excerpt, "
        "published_at, type, quality, heat, source_published, provider_name, provider_domain, "
        "provider_json, images_json, featured_content, body, extra_json, topics_text, "
        "content_hash, source_path, ingested_at, updated_at, postable) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        articles,
    )
    conn.executemany(
        "INSERT INTO topics (id, key, name) VALUES (?, ?, ?)",
        [(tid, key, key) for key, tid in topics.items()],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO article_topics (article_id, topic_id, position, label, quality, "
        "published_at, postable) VALUES (?, ?, ?, ?, ?, ?, ?)",
        links,
    )
    conn.executemany(
        "INSERT OR IGNORE INTO related (article_id, position, url, title, provider_name, "
        "published_at, quality, data_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        related,
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def tree_rss_kib(pid: int) -> int:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(stat[1])
            except (OSError, IndexError):
                continue
    todo, family = [pid], []
    while todo:
        current = todo.pop()
        family.append(current)
        todo.extend(child for child, parent in parents.items() if parent == current)
    total = 0
    for member in family:
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def run_newsdesk(config: Path, corpus: Path, code: Path = ROOT) -> tuple[float, int, dict]:
    """``newsdesk ingest`` of ``code`` (this checkout, or another one for side-by-side runs)."""
    cmd = [sys.executable, "-m", "bot", "ingest", str(corpus), "--config", str(config), "--json"]
    env = dict(os.environ, PYTHONPATH=str(code))
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, tree_rss_kib(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, _ = proc.communicate()
    elapsed = time.perf_counter() - started
    sampler.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"newsdesk ingest failed with {proc.returncode}")
    return elapsed, peak, json.loads(out)


def main() -> None:
    global CORPUS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alternately")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    CORPUS = args.workdir / f"corpus-{args.n}"
    facts = generate(CORPUS, args.n)
    files = facts["files"]
    drop_caches_hint()
    print(f"corpus: {files:,} files, {facts['bytes'] / 1e6:.0f} MB, {facts['unique_urls']:,} URLs")

    base_db = args.workdir / "baseline.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{base_db}{suffix}").unlink(missing_ok=True)
    base = baseline(CORPUS, base_db)
    report("baseline (read + libyaml + executemany, 1 process)", base, files)

    if args.baseline:
        side_by_side(args.workdir, args.baseline, args.rounds, files, base)
        return
    config = fresh_store(args.workdir)
    first, first_rss, summary = run_newsdesk(config, CORPUS)
    report(
        "newsdesk ingest, empty store",
        first,
        files,
        f"peak RSS {first_rss / 1024:.0f} MB (all processes), {first / base:.2f}x the baseline's "
        f"time, {summary['new']:,} new",
    )
    again, again_rss, summary = run_newsdesk(config, CORPUS)
    report(
        "newsdesk ingest, unchanged files",
        again,
        files,
        f"peak RSS {again_rss / 1024:.0f} MB, {summary['unchanged']:,} unchanged",
    )


def fresh_store(workdir: Path) -> Path:
    store = workdir / "newsdesk.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    config = workdir / "bench-config.yaml"
    config.write_text(f"database:\n  path: {store}\n", encoding="utf-8")
    return config


def side_by_side(workdir: Path, baseline: Path, rounds: int, files: int, base: float) -> None:
    """This code and the baseline's, alternately: an empty store, then the unchanged files."""
    runs: dict[str, dict[str, list[float]]] = {"this": {}, "was": {}}
    for _ in range(rounds):
        for side, code in (("this", ROOT), ("was", baseline)):
            config = fresh_store(workdir)
            first, first_rss, _ = run_newsdesk(config, CORPUS, code)
            again, _, _ = run_newsdesk(config, CORPUS, code)
            for key, value in (("first", first), ("again", again), ("rss", first_rss / 1024)):
                runs[side].setdefault(key, []).append(value)
            print(
                f"  {side}: first {first:.1f} s, again {again:.1f} s, "
                f"peak RSS {first_rss / 1024:.1f} MB",
                file=sys.stderr,
            )
    print(
        f"{'median of ' + str(rounds) + ' alternating runs':40s} {'this':>10s} {'was':>10s}  ratio"
    )
    for key, what, unit in (
        ("first", "first ingest, empty store", "s"),
        ("again", "unchanged files again", "s"),
        ("rss", "peak RSS, all processes", "MB"),
    ):
        this, was = statistics.median(runs["this"][key]), statistics.median(runs["was"][key])
        print(f"{what:40s} {this:8.1f} {unit:2s} {was:8.1f} {unit:2s}  {this / was:5.2f}")
    first = statistics.median(runs["this"]["first"])
    print(f"this code: {files / first:,.0f} files/s, {first / base:.2f}x the bare baseline's time")


def report(what: str, seconds: float, files: int, note: str = "") -> None:
    print(f"{what:52s} {seconds:6.1f} s {files / seconds:9,.0f} files/s  {note}")


CORPUS = Path()

if __name__ == "__main__":
    main()
