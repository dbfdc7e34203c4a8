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
from bot.services.status import Status, StatusService
from bot.settings import Settings, SourceSettings
from bot.settings.sources import feed_sources, git_sources
from bot.store.db import Database
from bot.store.sources import SourceState
from bot.store.times import utcnow
from bot.wiring import guild_policy, selector, stores_of

COLUMNS = ("channel", "state", "last run", "last post", "next run", "pending", "eligible")
WIDTHS = (18, 6, 11, 11, 11, 16, 8)


async def status_command(settings: Settings, out: IO[str], *, as_json: bool) -> int:
    db = await Database.open_readonly(settings.database.path)
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
            if gits or feeds:
                known = {state.key: state for state in await stores.sources.all()}
                if gits:
                    out.write(render_sources("Git sources", gits, known, utcnow()))
                if feeds:
                    out.write(render_sources("Feeds", feeds, known, utcnow()))
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
    """One line per configured feed or git source: its last fetch, what it brought (a git
    source: up to which commit), its next fetch."""
    lines = ["", title]
    for feed in feeds:
        state = known.get(feed.key)
        if state is None or state.last_fetch_at is None:
            lines.append(f"  {feed.display}: not fetched yet")
            continue
        http = f" (HTTP {state.http_status})" if state.http_status else ""
        what = f"{state.outcome}{http} {_when(state.last_fetch_at, now)}"
        if state.disabled_at is not None:
            what = f"disabled since {_when(state.disabled_at, now)}: {state.error}"
        elif state.outcome == "failed":
            times = "once" if state.failures == 1 else f"{state.failures} times in a row"
            what = f"failed {times}{http}: {state.error}"
        elif state.outcome == "ok":
            what += f": {state.items_new} new, {state.items_updated} updated"
            if state.items_withdrawn:
                what += f", {state.items_withdrawn} withdrawn"
            if state.items_rejected:
                what += f", {state.items_rejected} rejected"
            if state.error:  # a refused withdrawal
                what += f" ({state.error})"
        if state.git_commit is not None:
            what += f"; at commit {state.git_commit[:12]}"
        if state.disabled_at is None:
            what += f"; next {_when(state.next_fetch_at, now)}"
        if state.permanent_url:
            what += f"; moved permanently to {state.permanent_url}"
        lines.append(f"  {feed.display}: {what}")
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
