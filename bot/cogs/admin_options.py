"""The options /newsadmin subscribe and edit share: their types, choices and help texts.

Discord checks ranges and choices before a command reaches us; the spec checks them again (and
says why), so they come from it: a range or default written twice drifts.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.domain.subscription import (
    DEFAULT_DIGEST_SIZE,
    FORUM_TAGS,
    MAX_DIGEST_SIZE,
    MAX_PER_RUN,
    MODES,
    ON_REMOVED,
    THREAD_ARCHIVE_MINUTES,
)

Quality = app_commands.Range[float, 0, None]
PerRun = app_commands.Range[int, 1, MAX_PER_RUN]
DigestSize = app_commands.Range[int, 1, MAX_DIGEST_SIZE]
KeywordText = app_commands.Range[str, 1, 1000]
Duration = app_commands.Range[str, 2, 20]
TopicText = app_commands.Range[str, 1, 500]
ARCHIVE_CHOICES = [app_commands.Choice(name=n, value=n) for n in THREAD_ARCHIVE_MINUTES]
TAG_CHOICES = [app_commands.Choice(name=n, value=n) for n in FORUM_TAGS]
REMOVED_CHOICES = [app_commands.Choice(name=n, value=n) for n in ON_REMOVED]
MODE_CHOICES = [app_commands.Choice(name=n, value=n) for n in MODES]
# A subscription's channel: text and announcement channels, forums and media channels (which
# discord.py types as forums).
Channel = discord.TextChannel | discord.ForumChannel

THREAD_HELP = "Text/announcement channels: start a discussion thread on each post"
ARCHIVE_HELP = "When an idle thread or forum post is archived"
TAGS_HELP = "Forums: auto = the tags named like the article's topics; none = no tags"
EDITS_HELP = "Edit posts when their article changes"
EDIT_WINDOW_HELP = "Edit only posts younger than this, e.g. 7d, or none for no limit"
REMOVED_HELP = "When an article leaves its source: keep its posts, mark them, or delete them"
KEYWORDS_HELP = 'Post only articles whose title or excerpt has one: words or "quoted phrases"'
EXCLUDE_KEYWORDS_HELP = 'Never post articles whose title or excerpt has one: words or "phrases"'
MODE_HELP = "posts: a message per article; digest: one message per run with its best articles"
DIGEST_SIZE_HELP = f"Digest mode: at most this many articles in one message (1-{MAX_DIGEST_SIZE})"
DIGEST_SIZE_DEFAULT = f" (default {DEFAULT_DIGEST_SIZE})"


def post_options(
    thread: bool | None,
    thread_archive: app_commands.Choice[str] | None,
    forum_tags: app_commands.Choice[str] | None,
    edits: bool | None,
    edit_window: str | None,
    on_removed: app_commands.Choice[str] | None,
    mode: app_commands.Choice[str] | None,
    digest_size: int | None,
) -> dict[str, Any]:
    """The options of how posts look and live (threads, tags, edits, withdrawals, digests)
    that were given."""
    given = {
        "thread": thread,
        "thread_archive": thread_archive.value if thread_archive else None,
        "forum_tags": forum_tags.value if forum_tags else None,
        "edits": edits,
        "edit_window": edit_window,
        "on_removed": on_removed.value if on_removed else None,
        "mode": mode.value if mode else None,
        "digest_size": digest_size,
    }
    return {key: value for key, value in given.items() if value is not None}
