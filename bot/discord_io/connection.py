"""Logging in to Discord when the network may not be there: one line per failure, then retry.

A service should survive a network that comes back: DNS failures, refused connections, TLS
errors and Discord's own 5xx answers are logged as ``cannot reach Discord (host:port): why``
and retried, 1 s doubling to 5 min, until it works or the bot is told to stop. A token that
Discord refuses is final (``discord.LoginFailure``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

import aiohttp
import discord
import discord.http
import yarl

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 300.0
# What "Discord cannot be reached right now" looks like; anything else is not retried.
UNREACHABLE = (OSError, aiohttp.ClientError, asyncio.TimeoutError, discord.DiscordServerError)


def discord_address() -> str:
    """``host:port`` of the REST API this process talks to (discord.com:443 in production)."""
    url = yarl.URL(discord.http.Route.BASE)
    return f"{url.host}:{url.port}"


def describe(exc: BaseException) -> str:
    """Why a connection failed, in a few words (no traceback)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate refused: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS error: {exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        error = exc.os_error
        if isinstance(error, socket.gaierror):
            return f"the name does not resolve ({error.strerror})"
        if error.errno:
            return os.strerror(error.errno)
        return str(error) or type(error).__name__
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, discord.DiscordServerError):
        return f"Discord answered {exc.status}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def login_until(client: discord.Client, token: str, stop: asyncio.Event) -> bool:
    """Log in, retrying while Discord cannot be reached. False: ``stop`` was set first."""
    delay = FIRST_DELAY
    while not stop.is_set():
        try:
            await client.login(token)
            return True
        except discord.LoginFailure:
            raise
        except UNREACHABLE as exc:
            log.error(
                "cannot reach Discord (%s): %s; trying again in %s",
                discord_address(),
                describe(exc),
                f"{delay:.0f}s",
            )
        await _forget_session(client)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, MAX_DELAY)
    return False


async def _forget_session(client: discord.Client) -> None:
    """Close the failed attempt's HTTP session, so the next login opens a fresh one.

    discord.py keeps its connector after closing the session it belongs to; closing a session
    closes its connector too, so the next attempt must be given none (it then makes one).
    """
    await client.http.close()
    client.http.connector = discord.utils.MISSING
