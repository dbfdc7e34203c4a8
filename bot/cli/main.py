"""argv -> settings -> logging -> one command, and where its errors become exit codes (signals
and a system that refuses a write: process.py).

Only ``newsdesk run`` logs to stdout; every other command (``run --dry-run`` included) logs to
stderr, so its stdout carries nothing but its result and can be piped. Exit status: 0 success;
1 something was rejected or failed (a full disk too); 2 unusable arguments, configuration or
database; 130/143 interrupted by SIGINT/SIGTERM; 141 stdout was closed by its reader (see
process.py).
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot.cli.process import EXIT_REJECTED, EXIT_UNUSABLE, cannot_write, run_async, say
from bot.errors import CommandFailed, ConfigError, UsageError
from bot.log import setup_logging
from bot.services.ingest.pool import WorkerDied
from bot.settings import DEFAULT_CONFIG_PATH, Settings, load_settings
from bot.store.connections import reason

log = logging.getLogger("bot.cli")

EXAMPLE_CONFIG_PATH = Path("config/config.example.yaml")
CONFIG_HELP = (
    f"config file (default {DEFAULT_CONFIG_PATH}; falls back to {EXAMPLE_CONFIG_PATH} when "
    "that does not exist); accepted before or after the command"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsdesk",
        description="Newsdesk: a Discord bot that runs a community's news desk.",
    )
    parser.add_argument("--version", action="version", version=f"newsdesk {__version__}")
    parser.add_argument("--config", type=Path, default=None, metavar="PATH", help=CONFIG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        # SUPPRESS: when not given here, the value given before the command stays
        sub.add_argument(
            "--config", type=Path, default=argparse.SUPPRESS, metavar="PATH", help=CONFIG_HELP
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
    ingest.add_argument(
        "--allow-withdrawals",
        action="store_true",
        help="let a scan of the configured sources withdraw more than ingest.withdraw_limit "
        "of a source's articles, or all of an emptied one (a real mass removal)",
    )
    ingest.add_argument(
        "--deliveries",
        type=Path,
        default=None,
        metavar="FILE",
        help="then restore the delivery records of `newsdesk export --deliveries FILE` (a record "
        "the store already has is never overwritten)",
    )

    export = command("export", "Write every stored article to stdout in the source format.")
    export.add_argument("--format", choices=("json", "yaml"), default="json")
    export.add_argument(
        "--deliveries",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write every delivery record (what was posted where) to FILE, as JSON lines; "
        "`newsdesk ingest --deliveries FILE` restores them",
    )

    status = command("status", "What each subscription is doing, read from the database.")
    status.add_argument("--json", action="store_true", help="a JSON list of objects")

    command("migrate", "Create the database or bring its schema up to date.")

    copy_db = command(
        "copy-db",
        "Copy the whole store into a new database, SQLite or PostgreSQL (safe while the bot runs).",
    )
    copy_db.add_argument(
        "--to",
        required=True,
        metavar="URL_OR_PATH",
        help="an empty PostgreSQL database (postgresql://user@host/name; give its password in "
        "PGPASSWORD rather than here) or a new SQLite file",
    )

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
        say(str(exc))
        return EXIT_UNUSABLE
    setup_logging(settings.logging.level, log_stream, settings.logging.format)
    try:
        return dispatch(args, settings)
    except (ConfigError, UsageError) as exc:
        say(str(exc))
        return EXIT_UNUSABLE
    except CommandFailed as exc:
        say(str(exc))
        return EXIT_REJECTED
    except WorkerDied as exc:
        say(f"{exc}; the batches stored so far are kept")
        return EXIT_REJECTED
    except sqlite3.Error as exc:
        path = settings.database.path or Path(settings.database.display)
        say(f"database {path}: {reason(exc, path)}")
        return EXIT_UNUSABLE
    except OSError as exc:
        if cannot_write(exc):
            raise  # the reader went away, a full disk: process.guard says so
        return _bug(exc)
    except Exception as exc:
        return _bug(exc)


def _bug(exc: Exception) -> int:
    """One line here, the traceback in a debug log."""
    log.debug("unexpected error", exc_info=True)
    say(
        f"unexpected error: {type(exc).__name__}: {exc} (a bug in Newsdesk; with "
        "logging.level: debug the log shows where)"
    )
    return EXIT_REJECTED


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    # Each command imports what it needs: `newsdesk health` should not load discord.py.
    if args.command == "ingest":
        from bot.cli.ingest import ingest_command

        return run_async(
            lambda: ingest_command(
                settings,
                args.paths,
                args.json,
                args.rescan,
                deliveries=args.deliveries,
                allow_withdrawals=args.allow_withdrawals,
            )
        )
    if args.command == "export":
        from bot.cli.export import export_command

        return run_async(
            lambda: export_command(settings, args.format, sys.stdout, deliveries=args.deliveries)
        )
    if args.command == "status":
        from bot.cli.status import status_command

        return run_async(lambda: status_command(settings, sys.stdout, as_json=args.json))
    if args.command == "migrate":
        from bot.cli.maintenance import migrate_command

        return run_async(lambda: migrate_command(settings))
    if args.command == "copy-db":
        from bot.cli.copy_db import copy_db_command, target_path

        path = target_path(args.to, settings.database)
        return run_async(lambda: copy_db_command(settings, args.to, path))
    if args.command == "backup":
        from bot.cli.maintenance import backup_command

        return backup_command(settings, args.target)
    if args.command == "health":
        from bot.cli.maintenance import health_command

        return health_command(settings)
    if args.command == "run" and args.dry_run:
        from bot.cli.dry_run import dry_run_command

        return run_async(lambda: dry_run_command(settings, sys.stdout))
    if args.command == "run":
        from bot.app import run_command

        return run_command(settings)
    if args.command == "sync":
        from bot.app import sync_command

        return sync_command(settings, args.guild)
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover
