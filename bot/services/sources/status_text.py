"""A source's fetch state in one line, the same for ``newsdesk status`` and /newsadmin sources
(each renders moments its own way: ``when``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.store.sources import SourceState


def state_line(state: SourceState | None, when: Callable[[datetime | None], str]) -> str:
    """Its last fetch, what it brought (a git source: up to which commit), its next fetch."""
    if state is None or state.last_fetch_at is None:
        return "not fetched yet"
    http = f" (HTTP {state.http_status})" if state.http_status else ""
    what = f"{state.outcome}{http} {when(state.last_fetch_at)}"
    if state.disabled_at is not None:
        what = f"disabled since {when(state.disabled_at)}: {state.error}"
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
        what += f"; next {when(state.next_fetch_at)}"
    if state.permanent_url:
        what += f"; moved permanently to {state.permanent_url}"
    return what
