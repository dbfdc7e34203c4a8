"""A real local HTTP server for feed tests: routes are set per test, requests are counted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FeedServer:
    base: str
    routes: dict[str, Handler] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    headers: list[dict[str, str]] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)  # path and query of every request

    def url(self, path: str) -> str:
        return self.base + path

    def body(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> None:
        """Serve ``body`` at ``path`` with an ETag, answering 304 to a matching If-None-Match."""
        etag = f'"{hash(body) & 0xFFFFFFFF:x}"'

        async def handler(request: web.Request) -> web.StreamResponse:
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(body=body, content_type=content_type, headers={"ETag": etag})

        self.routes[path] = handler


@asynccontextmanager
async def feed_server(host: str = "127.0.0.1") -> AsyncIterator[FeedServer]:
    server: FeedServer | None = None

    async def dispatch(request: web.Request) -> web.StreamResponse:
        assert server is not None
        server.hits[request.path] = server.hits.get(request.path, 0) + 1
        server.headers.append(dict(request.headers))
        server.requested.append(request.path_qs)
        handler = server.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, reason="Not Found")
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", dispatch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server = FeedServer(f"http://{host}:{port}")
    try:
        yield server
    finally:
        await runner.cleanup()
