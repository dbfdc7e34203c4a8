"""The ``newsdesk`` command line: argv -> settings -> logging -> one command.

Only ``newsdesk run`` logs to stdout; every other command logs to stderr, so its stdout
carries nothing but its result and can be piped. Exit status: 0 success, 1 something was
rejected or failed, 2 unusable arguments, config or database.

Heavy modules (discord.py, the store) are imported inside the commands: this module is
imported by every ingest worker process, which must stay small.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from bot import __version__
from bot.errors import ConfigError, DatabaseError
from bot.log import setup_logging
from bot.settings import DEFAULT_CONFIG_PATH, Settings, load_settings

log = logging.getLogger("bot.cli")

EXAMPLE_CONFIG_PATH = Path("config/config.example.yaml")
EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsdesk",
        description="Newsdesk: a Discord bot that runs a community's news desk.",
    )
    parser.add_argument("--version", action="version", version=f"newsdesk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--config",
            type=Path,
            default=None,
            metavar="PATH",
            help=f"config file (default {DEFAULT_CONFIG_PATH}; "
            f"falls back to {EXAMPLE_CONFIG_PATH} when that does not exist)",
        )
        return sub

    run = command("run", "Run the bot (needs DISCORD_TOKEN), or show what it would post.")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="no Discord: ingest the sources and print the posts the bot would make, then exit",
    )

    ingest = command("ingest", "Load article files into the archive.")
    ingest.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="files or directories (recursive); default: the config's sources",
    )
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")
    ingest.add_argument(
        "--rescan", action="store_true", help="re-read every file, even those that look unchanged"
    )

    export = command("export", "Write every stored article to stdout in the source format.")
    export.add_argument("--format", choices=("json", "yaml"), default="json")
    export.add_argument(
        "--deliveries",
        action="store_true",
        help="also write each article's delivery records (newsdeskDeliveries), which "
        "`newsdesk ingest` restores into an empty store",
    )

    command("migrate", "Create the database or bring its schema up to date.")

    backup = command("backup", "Make a consistent copy of the database (safe while the bot runs).")
    backup.add_argument("target", type=Path, metavar="PATH", help="where to write the copy")

    command(
        "health", "Ask the running bot's /healthz (needs the http: section); exit 0 if healthy."
    )

    sync = command("sync", "Push the slash commands to Discord now (needs DISCORD_TOKEN).")
    sync.add_argument(
        "--guild",
        type=int,
        default=None,
        metavar="ID",
        help="sync to this server only (takes effect at once; handy while testing)",
    )
    return parser


def resolve_config(path: Path | None) -> Path:
    if path is not None:
        return path
    if not DEFAULT_CONFIG_PATH.exists() and EXAMPLE_CONFIG_PATH.exists():
        log.warning(
            "%s not found; using %s (copy it to %s to make it yours)",
            DEFAULT_CONFIG_PATH,
            EXAMPLE_CONFIG_PATH,
            DEFAULT_CONFIG_PATH,
        )
        return EXAMPLE_CONFIG_PATH
    return DEFAULT_CONFIG_PATH


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    dry_run = bool(getattr(args, "dry_run", False))
    log_stream = sys.stdout if args.command == "run" and not dry_run else sys.stderr
    setup_logging("INFO", log_stream)
    try:
        settings = load_settings(resolve_config(args.config))
    except ConfigError as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    setup_logging(settings.logging.level, log_stream, settings.logging.format)
    try:
        if args.command == "ingest":
            return asyncio.run(ingest_command(settings, args.paths, args.json, args.rescan))
        if args.command == "export":
            return asyncio.run(
                export_command(settings, args.format, sys.stdout, deliveries=args.deliveries)
            )
        if args.command == "migrate":
            return asyncio.run(migrate_command(settings))
        if args.command == "run":
            from bot.app import run_command

            return run_command(settings, dry_run=dry_run)
        if args.command == "backup":
            return backup_command(settings, args.target)
        if args.command == "health":
            return health_command(settings)
        if args.command == "sync":
            from bot.app import sync_command

            return sync_command(settings, args.guild)
    except ConfigError as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except DatabaseError as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print("newsdesk: interrupted", file=sys.stderr)
        return 130
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover


# --------------------------------------------------------------------------- ingest


class ProgressBar:
    """A one-line progress bar on a terminal; silent elsewhere."""

    def __init__(self, stream: IO[str], minimum: int = 1000) -> None:
        self.stream = stream
        self.minimum = minimum
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if total < self.minimum:
            return
        now = time.monotonic()
        if done < total and now - self.last < 0.2:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        eta = (total - done) / rate if rate else 0
        width = 30
        filled = int(width * done / total)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} files "
            f"{rate:,.0f}/s ETA {eta:,.0f}s "
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


async def ingest_command(settings: Settings, paths: list[Path], as_json: bool, rescan: bool) -> int:
    from bot.services.ingestion import Ingestor, SourceError
    from bot.store.articles import ArticleStore
    from bot.store.db import Database

    roots = paths or [source.path for source in settings.sources]
    if not roots:
        print(
            "newsdesk: nothing to ingest: give PATH arguments or configure sources",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    progress = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    db = await Database.open(settings.database.path)
    try:
        store = ArticleStore(db, trust_published_flag=settings.ingest.trust_published_flag)
        await store.apply_published_policy()
        ingestor = Ingestor(store, settings.ingest)
        try:
            summary = await ingestor.ingest(roots, rescan=rescan, progress=progress)
        except SourceError as exc:
            print(f"newsdesk: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
    finally:
        await db.close()
    log.info("ingest: %s", summary.describe())
    if as_json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        print(
            f"{summary.new} new, {summary.updated} updated, {summary.unchanged} unchanged, "
            f"{len(summary.rejected)} rejected"
        )
        for rejection in summary.rejected:
            print(f"rejected: {rejection}")
    return EXIT_REJECTED if summary.rejected else EXIT_OK


# --------------------------------------------------------------------------- export


async def export_command(
    settings: Settings, fmt: str, out: IO[str], *, deliveries: bool = False
) -> int:
    from bot.domain.export import article_to_source, to_json_ready, to_yaml_document
    from bot.store.articles import ArticleStore
    from bot.store.db import Database

    db = await Database.open(settings.database.path)
    count = 0
    try:
        store = ArticleStore(db)
        if fmt == "json":
            out.write("[")
        async for article, posted, records in store.iter_all(with_deliveries=deliveries):
            source = article_to_source(article, posted=posted, deliveries=records)
            if fmt == "json":
                out.write(",\n" if count else "\n")
                out.write(json.dumps(to_json_ready(source), ensure_ascii=False, indent=2))
            else:
                out.write(to_yaml_document(source))
            count += 1
        if fmt == "json":
            out.write("\n]\n" if count else "]\n")
        out.flush()
    finally:
        await db.close()
    log.info("exported %d articles as %s", count, fmt)
    return EXIT_OK


# --------------------------------------------------------------------------- migrate


async def migrate_command(settings: Settings) -> int:
    from bot.store.db import Database, schema_version

    db = await Database.open(settings.database.path)
    try:
        version = await schema_version(db.writer)
    finally:
        await db.close()
    print(f"{settings.database.path}: schema version {version}")
    return EXIT_OK


# --------------------------------------------------------------------------- backup, health


def backup_command(settings: Settings, target: Path) -> int:
    from bot.store.db import backup_database

    source = settings.database.path
    if not source.exists():
        print(f"newsdesk: {source}: no database to back up", file=sys.stderr)
        return EXIT_UNUSABLE
    if target.exists():
        print(f"newsdesk: {target} exists; choose a new file name", file=sys.stderr)
        return EXIT_UNUSABLE
    if not target.parent.is_dir():
        print(f"newsdesk: {target.parent}: no such directory", file=sys.stderr)
        return EXIT_UNUSABLE
    started = time.monotonic()
    backup_database(source, target)
    version, articles, deliveries = _describe_database(target)
    print(
        f"backed up {source} to {target}: {target.stat().st_size / 1e6:.1f} MB, schema version "
        f"{version}, {articles} articles, {deliveries} deliveries "
        f"({time.monotonic() - started:.1f}s)"
    )
    return EXIT_OK


def _describe_database(path: Path) -> tuple[int, int, int]:
    """Count what a copy holds, reading it only (the copy is left exactly as written)."""
    import sqlite3

    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        deliveries = conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    finally:
        conn.close()
    return int(version), int(articles), int(deliveries)


def health_command(settings: Settings) -> int:
    import urllib.error
    import urllib.request

    if settings.http is None:
        print("newsdesk: http: is not configured, so there is no health endpoint", file=sys.stderr)
        return EXIT_UNUSABLE
    host = settings.http.host
    if host in ("0.0.0.0", ""):  # noqa: S104 - listening everywhere: ask locally
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address in a URL
    url = f"http://{host}:{settings.http.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            print(response.read().decode())
            return EXIT_OK
    except urllib.error.HTTPError as exc:
        print(exc.read().decode())
        return EXIT_REJECTED
    except (OSError, ValueError) as exc:
        print(f"newsdesk: {url}: {exc}", file=sys.stderr)
        return EXIT_REJECTED
