"""When a posted message needs an edit (pure): the digest of what a post shows.

A post is edited when a re-ingest changes what its message shows of the article: the title,
the excerpt, the picture, the link, the provider (name, site, icon) and the related coverage it
lists. Not part of it, so a change of them alone costs no edit (the next edit for another
reason shows them as they are then):

* the quality figure and the topics in the footer: sources re-score articles on every update,
  and an edit per post for a figure that moved by one would spend Discord's edit budget on
  nothing a reader acts on;
* the published date (the embed's timestamp), the heat, the body and fields the post does not
  show;
* related coverage beyond the few items a post lists, and how long the excerpt is cut in a
  channel (the digest sees the whole excerpt, so one edit may change nothing visible).

Ingest stores the digest with the article; the publisher records, per delivery, the digest of
the version it showed. Both compute it here, from the same fields, so they agree for an
article read back from the store (a test holds them to it).
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.models import Article
from bot.domain.posts import RELATED_LINKS, one_line, related_line, safe_url, video_thumbnail


def shown_digest(article: Article) -> str:
    """A 32-hex-digit digest of what a post of ``article`` shows (see the module doc)."""
    provider = article.provider
    video = article.type.lower() == "video"
    related = [line for item in article.related if (line := related_line(item))]
    shown = [
        one_line(article.title),
        one_line(article.excerpt or ""),
        safe_url(article.url),
        video,
        safe_url(video_thumbnail(article) if video else article.image_url),
        provider.name if provider else None,
        provider.domain if provider else None,
        provider.icon_url if provider else None,
        related[:RELATED_LINKS],
    ]
    text = json.dumps(shown, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


# What a delivery records as shown once its post says the source withdrew the article.
WITHDRAWN_SHOWN = "withdrawn"


class Action(enum.Enum):
    NOTHING = "nothing"  # the post stays as it is
    EDIT = "edit"  # show the article as it is now
    MARK = "mark"  # say that the source withdrew it (on_removed: mark)
    DELETE = "delete"  # delete the post (on_removed: delete)


def next_action(
    *, withdrawn: bool, on_removed: str, edits: bool, post_shows: str | None, article_shows: str
) -> Action:
    """What a queued post needs. A withdrawn article's post is acted on as ``on_removed``
    says, even with edits off and at any age; a marked post whose article came back shows it
    again, likewise. Otherwise an edit when edits are on and the post shows something else."""
    if withdrawn:
        if on_removed == "delete":
            return Action.DELETE
        if on_removed == "mark" and post_shows != WITHDRAWN_SHOWN:
            return Action.MARK
        return Action.NOTHING
    if post_shows == WITHDRAWN_SHOWN:
        return Action.EDIT
    if not edits or post_shows == article_shows:
        return Action.NOTHING
    return Action.EDIT


def digest_action(actions: Sequence[Action]) -> Action:
    """What a digest needs, from what each of its articles' posts would: deleted when every
    one would be, else rendered again as a whole when any would change (a deletion among
    others acts as a mark), else nothing."""
    if actions and all(a is Action.DELETE for a in actions):
        return Action.DELETE
    if any(a is not Action.NOTHING for a in actions):
        return Action.EDIT
    return Action.NOTHING


def edit_cutoff(window: timedelta | None, now: datetime) -> datetime | None:
    """Posts sent before this are no longer edited (``edit_window``); None: no limit."""
    return None if window is None else now - window
