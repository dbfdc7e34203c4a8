"""``newsdesk export``: every stored article, in the source format, on stdout; with
``--deliveries FILE``, every delivery record as JSON lines in FILE (keyed by article URL and
channel), which ``newsdesk ingest --deliveries FILE`` restores.

Reads only: the database is opened read-only, so a missing one is an error (never created)
and a backup copy or a read-only mount can be exported.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import IO

from bot.cli.files import check_new_file
from bot.cli.process import EXIT_OK
from bot.domain.delivery_records import to_line
from bot.domain.export import article_to_source, to_json_ready, to_yaml_document
from bot.settings import Settings
from bot.store.article_reads import ArticleReads
from bot.store.db import Database
from bot.store.outbox import Outbox

log = logging.getLogger(__name__)


async def export_command(
    settings: Settings, fmt: str, out: IO[str], *, deliveries: Path | None = None
) -> int:
    if deliveries is not None:
        check_new_file(deliveries)
    db = await Database.open_readonly(settings.database.sqlite("export"))
    try:
        count = await _articles(ArticleReads(db), fmt, out)
        if deliveries is not None:
            records = await _deliveries(Outbox(db), deliveries)
            log.info("wrote %d delivery records to %s", records, deliveries)
    finally:
        await db.close()
    log.info("exported %d articles as %s", count, fmt)
    return EXIT_OK


async def _articles(store: ArticleReads, fmt: str, out: IO[str]) -> int:
    count = 0
    if fmt == "json":
        out.write("[")
    async for article, posted in store.iter_all():
        source = article_to_source(article, posted=posted)
        if fmt == "json":
            out.write(",\n" if count else "\n")
            out.write(json.dumps(to_json_ready(source), ensure_ascii=False, indent=2))
        else:
            out.write(to_yaml_document(source))
        count += 1
    if fmt == "json":
        out.write("\n]\n" if count else "]\n")
    out.flush()
    return count


async def _deliveries(outbox: Outbox, path: Path) -> int:
    """Written to a temporary name, then renamed: FILE is never half written."""
    partial = path.with_name(f".{path.name}.partial")
    count = 0
    try:
        with partial.open("w", encoding="utf-8") as handle:
            async for record in outbox.records():
                handle.write(to_line(record) + "\n")
                count += 1
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return count
