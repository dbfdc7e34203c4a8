"""Reading the config file: YAML in, :class:`Settings` out, or every problem at once."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.domain.text import kind
from bot.domain.validation import problems
from bot.domain.values import snowflake
from bot.errors import ConfigError
from bot.settings.models import TOKEN_ENV, Settings
from bot.settings.references import expand, unset_line
from bot.settings.sources import expand_source_urls

DEFAULT_CONFIG_PATH = Path("config/config.yaml")
_TOKEN_KEYS = ("token", "discord_token")


def settings_from_mapping(
    raw: Any, environ: Mapping[str, str], config_path: Path | None = None
) -> Settings:
    """Validate the config file's content; the token is taken from ``environ`` only."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError([f"(top level): expected a mapping of sections, got {kind(raw)}"])
    data = dict(raw)
    found: list[str] = []
    if any(key in data for key in _TOKEN_KEYS):
        for key in _TOKEN_KEYS:
            data.pop(key, None)
        found.append(
            f"token: the Discord token is read only from the environment ({TOKEN_ENV}), "
            "never from the config file; remove it from the file"
        )
    if data.get("database") is None:
        data.pop("database", None)  # reported as missing, with what is required
    found = _shared_channels(data.get("subscriptions")) + found
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        found = problems(exc, Settings) + found
    else:
        sources, missing = expand_source_urls(settings.sources, environ)
        database = settings.database
        if database.url is not None:
            expanded = expand(database.url, environ, encode=True)
            missing += [unset_line("database.url", name) for name in expanded.missing]
            database = database.with_dsn(expanded.text, expanded.secrets)
        settings = settings.model_copy(update={"sources": tuple(sources), "database": database})
        found += missing
    if found:
        raise ConfigError(_in_file_order(found, list(raw)))
    return settings.with_origin(environ.get(TOKEN_ENV, "").strip() or None, config_path)


def _in_file_order(found: list[str], sections: list[Any]) -> list[str]:
    """Problems grouped by section, sections in the order the file has them, and a list's
    entries in their order (``subscriptions[1]`` before ``subscriptions[3]``)."""
    order = {str(key): n for n, key in enumerate(sections)}

    def place(line: str) -> tuple[int, int]:
        name = re.split(r"[.\[:]", line, maxsplit=1)[0]
        entry = re.match(rf"{re.escape(name)}\[(\d+)\]", line)
        return order.get(name, len(order)), int(entry.group(1)) if entry else -1

    return sorted(found, key=place)


def _shared_channels(entries: Any) -> list[str]:
    """One subscription per channel. Checked on the file's own entries rather than on the
    validated ones, so that it is reported along with any other problem."""
    if not isinstance(entries, list):
        return []
    first: dict[int, int] = {}
    found = []
    for n, entry in enumerate(entries):
        try:
            channel = snowflake(entry.get("channel_id")) if isinstance(entry, Mapping) else None
        except ValueError:
            channel = None  # reported by the model
        if channel is None:
            continue
        if channel in first:
            found.append(
                f"subscriptions[{n}].channel_id: channel {channel} already has a subscription "
                f"(subscriptions[{first[channel]}]); one subscription per channel"
            )
        else:
            first[channel] = n
    return found


def load_settings(
    path: Path = DEFAULT_CONFIG_PATH, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read and validate the config file; raise ConfigError listing every problem."""
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = ""
        if path == DEFAULT_CONFIG_PATH:
            hint = " (copy config/config.example.yaml to config/config.yaml, or pass --config PATH)"
        raise ConfigError([f"{path}: config file not found{hint}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([f"{path}: invalid YAML{where}: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None
    return settings_from_mapping(raw, env, config_path=path)
