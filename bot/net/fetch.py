"""Fetching a URL that someone typed: safe against SSRF, bounded in size and time, polite.

* http and https only. Every host is resolved by a resolver that drops the addresses
  bot.net.addresses refuses, and aiohttp connects to what that resolver returned, so the
  address checked is the address connected to (no DNS rebinding in between); an IP-literal
  host, which aiohttp does not resolve, is checked before the request.
* Redirects are followed here, not by aiohttp: at most ``max_redirects``, each target checked
  the same way; credentials in the URL go only to the host they were written for.
* The body is read in chunks after decompression and cut off past ``max_bytes`` (a gzip bomb
  never grows beyond that); the whole fetch, every hop and the body, has one ``timeout`` (the
  wait for a host's turn aside).
* Conditional GET with the validators of the last answer; at most ``per_host`` requests at
  a time to one host; ``Retry-After`` read on 429 and 503.
* Nothing raises but a cancellation: every failure is a FetchResult with a one-line error
  that never holds the URL (which may carry a token) — the caller names the source.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import socket
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, Protocol

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from bot.domain.values import format_size
from bot.net.addresses import Network, refusal

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 6 * 3600.0
CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allow_networks: tuple[Network, ...] = ()
    max_bytes: int = 5 * 1024 * 1024  # of the body after decompression
    timeout: float = 30.0  # seconds, for the whole fetch
    user_agent: str = "Newsdesk"
    max_redirects: int = 5
    per_host: int = 2


@dataclass(frozen=True, slots=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    outcome: Literal["ok", "not_modified", "failed"]
    status: int | None = None
    url: str = ""  # the final URL, without credentials
    permanent_url: str | None = None  # where an all-permanent redirect chain led
    body: bytes = b""
    content_type: str | None = None
    validators: Validators = Validators()
    retry_after: float | None = None
    error: str | None = None

    @property
    def gone(self) -> bool:
        return self.status == 410


class UrlFetcher(Protocol):
    """What fetches a source's URL: :class:`Fetcher`, or in tests a stand-in for the internet
    that maps public host names to local servers."""

    async def fetch(
        self, url: str, validators: Validators = ..., *, use_allow_networks: bool = True
    ) -> FetchResult: ...


class _Refused(OSError):
    """A host resolved only to addresses a fetch may not reach."""


_NOT_PUBLIC = "refused: {host} has no public address"


class _CheckedResolver(AbstractResolver):
    """``detailed``: a refusal names the addresses and why (for the operator's own sources);
    else it says only that the host is not public, so that a moderator cannot map the
    bot's private network with ``/newsadmin source test`` (the log keeps the details)."""

    def __init__(
        self, inner: AbstractResolver, allow: tuple[Network, ...], *, detailed: bool
    ) -> None:
        self.inner = inner
        self.allow = allow
        self.detailed = detailed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            found = await self.inner.resolve(host, port, family)
        except OSError as exc:
            if self.detailed:
                raise
            # the same answer as for a private one: whether an internal name exists is not
            # for a moderator to learn either
            log.info("%s does not resolve (a source added from Discord): %s", host, exc)
            raise _Refused(_NOT_PUBLIC.format(host=host)) from None
        allowed = [r for r in found if refusal(r["host"], self.allow) is None]
        if not allowed:
            reasons = "; ".join(sorted({str(refusal(r["host"], self.allow)) for r in found}))
            detail = f"refused: {host} resolves only to addresses not fetched ({reasons})"
            if self.detailed:
                raise _Refused(detail)
            log.info("%s (a source added from Discord)", detail)
            raise _Refused(_NOT_PUBLIC.format(host=host))
        return allowed

    async def close(self) -> None:
        await self.inner.close()


def _public(url: URL) -> str:
    return str(url.with_user(None)) if url.user or url.password else str(url)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped at 6 h."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER)


class Fetcher:
    """``async with Fetcher(policy) as f: result = await f.fetch(url, validators)``."""

    def __init__(self, policy: FetchPolicy, *, resolver: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._resolver = resolver
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()

    def _session(self, trusted: bool) -> aiohttp.ClientSession:
        """One session per trust level: each has its own resolver with its own allow list."""
        session = self._sessions.get(trusted)
        if session is None:
            allow = self.policy.allow_networks if trusted else ()
            inner = self._resolver or DefaultResolver()
            connector = aiohttp.TCPConnector(
                resolver=_CheckedResolver(inner, allow, detailed=trusted),
                use_dns_cache=False,
                limit=100,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # never a proxy from the environment
                headers={"User-Agent": self.policy.user_agent},
            )
            self._sessions[trusted] = session
        return session

    async def fetch(
        self, url: str, validators: Validators = Validators(), *, use_allow_networks: bool = True
    ) -> FetchResult:
        try:
            return await self._fetch(URL(url), validators, use_allow_networks)
        except TimeoutError:
            return FetchResult("failed", error=f"timed out after {self.policy.timeout:g}s")
        except ValueError as exc:  # a URL yarl cannot read
            return FetchResult("failed", error=f"not a usable URL: {exc}")

    async def _fetch(self, url: URL, validators: Validators, trusted: bool) -> FetchResult:
        allow = self.policy.allow_networks if trusted else ()
        origin = url
        permanent = True
        # The timeout counts the time spent talking to servers, every hop and the body, but
        # not the wait for a host's turn (many feeds on one host would time out queueing).
        budget = self.policy.timeout
        clock = asyncio.get_running_loop().time
        for _ in range(self.policy.max_redirects + 1):
            problem = self._check(url, allow)
            if problem is not None:
                return FetchResult("failed", url=_public(url), error=problem)
            headers = {}
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
            host = (url.host or "").lower()
            limit = self._hosts.setdefault(host, asyncio.Semaphore(self.policy.per_host))
            async with limit:
                started = clock()
                try:
                    async with asyncio.timeout(budget):
                        result, location = await self._request(trusted, url, headers, validators)
                except TimeoutError:
                    raise  # before OSError, of which it is one
                except _Refused as exc:
                    return FetchResult("failed", url=_public(url), error=str(exc))
                except aiohttp.ClientConnectorError as exc:
                    cause = exc.os_error
                    text = str(cause) if isinstance(cause, _Refused) else _connect_error(exc)
                    return FetchResult("failed", url=_public(url), error=text)
                except (aiohttp.ClientError, OSError) as exc:
                    return FetchResult("failed", url=_public(url), error=_client_error(exc))
                finally:
                    budget -= clock() - started
            if location is None:
                moved = _public(url) if permanent and url != origin else None
                return replace(result, url=_public(url), permanent_url=moved)
            permanent = permanent and result.status in _PERMANENT
            try:
                target = url.join(URL(location))
            except ValueError:
                return FetchResult("failed", result.status, error="a redirect to a bad URL")
            if target.host != url.host or target.port != url.port:
                target = target.with_user(None)
            elif url.user is not None and target.user is None:
                target = target.with_user(url.user).with_password(url.password)
            url = target
        return FetchResult(
            "failed", error=f"too many redirects (more than {self.policy.max_redirects})"
        )

    def _check(self, url: URL, allow: tuple[Network, ...]) -> str | None:
        if url.scheme not in ("http", "https"):
            return f"only http and https URLs are fetched, not {url.scheme or 'this'}:"
        host = url.host
        if not host:
            return "the URL has no host"
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return None  # a name: checked by the resolver, on the addresses it connects to
        reason = refusal(host, allow)
        return f"refused: {reason}" if reason else None

    async def _request(
        self, trusted: bool, url: URL, headers: dict[str, str], validators: Validators
    ) -> tuple[FetchResult, str | None]:
        """One hop: the result, and where it redirects (None: no redirect)."""
        session = self._session(trusted)
        cap = self.policy.max_bytes
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            status = response.status
            if status in _REDIRECTS and "Location" in response.headers:
                return FetchResult("failed", status), response.headers["Location"]
            found = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
            if status == 304:
                kept = found if (found.etag or found.last_modified) else validators
                return FetchResult("not_modified", status, validators=kept), None
            if status >= 400:
                wait = None
                if status in (429, 503):
                    wait = retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
                return FetchResult(
                    "failed", status, retry_after=wait, error=_status_error(status, response)
                ), None
            if status != 200:
                return FetchResult("failed", status, error=f"unexpected HTTP {status}"), None
            if response.content_length is not None and response.content_length > cap:
                return FetchResult("failed", status, error=_too_large(cap)), None
            body = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK):
                body += chunk
                if len(body) > cap:
                    return FetchResult("failed", status, error=_too_large(cap)), None
            return FetchResult(
                "ok",
                status,
                body=bytes(body),
                content_type=response.headers.get("Content-Type"),
                validators=found,
            ), None


def _too_large(cap: int) -> str:
    return f"the body is larger than {format_size(cap)} (fetch.max_bytes)"


def _status_error(status: int, response: aiohttp.ClientResponse) -> str:
    reason = response.reason or ""
    if status == 410:
        return f"HTTP 410 {reason or 'Gone'}: the feed is gone; remove the source".replace(
            "  ", " "
        )
    if status in (401, 403):
        return f"HTTP {status} {reason}: check the URL's credentials or the server's rules"
    return f"HTTP {status} {reason}".strip()


def _connect_error(exc: aiohttp.ClientConnectorError) -> str:
    cause = exc.os_error
    detail = cause.strerror or str(cause) if isinstance(cause, OSError) else str(cause)
    return f"cannot connect to {exc.host}:{exc.port}: {detail}"


def _client_error(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.InvalidURL):
        return "not a usable URL"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the body could not be read (broken transfer or content encoding)"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"invalid response: {exc.message}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
