"""``newsdesk run --dry-run``: the posts a run would make, and why nothing would go."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from tests.conftest import ROOT
from tests.test_cli import newsdesk

URL_ONLY = re.compile(r"^│?\s*(\[\w+\] )?https?://\S+$")


def bundled(tmp_path: Path, **changes: object) -> Path:
    """The bundled example config and samples, with subscription changes."""
    shutil.copytree(
        ROOT / "config", tmp_path / "config", ignore=shutil.ignore_patterns("config.yaml")
    )
    if changes:
        path = tmp_path / "config" / "config.example.yaml"
        config = yaml.safe_load(path.read_text())
        config["subscriptions"][0].update(changes)
        (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp_path


def assert_within_100_columns(text: str) -> None:
    for line in text.splitlines():
        assert len(line) <= 100 or URL_ONLY.match(line), line


def test_posts_are_shown_as_discord_shows_them(tmp_path: Path) -> None:
    done = newsdesk("run", "--dry-run", cwd=bundled(tmp_path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "3 posts would be made (dry run: nothing sent)" in out
    assert_within_100_columns(out)
    assert "](" not in out  # related coverage as titles, not [title](url)
    assert "\\" not in out  # no markdown escapes
    assert "Microsoft AI · AI | Quality 89 • 2 March 2021 at 14:01 UTC" in out
    assert (
        "• Microsoft launches Azure Arc machine learning and container services — VentureBeat"
        in out
    )
    assert "A dry run cannot see Discord" in out  # what it cannot know
    again = newsdesk("run", "--dry-run", cwd=tmp_path)
    assert again.stdout == out  # a dry run records nothing


def test_a_subscription_that_would_post_nothing_says_why(tmp_path: Path) -> None:
    done = newsdesk("run", "--dry-run", cwd=bundled(tmp_path, max_age="7d"))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "0 posts would be made" in out
    assert "channel 123456789012345678: nothing to post. Of the 12 nearest misses: 12 older" in out
    assert "below the minimum quality" in out
    assert (
        "  • Microsoft launches semantic search feature for enterprises and new form-recognizing "
        "features in\n    Azure (quality 89, 2 March 2021 at 14:01 UTC) — older than max_age"
    ) in out
    assert_within_100_columns(out)


def test_nothing_matching_and_switched_off_say_so(tmp_path: Path) -> None:
    done = newsdesk("run", "--dry-run", cwd=bundled(tmp_path, topics=["Astrology"]))
    assert done.returncode == 0, done.stderr
    assert " ERROR " not in done.stderr
    assert "0 posts would be made" in done.stdout
    assert "channel 123456789012345678: nothing to post: no stored article matches its topics" in (
        done.stdout
    )
    off = newsdesk("run", "--dry-run", cwd=bundled(tmp_path / "off", enabled=False))
    assert off.returncode == 0, off.stderr
    assert " ERROR " not in off.stderr
    assert "channel 123456789012345678: nothing (the subscription is switched off)" in off.stdout


def test_a_digest_subscription_shows_its_one_message(tmp_path: Path) -> None:
    done = newsdesk(
        "run", "--dry-run", cwd=bundled(tmp_path, mode="digest", digest_size=4, max_per_run=1)
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "1 post would be made (dry run: nothing sent)" in out
    assert out.count("│ → channel") == 1
    assert "│ News digest · " in out
    assert out.count("│ ■ ") == 4  # digest_size articles, max_per_run ignored
    assert "│ [🔗 1. " in out  # a related button per article that has any
    assert_within_100_columns(out)
