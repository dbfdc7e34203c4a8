"""``newsdesk export``: every stored article, in the source format, on stdout.

Reads only: the database is opened read-only, so a missing one is an error (never created)
and a backup copy or a read-only mount can be exported.
"""

from __future__ import annotations

import json
import logging
from typing import IO

from bot.cli.process import EXIT_OK
from bot.domain.export import article_to_source, to_json_ready, to_yaml_document
from bot.settings import Settings
from bot.store.articles import ArticleStore
from bot.store.db import Database

log = logging.getLogger(__name__)


async def export_command(
    settings: Settings, fmt: str, out: IO[str], *, deliveries: bool = False
) -> int:
    db = await Database.open_readonly(settings.database.path)
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
