"""A subscription's rules as one line of text (pure): answers, status and the audit log."""

from __future__ import annotations

from bot.domain.subscription import DEFAULT_EDIT_WINDOW, SubscriptionSpec
from bot.domain.values import format_duration


def describe(spec: SubscriptionSpec) -> str:
    """A subscription's rules in one line."""
    parts = [f"topics {', '.join(spec.topics)}" if spec.topics else "every topic"]
    if spec.exclude_topics:
        parts.append(f"not {', '.join(spec.exclude_topics)}")
    if spec.keywords:
        parts.append(f"with a keyword of {', '.join(spec.keywords)}")
    if spec.exclude_keywords:
        parts.append(f"without {', '.join(spec.exclude_keywords)}")
    parts.append(f"quality ≥ {spec.min_quality:g}")
    if spec.mode == "digest":
        parts.append(f"a digest of up to {spec.digest_size} per run")
    else:
        parts.append(f"up to {spec.max_per_run} per run")
    if spec.cron:
        parts.append(f"cron {spec.cron} ({spec.timezone})")
    elif spec.interval:
        parts.append(f"every {format_duration(spec.interval)}")
    parts.append(f"max age {format_duration(spec.max_age)}" if spec.max_age else "no age limit")
    if spec.quiet_hours:
        parts.append(f"quiet {spec.quiet_hours}")
    if spec.thread:
        parts.append(f"a thread on each post (archived after {spec.thread_archive} idle)")
    if spec.forum_tags == "none":
        parts.append("no forum tags")
    if not spec.edits:
        parts.append("posts never edited")
    elif spec.edit_window != DEFAULT_EDIT_WINDOW:
        window = spec.edit_window
        parts.append(
            f"posts edited while under {format_duration(window)} old"
            if window
            else "posts edited at any age"
        )
    if spec.on_removed == "mark":
        parts.append("posts marked when their article is withdrawn")
    elif spec.on_removed == "delete":
        parts.append("posts deleted when their article is withdrawn")
    return ", ".join(parts)
