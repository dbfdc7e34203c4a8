"""A small HTTP server for operators: /healthz and /metrics (enabled by the ``http:`` section).

/healthz answers 200 when the gateway is connected, the scheduler runs and the database takes
a write; 503 otherwise, with a JSON body saying which check failed and when the last run
succeeded. /metrics is the Prometheus text format.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.errors import UsageError
from bot.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

DB_CHECK_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class HealthSources:
    """Where the checks look; functions, so the server needs no import of the bot."""

    gateway_connected: Callable[[], bool]
    publishing_started: Callable[[], bool]
    scheduler_running: Callable[[], bool]
    database_writable: Callable[[], Awaitable[None]]
    last_successful_run: Callable[[], datetime | None]
    last_ingest: Callable[[], datetime | None]
    refresh_metrics: Callable[[], Awaitable[None]]


class HealthServer:
    def __init__(self, host: str, port: int, sources: HealthSources, metrics: Metrics) -> None:
        self.host = host
        self.port = port
        self.sources = sources
        self.metrics = metrics
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.render_metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:  # the port is taken, the address is not this machine's...
            await self.stop()
            raise UsageError(
                f"http: cannot serve on {self.host}:{self.port}: "
                f"{os.strerror(exc.errno) if exc.errno else exc} "
                "(choose another http.port or http.host, or stop what is using it)"
            ) from None
        if self.port == 0:  # an ephemeral port (tests): learn which one
            self.port = self._runner.addresses[0][1]
        log.info("health and metrics on http://%s:%s/healthz and /metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def check(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, str] = {}
        checks["gateway"] = "connected" if self.sources.gateway_connected() else "disconnected"
        checks["scheduler"] = "running" if self.sources.scheduler_running() else "stopped"
        checks["publishing"] = "started" if self.sources.publishing_started() else "not started"
        try:
            await asyncio.wait_for(self.sources.database_writable(), DB_CHECK_TIMEOUT)
            checks["database"] = "writable"
        except Exception as exc:  # any failure is the answer, not a crash of the endpoint
            checks["database"] = f"not writable: {type(exc).__name__}: {exc}"
        healthy = (
            checks["gateway"] == "connected"
            and checks["scheduler"] == "running"
            and checks["publishing"] == "started"
            and checks["database"] == "writable"
        )
        last_run = self.sources.last_successful_run()
        last_ingest = self.sources.last_ingest()
        return healthy, {
            "status": "ok" if healthy else "unhealthy",
            "checks": checks,
            "last_successful_run": last_run.isoformat() if last_run else None,
            "last_ingest": last_ingest.isoformat() if last_ingest else None,
        }

    async def healthz(self, request: web.Request) -> web.Response:
        healthy, body = await self.check()
        return web.json_response(body, status=200 if healthy else 503)

    async def render_metrics(self, request: web.Request) -> web.Response:
        await self.sources.refresh_metrics()
        response = web.Response(body=self.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response
