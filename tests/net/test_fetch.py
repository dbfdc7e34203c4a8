"""The fetcher against a real local server: limits, redirects, refusals, conditional GET."""

from __future__ import annotations

import asyncio
import gzip

from aiohttp import web

from bot.net.addresses import parse_networks
from bot.net.fetch import Fetcher, FetchPolicy
from tests.support.feed_server import feed_server

LOCAL = parse_networks(["127.0.0.0/8"])


def policy(**changes: object) -> FetchPolicy:
    return FetchPolicy(**{"allow_networks": LOCAL, **changes})  # type: ignore[arg-type]


async def test_ok_then_not_modified_with_the_validators() -> None:
    async with feed_server() as server, Fetcher(policy(user_agent="Newsdesk/test")) as fetcher:
        server.body("/feed", b"<rss/>")
        first = await fetcher.fetch(server.url("/feed"))
        assert (first.outcome, first.status, first.body) == ("ok", 200, b"<rss/>")
        assert first.validators.etag and first.content_type
        again = await fetcher.fetch(server.url("/feed"), first.validators)
        assert (again.outcome, again.status, again.validators) == (
            "not_modified",
            304,
            first.validators,
        )
        assert server.headers[0]["User-Agent"] == "Newsdesk/test"
        assert "br" in server.headers[0]["Accept-Encoding"]


async def test_a_gzip_bomb_is_cut_off_after_decompression() -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    async with feed_server() as server, Fetcher(policy(max_bytes=1024 * 1024)) as fetcher:
        server.routes["/bomb"] = handler
        result = await fetcher.fetch(server.url("/bomb"))
        assert result.outcome == "failed" and result.body == b""
        assert result.error == "the body is larger than 1 MiB (fetch.max_bytes)"


async def test_a_trickling_server_times_out() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(30):
            await response.write(b"x")
            await asyncio.sleep(0.2)
        return response

    async with feed_server() as server, Fetcher(policy(timeout=1.0)) as fetcher:
        server.routes["/slow"] = handler
        result = await fetcher.fetch(server.url("/slow"))
        assert result.outcome == "failed" and result.error == "timed out after 1s"


async def test_redirects_are_followed_checked_and_counted() -> None:
    async def to(target: str, status: int = 302) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": target})

    async with feed_server() as server, Fetcher(policy()) as fetcher:
        server.body("/final", b"done")
        server.routes["/moved"] = lambda r: to("/final", 301)
        server.routes["/temp"] = lambda r: to(server.url("/final"), 307)
        server.routes["/loop"] = lambda r: to("/loop")
        server.routes["/metadata"] = lambda r: to("http://169.254.169.254/latest/meta-data/")
        server.routes["/ftp"] = lambda r: to("ftp://example.com/feed")
        moved = await fetcher.fetch(server.url("/moved"))
        assert moved.outcome == "ok" and moved.permanent_url == server.url("/final")
        temp = await fetcher.fetch(server.url("/temp"))
        assert temp.outcome == "ok" and temp.permanent_url is None
        loop = await fetcher.fetch(server.url("/loop"))
        assert loop.error == "too many redirects (more than 5)"
        assert server.hits["/loop"] == 6
        metadata = await fetcher.fetch(server.url("/metadata"))
        assert metadata.outcome == "failed" and "link-local" in (metadata.error or "")
        ftp = await fetcher.fetch(server.url("/ftp"))
        assert "only http and https" in (ftp.error or "")


async def test_private_addresses_are_refused_without_the_allow_list() -> None:
    async with feed_server() as server, Fetcher(policy()) as fetcher:
        server.body("/feed", b"<rss/>")
        port = server.base.rsplit(":", 1)[1]
        literal = await fetcher.fetch(server.url("/feed"), use_allow_networks=False)
        assert literal.outcome == "failed" and "loopback" in (literal.error or "")
        by_name = await fetcher.fetch(f"http://localhost:{port}/feed", use_allow_networks=False)
        # a moderator's URL learns only that the host is not public, not its addresses
        assert by_name.outcome == "failed"
        assert by_name.error == "refused: localhost has no public address"
        # nor whether an internal name exists at all
        unknown = await fetcher.fetch("http://nowhere.invalid/feed", use_allow_networks=False)
        assert unknown.error == "refused: nowhere.invalid has no public address"
        async with Fetcher(policy(allow_networks=())) as operators:
            trusted = await operators.fetch(f"http://localhost:{port}/feed")
        assert "localhost resolves only to" in (trusted.error or "")
        assert "127.0.0.1 is a loopback address" in (trusted.error or "")
        assert server.hits.get("/feed") is None  # nothing ever reached the server
        for url in ("file:///etc/passwd", "gopher://x/", f"http://[::ffff:127.0.0.1]:{port}/feed"):
            refused = await fetcher.fetch(url, use_allow_networks=False)
            assert refused.outcome == "failed" and refused.error


async def test_http_failures_and_retry_after() -> None:
    async def status(code: int, headers: dict[str, str] | None = None) -> web.StreamResponse:
        return web.Response(status=code, headers=headers or {})

    async with feed_server() as server, Fetcher(policy()) as fetcher:
        server.routes["/gone"] = lambda r: status(410)
        server.routes["/busy"] = lambda r: status(429, {"Retry-After": "120"})
        server.routes["/down"] = lambda r: status(
            503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
        )
        server.routes["/junk"] = lambda r: status(503, {"Retry-After": "soon"})
        gone = await fetcher.fetch(server.url("/gone"))
        assert gone.gone and "remove the source" in (gone.error or "")
        assert (await fetcher.fetch(server.url("/busy"))).retry_after == 120
        assert (await fetcher.fetch(server.url("/down"))).retry_after == 0  # a date in the past
        assert (await fetcher.fetch(server.url("/junk"))).retry_after is None
        missing = await fetcher.fetch(server.url("/nothing"))
        assert (missing.status, missing.error) == (404, "HTTP 404 Not Found")


async def test_credentials_are_sent_and_never_shown() -> None:
    async def private(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "Basic dXNlcjpzM2NyZXQ=":
            return web.Response(status=401, reason="Unauthorized")
        return web.Response(status=302, headers={"Location": "/inside"})

    async with feed_server() as server, Fetcher(policy()) as fetcher:
        server.routes["/private"] = private
        server.body("/inside", b"secret feed")
        url = server.url("/private").replace("http://", "http://user:s3cret@")
        result = await fetcher.fetch(url)
        assert result.outcome == "ok" and result.body == b"secret feed"
        assert "s3cret" not in repr(result)
        wrong = await fetcher.fetch(url.replace("s3cret", "wrong"))
        assert wrong.status == 401 and "wrong" not in repr(wrong)


async def test_a_closed_port_is_a_clear_failure() -> None:
    async with feed_server() as server:
        url = server.url("/feed")
    async with Fetcher(policy()) as fetcher:
        result = await fetcher.fetch(url)
    assert result.outcome == "failed" and (result.error or "").startswith(
        "cannot connect to 127.0.0.1"
    )


async def test_at_most_two_requests_at_a_time_per_host() -> None:
    active = peak = 0

    async def slow(request: web.Request) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.1)
        active -= 1
        return web.Response(body=b"ok")

    async with feed_server() as server, Fetcher(policy()) as fetcher:
        server.routes["/slow"] = slow
        results = await asyncio.gather(*(fetcher.fetch(server.url("/slow")) for _ in range(6)))
        assert all(r.outcome == "ok" for r in results) and peak == 2


async def test_the_timeout_counts_the_servers_time_not_the_wait_for_a_hosts_turn() -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.4)
        if request.path == "/hop":  # then a second slow hop: the two share one timeout
            return web.Response(status=302, headers={"Location": "/slow"})
        return web.Response(body=b"ok")

    async with feed_server() as server, Fetcher(policy(per_host=1, timeout=1.0)) as fetcher:
        server.routes["/slow"] = slow
        server.routes["/hop"] = slow
        queued = await asyncio.gather(*(fetcher.fetch(server.url("/slow")) for _ in range(4)))
        assert [r.outcome for r in queued] == ["ok"] * 4  # 1.6 s in all, 0.4 s each
        async with Fetcher(policy(timeout=0.7)) as tight:
            hops = await tight.fetch(server.url("/hop"))
        assert hops.outcome == "failed" and hops.error == "timed out after 0.7s"


async def test_brotli_and_last_modified_are_understood() -> None:
    import brotli

    body = b"<rss version='2.0'><channel><title>Compressed</title></channel></rss>" * 50
    stamp = "Sun, 06 Dec 2026 10:00:00 GMT"

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)
        return web.Response(
            body=brotli.compress(body),
            headers={"Content-Encoding": "br", "Last-Modified": stamp},
        )

    async with feed_server() as server, Fetcher(policy()) as fetcher:
        server.routes["/br"] = handler
        first = await fetcher.fetch(server.url("/br"))
        assert (first.outcome, first.body) == ("ok", body)  # decoded, byte for byte
        assert first.validators.last_modified == stamp and first.validators.etag is None
        again = await fetcher.fetch(server.url("/br"), first.validators)
        assert (again.outcome, again.status) == ("not_modified", 304)
