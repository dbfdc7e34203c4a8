"""Config: loaded once, every problem reported at once, the token only from the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.values import parse_duration, parse_size
from bot.errors import ConfigError
from bot.settings import load_settings, settings_from_mapping
from tests.conftest import ROOT

EXAMPLE = ROOT / "config" / "config.example.yaml"


def problems_of(raw: object, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw, environ or {})
    return info.value.problems


def test_the_example_config_loads_as_is() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert settings.database.path == Path("data/newsdesk.db")
    assert [s.path for s in settings.sources] == [Path("config/sample-news")]
    assert settings.ingest.interval == timedelta(minutes=10)
    assert settings.token is None
    (sub,) = settings.subscriptions
    assert sub.topics == ("AI", "Computer Vision")
    assert sub.max_age is None
    assert sub.interval == timedelta(minutes=30)


def test_minimal_config_is_only_the_database() -> None:
    settings = settings_from_mapping({"database": {"path": "x.db"}}, {})
    assert settings.sources == ()
    assert settings.subscriptions == ()
    assert settings.http is None
    assert settings_from_mapping({"database": {"path": "x.db"}, "sources": []}, {}).sources == ()


def test_database_is_required() -> None:
    required = "database.path (SQLite) or database.url (PostgreSQL) is required"
    assert problems_of({}) == [f"database: missing ({required})"]
    assert problems_of(None) == [f"database: missing ({required})"]
    assert problems_of({"database": {}}) == [f"database: {required}"]
    assert problems_of({"database": {"path": "x.db", "url": "postgresql://db/x"}}) == [
        f"database: {required}, not both"
    ]


def test_a_database_url_expands_its_references_and_shows_none_of_them() -> None:
    raw = {"database": {"url": "postgresql://newsdesk:${PGPASS}@db:5432/newsdesk"}}
    settings = settings_from_mapping(raw, {"PGPASS": "pa:ss/w@rd"})
    # the password as set, percent-encoded into the URL
    assert settings.database.dsn == "postgresql://newsdesk:pa%3Ass%2Fw%40rd@db:5432/newsdesk"
    assert settings.database.display == "postgresql://newsdesk:***@db:5432/newsdesk"
    assert set(settings.database.secrets) == {"pa:ss/w@rd", "pa%3Ass%2Fw%40rd"}
    assert settings.database.path is None
    assert problems_of(raw) == [
        "database.url: ${PGPASS} is not set in the environment (export PGPASS=... before "
        "starting Newsdesk)"
    ]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (
            "mysql://root:hunter2@db/x",
            "database.url: expected a postgresql:// URL such as "
            "postgresql://newsdesk@db:5432/newsdesk, got 'mysql://root:***@db/x'",
        ),
        (
            "postgresql://u:hunter2@db:99999/x",
            "database.url: Port out of range 0-65535 in 'postgresql://u:***@db:99999/x'",
        ),
        (
            "postgresql://u:${DISCORD_TOKEN}@db/x",
            "database.url: ${DISCORD_TOKEN} cannot be used in a URL (it is the bot's token)",
        ),
        (
            "postgresql://u:${not a name}@db/x",
            "database.url: ${not a name} is not the name of an environment variable",
        ),
        (42, "database.url: expected text, got the number 42"),
    ],
)
def test_a_database_url_that_cannot_be_used_is_refused_without_its_password(
    url: object, problem: str
) -> None:
    assert problems_of({"database": {"url": url}}) == [problem]


def test_the_commands_not_yet_on_postgresql_say_so() -> None:
    settings = settings_from_mapping({"database": {"url": "postgresql://db/x"}}, {})
    from bot.errors import UsageError

    with pytest.raises(UsageError, match=r"`newsdesk status` works on SQLite only so far"):
        settings.database.sqlite("status")


def test_every_problem_is_reported_at_once() -> None:
    raw = {
        "database": {"path": "x.db", "colour": "blue"},
        "sources": [{"path": "a"}, {"pth": "b"}, 42],
        "ingest": {
            "interval": "10 minutes",
            "workers": 0,
            "max_article_bytes": "huge",
            "withdraw_limit": 0.2,
        },
        "subscriptions": [
            {"channel_id": "abc", "min_quality": -1, "max_per_run": 0, "interval": "0s"},
            {"topics": "AI"},
            {"channel_id": 5, "interval": "1m", "cron": "* * * * *"},
            {"channel_id": 6, "cron": "61 * * * *", "interval": None, "timezone": "Mars/Base"},
            {"channel_id": 7, "thread": "sometimes", "thread_archive": "2h", "forum_tags": [1]},
            {"channel_id": 8, "on_removed": "shred", "mode": "daily", "digest_size": 11},
            {"channel_id": 9, "keywords": ["x" * 101], "exclude_keywords": "crypto"},
            {"channel_id": 10, "keywords": [str(n) for n in range(51)], "exclude_keywords": ["…"]},
        ],
        "moderation": {"moderator_role_ids": "123", "log_channel_id": 0},
        "logging": {"level": "loud"},
        "surprise": True,
    }
    problems = problems_of(raw)
    expected_prefixes = [
        "database.colour: unknown key",
        "sources[1].pth: unknown key",
        "sources[2]: expected {path: ...}",
        "ingest.interval: expected a duration",
        "ingest.max_article_bytes: expected a size",
        "ingest.workers: must be from 1 to 64",
        "ingest.withdraw_limit: expected a percentage such as 20%",
        "subscriptions[0].channel_id: expected a Discord id",
        "subscriptions[0].interval: must be at least 1s",
        "subscriptions[0].min_quality: must not be negative",
        "subscriptions[0].max_per_run: must be from 1 to 10",
        "subscriptions[1].channel_id: missing",
        "subscriptions[1].topics: expected a list such as [AI, Robotics]",
        "subscriptions[2].cron: give either interval or cron, not both",
        "subscriptions[3].cron: invalid cron expression",
        "subscriptions[3].timezone: unknown time zone 'Mars/Base'",
        "subscriptions[4].thread: expected true or false",
        "subscriptions[4].thread_archive: expected one of 1h, 1d, 3d, 7d, got text '2h'",
        "subscriptions[4].forum_tags: expected one of auto, none, got a list",
        "subscriptions[5].on_removed: expected one of keep, mark, delete, got text 'shred'",
        "subscriptions[5].mode: expected one of posts, digest, got text 'daily'",
        "subscriptions[5].digest_size: must be from 1 to 10",
        "subscriptions[6].keywords: an entry has at most 100 characters, got 101",
        "subscriptions[6].exclude_keywords: expected a list such as [AI, Robotics]",
        "subscriptions[7].keywords: at most 50 entries, got 51",
        "subscriptions[7].exclude_keywords: '…' has no word to look for",
        "moderation.moderator_role_ids: expected a list of Discord ids",
        "moderation.log_channel_id: expected a Discord id",
        "logging.level: expected one of debug, info, warning, error",
        "surprise: unknown key",
    ]
    for prefix in expected_prefixes:
        assert any(p.startswith(prefix) for p in problems), (prefix, problems)
    assert len(problems) == len(expected_prefixes), problems
    message = str(ConfigError(problems))
    assert message.startswith(f"configuration has {len(problems)} problems:")


def test_duplicate_channel_is_refused() -> None:
    raw = {
        "database": {"path": "x.db"},
        "subscriptions": [{"channel_id": 1}, {"channel_id": 1}],
    }
    assert problems_of(raw) == [
        "subscriptions[1].channel_id: channel 1 already has a subscription (subscriptions[0]); "
        "one subscription per channel"
    ]


def test_a_shared_channel_and_a_schedule_conflict_hide_no_other_problem() -> None:
    raw = {
        "database": {"path": "x.db"},
        "subscriptions": [
            {"channel_id": "abc", "interval": "5s", "cron": "0 9 * * *", "min_quality": -1},
            {"channel_id": 1, "max_age": "forever"},
            {"channel_id": "1", "interval": None},
            {"channel_id": 3, "max_age": "forever"},
        ],
        "logging": {"level": "loud"},
    }
    assert [p.split(":")[0] for p in problems_of(raw)] == [
        "subscriptions[0].channel_id",
        "subscriptions[0].min_quality",
        "subscriptions[0].cron",  # either interval or cron
        "subscriptions[1].max_age",
        "subscriptions[2].interval",  # an interval or a cron expression
        "subscriptions[2].channel_id",  # channel 1 already has a subscription
        "subscriptions[3].max_age",
        "logging.level",
    ]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            {"sources": "data/news"},
            "sources: expected a list (- path: data/news), got text 'data/news'",
        ),
        (
            {"subscriptions": {"channel_id": 5}},
            "subscriptions: expected a list (each item starting - channel_id: ...), got a mapping",
        ),
        ({"subscriptions": 5}, "subscriptions: expected a list"),
    ],
)
def test_a_list_written_as_one_value_is_refused_not_split_up(
    raw: dict[str, object], problem: str
) -> None:
    (found,) = problems_of({"database": {"path": "x.db"}, **raw})
    assert found.startswith(problem), found


def test_token_comes_only_from_the_environment_and_is_never_shown() -> None:
    settings = settings_from_mapping(
        {"database": {"path": "x.db"}}, {"DISCORD_TOKEN": "secret.token.value"}
    )
    assert settings.require_token() == "secret.token.value"
    assert "secret" not in repr(settings)
    assert "secret" not in str(settings.model_dump())
    assert "secret" not in settings.model_dump_json()
    problems = problems_of({"database": {"path": "x.db"}, "token": "abc"})
    assert any("only from the environment" in p for p in problems)
    assert not any("abc" in p for p in problems)


def test_require_token_points_at_dry_run() -> None:
    settings = settings_from_mapping({"database": {"path": "x.db"}}, {})
    with pytest.raises(ConfigError, match="--dry-run"):
        settings.require_token()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1), ("30s", 30), ("10m", 600), ("2h", 7200), ("7d", 604800), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0s", "10", "ten minutes", "5 parsecs", "", "-1m", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|at least"):
        parse_duration(text)


def test_sizes() -> None:
    assert parse_size(2048) == 2048
    assert parse_size("1MiB") == 1024 * 1024
    assert parse_size("64 KB") == 64000
    with pytest.raises(ValueError, match="at least"):
        parse_size(10)


def test_config_file_errors_are_readable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(missing, environ={})
    broken = tmp_path / "broken.yaml"
    broken.write_text("database:\n  path: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"invalid YAML at line \d+, column \d+"):
        load_settings(broken, environ={})
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_settings(listy, environ={})


def test_one_subscription_spec_from_the_config_file_and_from_discord() -> None:
    """The same defaults and rules wherever a subscription comes from; only the shortest
    interval differs (the config file may go down to 1s, for tests)."""
    from bot.domain.subscription import InvalidSpec, SubscriptionSpec

    settings = settings_from_mapping(
        {"database": {"path": "x.db"}, "subscriptions": [{"channel_id": 5}]}, {}
    )
    (from_config,) = settings.subscriptions
    from_discord = SubscriptionSpec.from_discord({"channel_id": 5})
    assert from_config == from_discord
    assert (from_discord.min_quality, from_discord.interval) == (0, timedelta(minutes=30))
    assert from_discord.max_age == timedelta(days=7)
    quick = settings_from_mapping(
        {"database": {"path": "x.db"}, "subscriptions": [{"channel_id": 5, "interval": "1s"}]}, {}
    )
    assert quick.subscriptions[0].interval == timedelta(seconds=1)
    with pytest.raises(InvalidSpec) as info:
        SubscriptionSpec.from_discord({"channel_id": 5, "interval": "1s", "max_per_run": 11})
    assert info.value.problems == [
        "max_per_run: must be from 1 to 10, got 11",
        "interval: must be from 1m to 7d, got '1s'",
    ]
    assert problems_of(
        {"database": {"path": "x.db"}, "subscriptions": [{"channel_id": 5, "max_per_run": 11}]}
    ) == ["subscriptions[0].max_per_run: must be from 1 to 10, got 11"]
    many = [f"topic {n}" for n in range(101)]
    assert problems_of(
        {"database": {"path": "x.db"}, "subscriptions": [{"channel_id": 5, "topics": many}]}
    ) == ["subscriptions[0].topics: at most 100 topics, got 101"]
    # a moderator's edit keeps a config file's short interval it does not touch
    edited = quick.subscriptions[0].changed({"min_quality": 50})
    assert (edited.interval, edited.min_quality) == (timedelta(seconds=1), 50)
    with pytest.raises(InvalidSpec):
        quick.subscriptions[0].changed({"interval": "30s"})


@pytest.mark.parametrize(
    ("value", "share"), [("20%", 0.2), ("0%", 0.0), ("100%", 1.0), (" 12.5 % ", 0.125)]
)
def test_withdraw_limit_is_a_percentage(value: str, share: float) -> None:
    raw = {"database": {"path": "x.db"}, "ingest": {"withdraw_limit": value}}
    assert settings_from_mapping(raw, {}).ingest.withdraw_limit == share


@pytest.mark.parametrize("value", ["120%", "20", 20, "-5%", None, "twenty%"])
def test_a_withdraw_limit_that_is_not_a_percentage_is_refused(value: object) -> None:
    (problem,) = problems_of({"database": {"path": "x.db"}, "ingest": {"withdraw_limit": value}})
    assert problem.startswith("ingest.withdraw_limit: ")
