"""What the ``sources:`` entries and the ``fetch:`` and ``git:`` sections may be.

A source is a directory (``path``), a git repository (``git``) or a web feed (``feed``). A
git or feed URL may hold ``${NAME}`` references to the environment, so that a token never sits
in the file: the file's text (the template) is what is shown and what identifies the source;
the expanded URL is only ever given to the fetcher (see :func:`expand_source_urls`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PrivateAttr, model_validator

from bot.domain.text import kind
from bot.domain.urls import redact_url
from bot.domain.validation import At, Strict
from bot.domain.values import (
    Duration,
    Names,
    PathValue,
    Size,
    number,
    optional,
    text,
    whole_number,
)
from bot.net.addresses import Network, parse_networks
from bot.settings.references import checked_references, expand, unset_line

FEED_KEY_PREFIX = "feed:"  # a feed's key in the store: this, then its URL as shown
GIT_KEY_PREFIX = "git:"  # a git source's key in the store: this, then its URL as shown
DEFAULT_FEED_INTERVAL = timedelta(minutes=15)
DEFAULT_GIT_INTERVAL = timedelta(hours=1)
DEFAULT_FEED_QUALITY = 50
_ONLY_FOR = {  # keys that only some kinds of source take
    "topics": ("feed",),
    "quality": ("feed",),
    "provider": ("feed",),
    "interval": ("feed", "git"),
    "branch": ("git",),
    "paths": ("git",),
}
_KINDS = ("path", "git", "feed")
_EXPECTED = "expected path: <folder>, git: <repository URL> or feed: <URL>"
_BRANCH = re.compile(r"(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/+-]+(?<![./])\Z")


def _source(value: Any) -> Any:
    if isinstance(value, str):
        return {"path": value}
    if not isinstance(value, Mapping):
        raise ValueError(
            f"expected {{path: ...}}, {{git: ...}} or {{feed: ...}}, got {kind(value)}"
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
    return checked_references(url)


def _git_url(value: Any) -> str:
    url = text(value)
    if re.match(r"https://[^/\s]", url, re.IGNORECASE) or re.match(r"file:///", url):
        return checked_references(url)
    if re.match(r"[\w.-]+@[\w.-]+:|ssh://", url, re.IGNORECASE):
        hint = "ssh is not supported: use the repository's https:// URL"
    else:
        hint = "only https:// and file:/// repositories are fetched"
    raise ValueError(f"{hint}, got {redact_url(url)!r}")


def _branch(value: Any) -> str:
    branch = text(value)
    if not _BRANCH.match(branch) or branch.endswith(".lock"):
        raise ValueError(f"not a branch name: {branch!r}")
    return branch


def _repo_paths(value: Any) -> tuple[str, ...]:
    """Parts of a repository, as relative folders or files (``_news``, ``a/b.md``)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of folders such as [_news], got {kind(value)}")
    out = []
    for item in value:
        parts = [p for p in item.strip().replace("\\", "/").split("/") if p not in ("", ".")]
        if item.strip().startswith("/") or ".." in parts or not parts:
            raise ValueError(f"expected a folder inside the repository, got {item!r}")
        out.append("/".join(parts))
    return tuple(dict.fromkeys(out))


class SourceSettings(Strict):
    path: PathValue | None = None
    git: Annotated[str | None, BeforeValidator(optional(_git_url))] = None
    feed: Annotated[str | None, BeforeValidator(optional(_feed_url))] = None
    branch: Annotated[str | None, BeforeValidator(optional(_branch))] = None  # None: the default
    paths: Annotated[tuple[str, ...], BeforeValidator(_repo_paths)] = ()  # git: (): all of it
    topics: Names = ()  # feeds: added to each item's own categories
    quality: Annotated[float, BeforeValidator(_quality)] = DEFAULT_FEED_QUALITY
    provider: Annotated[str | None, BeforeValidator(optional(text))] = None
    interval: Duration = DEFAULT_FEED_INTERVAL  # git sources: DEFAULT_GIT_INTERVAL
    _url: str | None = PrivateAttr(default=None)  # the URL with ${NAME} expanded
    _secrets: tuple[str, ...] = PrivateAttr(default=())  # what the references expanded to

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        data = _source(data)
        given = [key for key in _KINDS if data.get(key) is not None]
        if len(given) > 1:
            raise ValueError(f"{_EXPECTED}, one of them only (got {' and '.join(given)})")
        if not given:
            if set(data) - set(cls.model_fields):
                return data  # a misspelt key: reported as unknown, with the known ones
            raise ValueError(_EXPECTED)
        source_kind = given[0]
        for key, kinds in _ONLY_FOR.items():
            if key in data and source_kind not in kinds:
                raise At(
                    (key,),
                    f"only for {' and '.join(kinds)} sources "
                    f"(this source is {source_kind}: {redact_url(str(data[source_kind]))})",
                )
        if source_kind == "git" and data.get("interval") is None:
            data = {**data, "interval": DEFAULT_GIT_INTERVAL}
        return data

    @property
    def kind(self) -> str:
        if self.git is not None:
            return "git"
        return "feed" if self.feed is not None else "path"

    @property
    def template(self) -> str | None:
        """The URL as written in the file (``${NAME}`` unexpanded), for git and feed sources."""
        return self.git if self.git is not None else self.feed

    @property
    def display(self) -> str:
        """How the source is shown and named: the path, or the URL as written in the file
        (``${NAME}`` unexpanded) with any password in it replaced by ``***``."""
        template = self.template
        if template is not None:
            return redact_url(template)
        return str(self.path)

    @property
    def key(self) -> str:
        """The source's identity in the store: stable when a referenced token changes."""
        if self.git is not None:
            return f"{GIT_KEY_PREFIX}{self.display}"
        if self.feed is not None:
            return f"{FEED_KEY_PREFIX}{self.display}"
        return f"path:{self.path}"

    @property
    def url(self) -> str:
        """The URL to fetch (secrets expanded): for the fetcher only, never shown."""
        template = self.template
        if template is None:
            raise ValueError("not a git or feed source")
        return self._url if self._url is not None else template

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values the URL's ``${NAME}`` references expanded to: hidden in any message."""
        return self._secrets

    def with_url(self, url: str, secrets: Sequence[str] = ()) -> SourceSettings:
        copy = self.model_copy()
        copy._url = url
        copy._secrets = tuple(sorted(set(secrets), key=len, reverse=True))
        return copy


class FetchSettings(Strict):
    # CIDRs that config-file sources may fetch although private (e.g. [127.0.0.0/8] in tests)
    allow_networks: Annotated[
        tuple[Network, ...], BeforeValidator(lambda v: parse_networks(_cidrs(v)))
    ] = ()
    max_bytes: Size = 5 * 1024 * 1024
    max_repo_bytes: Size = 500 * 1024 * 1024  # a git source larger than this is refused
    timeout: Duration = timedelta(seconds=30)
    user_agent: Annotated[str | None, BeforeValidator(optional(text))] = None
    # feeds one server may add from Discord (/newsadmin source add)
    max_sources_per_server: Annotated[int, BeforeValidator(whole_number), Field(ge=0, le=1000)] = 50


class GitSettings(Strict):
    checkouts: PathValue | None = None  # where git sources are checked out; None: next to the DB


def _cidrs(value: Any) -> Sequence[str]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of networks such as [127.0.0.0/8], got {kind(value)}")
    return value


def expand_source_urls(
    sources: Sequence[SourceSettings], environ: Mapping[str, str]
) -> tuple[list[SourceSettings], list[str]]:
    """The sources with their git and feed URLs' ``${NAME}`` references expanded from
    ``environ``, and a problem line for each reference that is not set."""
    out: list[SourceSettings] = []
    found: list[str] = []
    for n, source in enumerate(sources):
        template = source.template
        if template is None:
            out.append(source)
            continue
        expanded = expand(template, environ)
        found += [unset_line(f"sources[{n}].{source.kind}", name) for name in expanded.missing]
        out.append(source.with_url(expanded.text, expanded.secrets))
    return out, found


def source_paths(sources: Sequence[SourceSettings]) -> list[Path]:
    """The directories (and files) among the sources, in the config's order."""
    return [source.path for source in sources if source.path is not None]


def git_sources(sources: Sequence[SourceSettings]) -> list[SourceSettings]:
    """The git repositories among the sources, in the config's order."""
    return [source for source in sources if source.git is not None]


def feed_sources(sources: Sequence[SourceSettings]) -> list[SourceSettings]:
    """The feeds among the sources, in the config's order (which is also their priority)."""
    return [source for source in sources if source.feed is not None]
