"""``newsdesk status``: what each subscription is doing, in one screen, from the database.

Reads only (the database is opened read-only; Discord is not needed). ``--json`` prints a list
of objects with the same facts.
"""

from __future__ import annotations

import json
from datetime import datetime
from itertools import groupby
from typing import IO

from bot.cli.process import EXIT_OK
from bot.domain.subscription import FIRST_RUN_DELAY, State
from bot.services.publishing.guilds import GuildPolicy
from bot.services.publishing.offline import OfflinePoster
from bot.services.publishing.selector import ELIGIBLE_CAP
from bot.services.sources.status_text import state_line
from bot.services.status import Status, StatusService
from bot.settings import Settings, SourceSettings
from bot.settings.sources import feed_sources, git_sources
from bot.store.db import Database
from bot.store.server_sources import ServerSource
from bot.store.sources import SourceState
from bot.store.times import utcnow
from bot.wiring import guild_policy, selector, stores_of

COLUMNS = ("channel", "state", "last run", "last post", "next run", "pending", "eligible")
WIDTHS = (18, 6, 11, 11, 11, 16, 8)


async def status_command(settings: Settings, out: IO[str], *, as_json: bool) -> int:
    db = await Database.open_readonly(settings.database.sqlite("status"))
    try:
        stores = stores_of(db, settings)
        guilds = guild_policy(settings, stores, OfflinePoster())
        service = StatusService(
            stores.subscriptions, stores.outbox, guilds, selector(settings, stores), utcnow
        )
        statuses = await service.statuses()
        if as_json:
            out.write(json.dumps([s.as_dict() for s in statuses], indent=2) + "\n")
        else:
            out.write(await render(statuses, guilds, utcnow()))
            gits, feeds = git_sources(settings.sources), feed_sources(settings.sources)
            known = {state.key: state for state in await stores.sources.all()}
            if gits:
                out.write(render_sources("Git sources", gits, known, utcnow()))
            if feeds:
                out.write(render_sources("Feeds", feeds, known, utcnow()))
            servers = await stores.server_sources.everyone()
            if servers:
                out.write(render_server_sources(servers, utcnow()))
        out.flush()
    finally:
        await db.close()
    return EXIT_OK


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    return f"{moment:%m-%d %H:%M}" if moment.year == now.year else f"{moment:%Y-%m-%d}"


def _next(status: Status, now: datetime) -> str:
    if status.next_run is None:
        return "—"
    if status.next_run - now <= FIRST_RUN_DELAY:
        return "due now"
    return _when(status.next_run, now)


def render_sources(
    title: str, feeds: list[SourceSettings], known: dict[str, SourceState], now: datetime
) -> str:
    """One line per configured feed or git source (bot.services.sources.status_text)."""
    lines = ["", title]
    for feed in feeds:
        lines.append(
            f"  {feed.display}: {state_line(known.get(feed.key), lambda m: _when(m, now))}"
        )
    return "\n".join(lines) + "\n"


def render_server_sources(sources: list[tuple[ServerSource, SourceState]], now: datetime) -> str:
    """The feeds servers added from Discord, grouped by server."""
    lines = ["", "Feeds added from Discord"]
    for guild_id, group in groupby(sources, key=lambda pair: pair[0].guild_id):
        lines.append(f"  server {guild_id}")
        for source, state in group:
            lines.append(f"    {source.url}: {state_line(state, lambda m: _when(m, now))}")
    return "\n".join(lines) + "\n"


def _row(cells: tuple[str, ...]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, WIDTHS, strict=True)).rstrip()


async def render(statuses: list[Status], guilds: GuildPolicy, now: datetime) -> str:
    if not statuses:
        return (
            "No subscriptions in the database: they come from the config file's "
            "subscriptions: and from /newsadmin subscribe.\n"
        )
    lines = [f"Subscriptions at {now:%Y-%m-%d %H:%M} UTC (times are UTC)"]
    ordered = sorted(statuses, key=lambda s: (s.guild_id or 0, s.channel_id))
    for guild_id, group in groupby(ordered, key=lambda s: s.guild_id):
        switch = "on" if await guilds.publishing_enabled(guild_id) else "off"
        server = f"server {guild_id}" if guild_id else "server not known yet"
        lines += ["", f"{server} (publishing {switch})", "  " + _row(COLUMNS)]
        for status in group:
            pending = str(status.pending)
            if status.retrying:
                pending += f" ({status.retrying} retrying)"
            eligible = f"{ELIGIBLE_CAP}+" if status.eligible_capped else str(status.eligible)
            cells = (
                str(status.channel_id),
                status.state.value,
                _when(status.last_run, now),
                _when(status.last_post, now),
                _next(status, now),
                pending,
                eligible,
            )
            lines.append("  " + _row(cells))
            if status.state is not State.ON and status.reason:
                lines.append(f"  {'':18}  {status.reason}"[:100])
            if status.edits_queued:
                posts = "post waits" if status.edits_queued == 1 else "posts wait"
                lines.append(f"  {'':18}  {status.edits_queued} {posts} for an edit")
    return "\n".join(lines) + "\n"
