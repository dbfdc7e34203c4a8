"""A git source's remote as git is given it: the URL without credentials, the Authorization
header made of them, what to redact from every message; the limits a fetch keeps; the error."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit


class GitError(Exception):
    """A git command failed; the message is one redacted line. ``local``: the checkout itself
    failed (not the remote), so cloning again may mend it; ``refused``: too large or too slow."""

    def __init__(self, message: str, *, local: bool = False, refused: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.local = local
        self.refused = refused  # too large or too slow: trying again from nothing cannot help


@dataclass(frozen=True, slots=True)
class GitPolicy:
    timeout: float = 30.0  # seconds, for each command that talks to the remote
    max_repo_bytes: int = 500 * 1024 * 1024
    user_agent: str = "Newsdesk"


@dataclass(frozen=True, slots=True)
class Remote:
    """A repository's URL split for git: the URL without its user part (given to git only
    through the environment), the Authorization header made of that user part, and what to
    hide in any message."""

    url: str
    header: str | None
    display: str  # how the source is shown
    secrets: tuple[str, ...]

    @classmethod
    def of(cls, url: str, display: str, secrets: Sequence[str] = ()) -> Remote:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "file"):
            raise GitError("only https:// and file:/// repositories are fetched")
        hidden = list(secrets)
        header = None
        userinfo, at, host = parts.netloc.rpartition("@")
        if at:
            user, _, password = userinfo.partition(":")
            user, password = unquote(user), unquote(password)
            hidden += [s for s in (password, userinfo) if s] + ([] if password else [user])
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            header = f"Authorization: Basic {token}"
            url = urlunsplit(parts._replace(netloc=host))
        ordered = tuple(sorted({s for s in hidden if len(s) >= 3}, key=len, reverse=True))
        return cls(url, header, display, ordered)

    def redact(self, text: str) -> str:
        for secret in (self.url, *self.secrets):
            if secret in text and secret != self.display:
                text = text.replace(secret, self.display if secret == self.url else "***")
        return text
