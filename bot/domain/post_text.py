"""A post as plain text, the way Discord shows it, for ``newsdesk run --dry-run`` (pure).

Lines stay within :data:`WIDTH` columns: text is wrapped at words, and a word too long for a
line (a URL) gets a line of its own rather than being cut. Markdown is shown as Discord
renders it: escapes dropped, links as their titles. Dates read as in the client.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.domain.posts import PostSpec

WIDTH = 100
_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\((?:[^()\s]|%28|%29)+\)")
_ESCAPE = re.compile(r"\\(.)")


def unmarkdown(text: str) -> str:
    """What Discord displays for Newsdesk's markdown: ``[title](url)`` as the title, ``\\*``
    as ``*``."""
    return _ESCAPE.sub(r"\1", _LINK.sub(lambda m: m.group(1), text))


def shown_date(moment: datetime) -> str:
    """An embed timestamp as the Discord client shows it (here in UTC)."""
    utc = moment.astimezone(UTC)
    return f"{utc.day} {utc:%B %Y} at {utc:%H:%M} UTC"


def wrap(text: str, width: int, first: str = "", rest: str | None = None) -> list[str]:
    """Words of ``text`` in lines of at most ``width`` columns, each line starting with
    ``first`` (the first one) or ``rest``; a word that cannot fit stands on a line alone."""
    rest = first if rest is None else rest
    lines: list[str] = []
    line = first
    empty = True
    for word in text.split():
        prefix_only = empty
        candidate = f"{line}{word}" if prefix_only else f"{line} {word}"
        if len(candidate) <= width or prefix_only:
            line, empty = candidate, False
            continue
        lines.append(line)
        line, empty = f"{rest}{word}", False
    if not empty:
        lines.append(line)
    return lines


def render_text(post: PostSpec, channel: str, width: int = WIDTH) -> str:
    """A post, boxed: what would go to ``channel``, in at most ``width`` columns a line."""
    bar = "─" * (width - 1)
    inner = width
    out = [f"┌{bar}", f"│ → {channel}"]
    if post.content:
        shown = unmarkdown(post.content.replace("**", ""))  # a digest's bold title
        out.append(f"│ {shown}" + (" (mention)" if post.mention_role_id else ""))
    for n, embed in enumerate(post.embeds):
        if n:
            out.append("│ " + "┄" * (width - 3))
        out += _embed_lines(embed, inner)
    buttons = []
    if post.link_button:
        buttons.append(f"[{post.link_button.label} ↗]")
    if post.related_button_id:
        buttons.append("[🔗 Related coverage]")
    if buttons:
        out.append("│ " + "  ".join(buttons))
    out += [f"│ [{choice.label}]" for choice in post.related_buttons]  # a digest's, one a line
    out.append(f"└{bar}")
    return "\n".join(out)


def _embed_lines(embed: dict[str, Any], inner: int) -> list[str]:
    out: list[str] = []
    if author := embed.get("author"):
        out += wrap(author["name"], inner, "│ ")
    out += wrap(unmarkdown(embed["title"]), inner, "│ ■ ", "│   ")
    if "url" in embed:
        out.append(f"│   {embed['url']}")
    if description := embed.get("description"):
        out += wrap(unmarkdown(description), inner, "│ ")
    for item in embed.get("fields", []):
        out.append(f"│ {unmarkdown(item['name'])}:")
        for line in item["value"].splitlines():
            out += wrap(unmarkdown(line), inner, "│   ", "│     ")
    media = embed.get("image") or embed.get("thumbnail")
    if media:
        out += wrap(f"[{'image' if 'image' in embed else 'thumbnail'}] {media['url']}", inner, "│ ")
    when = shown_date(datetime.fromisoformat(embed["timestamp"]))
    out += wrap(f"{unmarkdown(embed['footer']['text'])} • {when}", inner, "│ ", "│   ")
    return out
