"""Canonical article URLs: the identity of an article."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2048
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")
# Already canonical: lower-case http(s) scheme and host, no port, no user, a path, no fragment.
_CANONICAL = re.compile(
    r"https?://[a-z0-9][a-z0-9.-]*/[^\s?#\x00-\x1f\x7f@]*"
    r"(?:\?[^\s#&\x00-\x1f\x7f]+(?:&[^\s#&\x00-\x1f\x7f]+)*)?\Z"
)


class InvalidURLError(ValueError):
    """The text is not an absolute http(s) URL."""


def canonical_url(url: str) -> str:
    """Normalise an article URL so that equal articles get equal identities.

    Scheme and host are lower-cased, a default port is dropped, the fragment and
    every ``utm_*`` query parameter are removed. Everything else (path, the
    order and spelling of the other parameters) is kept exactly as written.
    Raises :class:`InvalidURLError` for anything that is not an absolute
    http(s) URL with a host.
    """
    text = url.strip()
    if (
        _CANONICAL.match(text)
        and len(text) <= MAX_URL_LENGTH
        and "utm_" not in text.lower()
        and "%" not in text[: text.find("/", 8)]
    ):
        return text  # the common case, without the cost of urlsplit
    return normalise_url(text)


def normalise_url(text: str) -> str:
    """The full normalisation behind :func:`canonical_url` (which short-cuts canonical input)."""
    text = text.strip()
    if not text:
        raise InvalidURLError("empty URL")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidURLError(f"URL longer than {MAX_URL_LENGTH} characters")
    if _FORBIDDEN.search(text):
        raise InvalidURLError("URL contains whitespace or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidURLError(str(exc)) from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURLError(f"not an http(s) URL: {text[:80]!r}")
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidURLError(f"URL has no host: {text[:80]!r}")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    if parts.username is not None or parts.password is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{host}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    query = "&".join(
        p for p in parts.query.split("&") if p and not p.split("=", 1)[0].lower().startswith("utm_")
    )
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, query, ""))


def is_http_url(url: object) -> bool:
    """True when ``url`` is a string Discord accepts as an http(s) link."""
    if not isinstance(url, str):
        return False
    try:
        canonical_url(url)
    except InvalidURLError:
        return False
    return True


_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)([^/@?#]*)@", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with the secret of its user part replaced by ``***`` (``user:secret@`` keeps
    the user; a lone ``token@`` is all secret): how a source's URL is shown, logged, stored."""

    def hide(match: re.Match[str]) -> str:
        user, sep, _ = match.group(2).partition(":")
        return f"{match.group(1)}{user + ':***' if sep else '***'}@"

    return _USERINFO.sub(hide, url, count=1)


@dataclass(frozen=True)
class Dsn:
    """A database URL taken apart: how it is shown, the URL without any password (for a
    command line, where ``ps`` shows it), and the passwords, to be hidden in any message."""

    shown: str
    bare: str
    password: str | None
    secrets: tuple[str, ...]


def split_dsn(url: str) -> Dsn:
    """``postgresql://user:password@host/db?password=...``: a raw password may hold ``@`` or
    ``/``, so the user part ends at the last ``@``; a ``password=`` parameter is one too."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, remainder = rest.rpartition("@")
    if not sep or not at:
        userinfo, remainder = "", rest
    user, colon, password = userinfo.partition(":")
    base, question, query = remainder.partition("?")
    params = parse_qsl(query, keep_blank_values=True)
    secrets = [password] if colon and password else []
    secrets += [value for key, value in params if key == "password" and value]
    kept = urlencode([(k, v) for k, v in params if k != "password"])
    shown_query = "&".join(
        f"{k}={'***' if k == 'password' else quote(v, safe='')}" for k, v in params
    )
    login = f"{user}@" if at else ""
    bare = f"{scheme}{sep}{login}{base}" + (f"?{kept}" if kept else "")
    shown_login = f"{user}:***@" if colon else login
    shown = f"{scheme}{sep}{shown_login}{base}" + (f"?{shown_query}" if question else "")
    hidden = secrets + [unquote(s) for s in secrets]
    first = (unquote(password) if colon and password else None) or next(
        (v for k, v in params if k == "password" and v), None
    )
    return Dsn(shown, bare, first, tuple(sorted(set(hidden), key=len, reverse=True)))
