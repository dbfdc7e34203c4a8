"""``newsdesk backup`` on PostgreSQL: ``pg_dump`` is the tool, so it is run when installed
(one consistent snapshot, taken while the bot runs) and explained when not."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from bot.cli.files import check_new_file
from bot.domain.urls import split_dsn
from bot.errors import CommandFailed, UsageError
from bot.settings import DatabaseSettings
from bot.store.postgres.database import hidden


def pg_dump(database: DatabaseSettings, target: Path) -> int:
    assert database.dsn is not None
    program = shutil.which("pg_dump")
    if program is None:
        raise UsageError(
            f"database {database.display}: on PostgreSQL a backup is pg_dump's job, and it is "
            f"not installed here: install PostgreSQL's client tools, or run `pg_dump "
            f"--format=custom --file={target} <database URL>` where they are"
        )
    check_new_file(target)
    dsn = split_dsn(database.dsn)
    url, password = dsn.bare, dsn.password
    secrets = (*database.secrets, *dsn.secrets)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    partial = target.with_name(f".{target.name}.partial")
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 - our arguments, no shell
            [program, "--format=custom", f"--file={partial}", f"--dbname={url}"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            why = hidden(lines[-1] if lines else f"exit status {done.returncode}", secrets)
            raise CommandFailed(f"pg_dump could not back up {database.display}: {why}")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    print(
        f"backed up {database.display} to {target} with pg_dump (custom format: restore with "
        f"pg_restore): {target.stat().st_size / 1e6:.1f} MB ({time.monotonic() - started:.1f}s)"
    )
    return 0
