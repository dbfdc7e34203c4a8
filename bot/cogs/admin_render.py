"""How /newsadmin reads its text options and how its answers look (no service calls)."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.domain.subscription_text import describe
from bot.domain.text import quality_text
from bot.services.admin import Preview, SubscriptionStatus


def topics_list(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    return tuple(t.strip() for t in text.split(",") if t.strip())


def when(moment: datetime | None) -> str:
    return f"<t:{int(moment.timestamp())}:R>" if moment else "—"


def status_lines(status: SubscriptionStatus) -> list[str]:
    sub = status.subscription
    lines = [f"**<#{sub.channel_id}>** — {status.standing}", f"  {describe(sub.spec)}"]
    if status.next_run:
        lines.append(f"  next run {when(status.next_run)}")
    for delivery, article in status.last_posts:
        title = article.title if article else f"article {delivery.article_id}"
        lines.append(
            f"  posted {when(delivery.sent_at)}: {discord.utils.escape_markdown(title)[:120]}"
        )
    lines.extend(f"  ⚠️ {note}" for note in status.notes)
    if status.edits_queued:
        posts = "post waits" if status.edits_queued == 1 else "posts wait"
        lines.append(f"  ✏️ {status.edits_queued} {posts} for an edit")
    if status.queued:
        lines.append(
            f"  queued: {len(status.queued)} — "
            + "; ".join(discord.utils.escape_markdown(a.title)[:80] for a in status.queued[:3])
        )
    return lines


def preview_embed(preview: Preview) -> discord.Embed:
    lines = []
    if preview.not_run:
        lines.append(f"⚠️ Nothing will be posted while {preview.not_run}.\n")
    lines.extend(f"⚠️ {note.capitalize()}." for note in preview.notes)
    lines.append(
        "**Next run would post:**" if preview.chosen else "**Next run would post nothing.**"
    )
    for chosen in preview.chosen:
        quality = quality_text(chosen.quality)
        title = discord.utils.escape_markdown(chosen.title)[:150]
        lines.append(f"• [{title}]({chosen.url}) — {quality}")
    if preview.near_misses:
        lines.append("\n**Near misses:**")
        for missed, url, reasons in preview.near_misses:
            title = discord.utils.escape_markdown(missed.title)[:120] if missed else url
            lines.append(f"• {title} — {', '.join(r.value for r in reasons)}")
    return discord.Embed(
        title=f"Preview: #{preview.subscription.channel_id}",
        description="\n".join(lines)[:4000],
        colour=0x2B6CB0,
    )
