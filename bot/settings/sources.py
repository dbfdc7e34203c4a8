"""What the ``sources:`` entries and the ``fetch:`` section may be.

A source is a directory (``path``) or a web feed (``feed``). A feed's URL may hold
``${NAME}`` references to the environment, so that a token never sits in the file: the file's
text (the template) is what is shown and what identifies the source; the expanded URL is
only ever given to the fetcher (see :func:`expand_feed_urls`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, PrivateAttr, model_validator

from bot.domain.text import kind
from bot.domain.urls import redact_url
from bot.domain.validation import At, Strict
from bot.domain.values import Duration, Names, PathValue, Size, number, optional, text
from bot.net.addresses import Network, parse_networks

FEED_KEY_PREFIX = "feed:"  # a feed's key in the store: this, then its URL as shown
DEFAULT_FEED_INTERVAL = timedelta(minutes=15)
DEFAULT_FEED_QUALITY = 50
_FEED_KEYS = ("topics", "quality", "provider", "interval")
_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NOT_EXPANDABLE = frozenset({"DISCORD_TOKEN"})


def _source(value: Any) -> Any:
    if isinstance(value, str):
        return {"path": value}
    if not isinstance(value, Mapping):
        raise ValueError(f"expected {{path: ...}} or {{feed: ...}}, got {kind(value)}")
    if "git" in value:
        raise ValueError(
            "git sources are not supported by this version yet; clone the repository and "
            "use - path: <its folder>, or use the project's feed (- feed: <URL>)"
        )
    return value


def _quality(value: Any) -> float:
    quality = number(value)
    if not 0 <= quality <= 100:
        raise ValueError(f"must be from 0 to 100, got {value}")
    return quality


def _feed_url(value: Any) -> str:
    url = text(value)
    if not re.match(r"https?://", url, re.IGNORECASE):
        raise ValueError(f"expected an http:// or https:// URL, got {redact_url(url)!r}")
    for name in _REFERENCE.findall(url):
        if not _NAME.match(name):
            raise ValueError(f"${{{name}}} is not the name of an environment variable")
        if name in _NOT_EXPANDABLE:
            raise ValueError(f"${{{name}}} cannot be used in a URL (it is the bot's token)")
    return url


class SourceSettings(Strict):
    path: PathValue | None = None
    feed: Annotated[str | None, BeforeValidator(optional(_feed_url))] = None
    topics: Names = ()  # feeds: added to each item's own categories
    quality: Annotated[float, BeforeValidator(_quality)] = DEFAULT_FEED_QUALITY
    provider: Annotated[str | None, BeforeValidator(optional(text))] = None
    interval: Duration = DEFAULT_FEED_INTERVAL
    _url: str | None = PrivateAttr(default=None)  # the feed URL with ${NAME} expanded

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        data = _source(data)
        given = [key for key in ("path", "feed") if data.get(key) is not None]
        if len(given) > 1:
            raise ValueError("expected one of path: <folder> or feed: <URL>, not both")
        if not given:
            if set(data) - set(cls.model_fields):
                return data  # a misspelt key: reported as unknown, with the known ones
            raise ValueError("expected path: <folder> or feed: <URL>")
        if given == ["path"]:
            for key in _FEED_KEYS:
                if key in data:
                    raise At((key,), f"only for feed sources (this source is path: {data['path']})")
        return data

    @property
    def kind(self) -> str:
        return "feed" if self.feed is not None else "path"

    @property
    def display(self) -> str:
        """How the source is shown and named: the path, or the URL as written in the file
        (``${NAME}`` unexpanded) with any password in it replaced by ``***``."""
        if self.feed is not None:
            return redact_url(self.feed)
        return str(self.path)

    @property
    def key(self) -> str:
        """The source's identity in the store: stable when a referenced token changes."""
        if self.feed is not None:
            return f"{FEED_KEY_PREFIX}{self.display}"
        return f"path:{self.path}"

    @property
    def url(self) -> str:
        """The URL to fetch (secrets expanded): for the fetcher only, never shown."""
        if self.feed is None:
            raise ValueError("not a feed source")
        return self._url if self._url is not None else self.feed

    def with_url(self, url: str) -> SourceSettings:
        copy = self.model_copy()
        copy._url = url
        return copy


class FetchSettings(Strict):
    # CIDRs that config-file sources may fetch although private (e.g. [127.0.0.0/8] in tests)
    allow_networks: Annotated[
        tuple[Network, ...], BeforeValidator(lambda v: parse_networks(_cidrs(v)))
    ] = ()
    max_bytes: Size = 5 * 1024 * 1024
    timeout: Duration = timedelta(seconds=30)
    user_agent: Annotated[str | None, BeforeValidator(optional(text))] = None


def _cidrs(value: Any) -> Sequence[str]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of networks such as [127.0.0.0/8], got {kind(value)}")
    return value


def expand_feed_urls(
    sources: Sequence[SourceSettings], environ: Mapping[str, str]
) -> tuple[list[SourceSettings], list[str]]:
    """The sources with their feed URLs' ``${NAME}`` references expanded from ``environ``,
    and a problem line for each reference that is not set."""
    out: list[SourceSettings] = []
    found: list[str] = []
    for n, source in enumerate(sources):
        if source.feed is None:
            out.append(source)
            continue
        missing = [name for name in _REFERENCE.findall(source.feed) if not environ.get(name)]
        for name in dict.fromkeys(missing):
            found.append(
                f"sources[{n}].feed: ${{{name}}} is not set in the environment "
                f"(export {name}=... before starting Newsdesk)"
            )
        url = _REFERENCE.sub(lambda m: environ.get(m.group(1), ""), source.feed)
        out.append(source.with_url(url))
    return out, found


def source_paths(sources: Sequence[SourceSettings]) -> list[Path]:
    """The directories (and files) among the sources, in the config's order."""
    return [source.path for source in sources if source.path is not None]


def feed_sources(sources: Sequence[SourceSettings]) -> list[SourceSettings]:
    """The feeds among the sources, in the config's order (which is also their priority)."""
    return [source for source in sources if source.feed is not None]
