"""The fake REST API (``/api/v10``): routing, recording, fault injection and the endpoints.

Every request is recorded in ``fake.requests``; requests to routes the fake does not implement
are answered 404 ``{"code": 0, "message": "404: Not Found"}`` and also recorded in
``fake.unhandled``. Replies are JSON with ``Content-Type: application/json`` exactly (discord.py
parses nothing else) and carry ``X-RateLimit-*`` headers that never make discord.py wait; real
rate limits are only simulated through ``fake.fail_next(..., 429)``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from . import permissions as p
from .faults import API_PREFIX, Fault
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    PING,
    PONG,
    UPDATE_MESSAGE,
    InteractionRecord,
    Scope,
)
from .state import (
    CROSSPOSTED_FLAG,
    EPHEMERAL_FLAG,
    JSON,
    LOADING_FLAG,
    NEWS_CHANNEL,
    FakeChannel,
    FakeMessage,
)
from .validation import (
    ErrorTree,
    is_empty_message,
    validate_choices,
    validate_commands,
    validate_message,
)

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger(__name__)

# Discord JSON error codes the fake answers with.
UNKNOWN_APPLICATION = 10002
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
UNKNOWN_COMMAND = 10063
ALREADY_CROSSPOSTED = 40033
ALREADY_ACKNOWLEDGED = 40060
MISSING_ACCESS = 50001
CANNOT_EDIT_OTHERS_MESSAGE = 50005
EMPTY_MESSAGE = 50006
MISSING_PERMISSIONS = 50013
WRONG_CHANNEL_TYPE = 50024
INVALID_FORM_BODY = 50035
THREAD_ARCHIVED = 50083
INVALID_JSON = 50109
TAG_REQUIRED = 40067
THREAD_EXISTS = 160004
THREAD_LOCKED = 160005
MAX_ACTIVE_THREADS = 160006

_ALLOWED_CALLBACKS: dict[int, set[int]] = {
    PING: {PONG},
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    },
}
# Flags a response may set: SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS, COMPONENTS_V2
_RESPONSE_FLAGS = (1 << 2) | EPHEMERAL_FLAG | (1 << 12) | (1 << 15)


class ApiError(Exception):
    """An error reply in Discord's shape: ``{"code": N, "message": "...", "errors": {...}}``."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> JSON:
        data: JSON = {"code": self.code, "message": self.message}
        if self.errors:
            data["errors"] = self.errors
        return data


class RateLimitHit(ApiError):
    """A 429 of Discord's own rules (not an injected fault), e.g. the thread rename limit."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(429, 0, "You are being rate limited.")
        self.retry_after = retry_after


def form_error(tree: ErrorTree) -> ApiError:
    return ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", tree.errors)


@dataclass
class Reply:
    status: int = 200
    body: Any = None


@dataclass
class RecordedRequest:
    """One REST call as the fake received it (``path`` is relative to ``/api/v10``)."""

    method: str
    path: str
    json: Any
    query: dict[str, str]
    files: list[str] = field(default_factory=list)
    status: int = 0
    fault: Fault | None = None


@dataclass
class Ctx:
    request: web.Request
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[JSON]

    def id(self, name: str) -> int:
        raw = self.params[name]
        try:
            return int(raw)
        except ValueError:
            raise ApiError(
                400,
                INVALID_FORM_BODY,
                "Invalid Form Body",
                {
                    name: {
                        "_errors": [
                            {
                                "code": "NUMBER_TYPE_COERCE",
                                "message": f'Value "{raw}" is not snowflake.',
                            }
                        ]
                    }
                },
            ) from None

    def body(self) -> JSON:
        if self.json is None:
            return {}
        if not isinstance(self.json, dict):
            raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body")
        return self.json


Handler = Callable[[Ctx], Awaitable[Reply]]

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _placeholder_regex(match: re.Match[str]) -> str:
    """Ids match digits only (so ``/messages/pins`` is not a message id), tokens any segment."""
    name = match[1]
    if name == "message_id":
        return rf"(?P<{name}>\d+|@original)"
    if name.endswith("_id"):
        return rf"(?P<{name}>\d+)"
    return rf"(?P<{name}>[^/]+)"


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    auth: bool
    regex: re.Pattern[str] = field(init=False)
    bucket: str = field(init=False)

    def __post_init__(self) -> None:
        self.regex = re.compile(_PLACEHOLDER.sub(_placeholder_regex, self.template))
        self.bucket = hashlib.sha1(f"{self.method} {self.template}".encode()).hexdigest()[:32]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    if body is None or status == 204:
        return web.Response(status=204 if body is None else status, headers=headers)
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers=headers,
    )


async def read_body(request: web.Request) -> tuple[Any, list[JSON]]:
    """The JSON body (or multipart ``payload_json``) and the uploaded files."""
    if not request.can_read_body:
        return None, []
    if request.content_type.startswith("multipart/"):
        body: Any = None
        files: list[JSON] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "payload_json":
                body = _loads(await part.text())
            else:
                data = await part.read()
                files.append(
                    {
                        "field": part.name,
                        "filename": part.filename or "file",
                        "size": len(data),
                        "content_type": part.headers.get(
                            "Content-Type", "application/octet-stream"
                        ),
                    }
                )
        return body, files
    raw = await request.read()
    if not raw:
        return None, []
    return _loads(raw.decode()), []


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ApiError(400, INVALID_JSON, "The request body contains invalid JSON.") from None


class RestApi:
    """Routes ``/api/v10`` requests of discord.py to handlers working on the fake's state."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.routes: list[Route] = []
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self._register()

    # ---------------------------------------------------------------- routing

    def _register(self) -> None:
        r = self._route
        r("GET", "/users/@me", self.get_me)
        r("GET", "/users/@me/guilds", self.get_my_guilds)
        r("DELETE", "/users/@me/guilds/{guild_id}", self.leave_guild)
        r("GET", "/users/{user_id}", self.get_user)
        r("GET", "/oauth2/applications/@me", self.get_application)
        r("GET", "/applications/@me", self.get_application)
        r("GET", "/gateway", self.get_gateway, auth=False)
        r("GET", "/gateway/bot", self.get_gateway_bot)
        r("GET", "/channels/{channel_id}", self.get_channel)
        r("POST", "/channels/{channel_id}/typing", self.typing)
        r("GET", "/channels/{channel_id}/messages", self.get_messages)
        r("POST", "/channels/{channel_id}/messages", self.create_message)
        r("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message)
        r("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message)
        r("POST", "/channels/{channel_id}/messages/{message_id}/crosspost", self.crosspost)
        r("GET", "/guilds/{guild_id}", self.get_guild)
        r("GET", "/guilds/{guild_id}/channels", self.get_guild_channels)
        r("GET", "/guilds/{guild_id}/roles", self.get_guild_roles)
        r("GET", "/guilds/{guild_id}/members", self.get_guild_members)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self.get_guild_member)
        for prefix in (
            "/applications/{application_id}",
            "/applications/{application_id}/guilds/{guild_id}",
        ):
            r("GET", f"{prefix}/commands", self.get_commands)
            r("PUT", f"{prefix}/commands", self.put_commands)
            r("POST", f"{prefix}/commands", self.post_command)
            r("GET", f"{prefix}/commands/{{command_id}}", self.get_command)
            r("DELETE", f"{prefix}/commands/{{command_id}}", self.delete_command)
        r(
            "POST",
            "/interactions/{interaction_id}/{token}/callback",
            self.interaction_callback,
            auth=False,
        )
        r("POST", "/webhooks/{application_id}/{token}", self.webhook_execute, auth=False)
        for method, handler in (
            ("GET", self.webhook_get_message),
            ("PATCH", self.webhook_edit_message),
            ("DELETE", self.webhook_delete_message),
        ):
            r(
                method,
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                handler,
                auth=False,
            )

    def _route(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        self.routes.append(Route(method, template, handler, auth))

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method == method and (m := route.regex.fullmatch(path)):
                return route, m.groupdict()
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fake = self.fake
        method = request.method
        path = request.path
        if path.startswith(API_PREFIX):
            path = path[len(API_PREFIX) :] or "/"
        query = dict(request.query)
        try:
            body, files = await read_body(request)
        except ApiError as exc:
            return json_response(exc.status, exc.body())
        record = RecordedRequest(method, path, body, query, [f["filename"] for f in files])
        fake.requests.append(record)
        try:
            return await self._respond(request, record, files)
        finally:
            fake.notify()

    async def _respond(
        self, request: web.Request, record: RecordedRequest, files: list[JSON]
    ) -> web.StreamResponse:
        fake = self.fake
        await fake.faults_delay(record.path)
        matched = (
            self._match(record.method, record.path) if request.path.startswith(API_PREFIX) else None
        )
        fault = fake.faults.take(record.method, record.path)
        record.fault = fault
        if fault is not None and not fault.processed:
            record.status = fault.status
            return self._fault_response(fault, matched[0] if matched else None)
        if matched is None:
            fake.unhandled.append(record)
            log.warning("fake Discord: unhandled %s %s", record.method, request.path)
            record.status = 404
            return json_response(404, {"code": 0, "message": "404: Not Found"})
        route, params = matched
        ctx = Ctx(request, record.method, record.path, params, record.query, record.json, files)
        try:
            if route.auth:
                self._check_auth(request)
            reply = await route.handler(ctx)
        except RateLimitHit as exc:
            record.status = 429
            limited = Fault(None, re.compile(""), 429, 0, exc.message, retry_after=exc.retry_after)
            return self._fault_response(limited, route)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body())
        if fault is not None:
            record.status = fault.status
            return self._fault_response(fault, route)
        record.status = reply.status
        return json_response(reply.status, reply.body, self._ratelimit_headers(route))

    def _check_auth(self, request: web.Request) -> None:
        token = self.fake.token
        if token is not None and request.headers.get("Authorization") != f"Bot {token}":
            raise ApiError(401, 0, "401: Unauthorized")

    def _ratelimit_headers(
        self, route: Route, *, remaining: int | None = None, reset_after: float = 1.0
    ) -> dict[str, str]:
        limit = self.fake.ratelimit_limit
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - 1 if remaining is None else remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": route.bucket,
        }

    def _fault_response(self, fault: Fault, route: Route | None) -> web.Response:
        headers: dict[str, str] = {}
        if fault.status == 429:
            if route is not None:
                headers |= self._ratelimit_headers(
                    route, remaining=0, reset_after=fault.retry_after
                )
            headers |= {
                "Retry-After": str(max(1, math.ceil(fault.retry_after))),
                "X-RateLimit-Scope": "global" if fault.is_global else "user",
                "Via": "1.1 google",
            }
            if fault.is_global:
                headers["X-RateLimit-Global"] = "true"
        elif route is not None:
            headers |= self._ratelimit_headers(route)
        return json_response(fault.status, fault.body(), headers)

    # ---------------------------------------------------------------- helpers

    def _channel(self, ctx: Ctx) -> FakeChannel:
        channel = self.fake.state.channels.get(ctx.id("channel_id"))
        if channel is None:
            raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        return channel

    def _require(self, channel: FakeChannel, perm: int) -> None:
        """Answer like Discord when the bot lacks ``perm`` (no VIEW_CHANNEL is "Missing Access")."""
        if not self.fake.enforce_permissions:
            return
        have = self.fake.state.permissions_in(channel, self.fake.state.bot_id)
        if not have & p.VIEW_CHANNEL:
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
        if have & perm != perm:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")

    def _message_in(self, channel: FakeChannel, ctx: Ctx) -> FakeMessage:
        msg = self.fake.state.messages.get(ctx.id("message_id"))
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.ephemeral:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return msg

    def _guild_id(self, ctx: Ctx) -> int:
        guild_id = ctx.id("guild_id")
        if guild_id not in self.fake.state.guilds:
            raise ApiError(404, UNKNOWN_GUILD, "Unknown Guild")
        return guild_id

    def _payload(self, msg: FakeMessage, *, nonce: bool = False) -> JSON:
        return self.fake.state.message_payload(msg, include_nonce=nonce)

    # ------------------------------------------------------------ user / app

    async def get_me(self, ctx: Ctx) -> Reply:
        return Reply(200, self.fake.state.bot_user_payload())

    async def get_user(self, ctx: Ctx) -> Reply:
        user = self.fake.state.users.get(ctx.id("user_id"))
        if user is None:
            raise ApiError(404, UNKNOWN_USER, "Unknown User")
        return Reply(200, user.payload())

    async def get_my_guilds(self, ctx: Ctx) -> Reply:
        state = self.fake.state
        guilds = [
            {
                "id": str(g.id),
                "name": g.name,
                "icon": None,
                "banner": None,
                "owner": g.owner_id == state.bot_id,
                "permissions": str(state.guild_permissions(g, state.bot_id)),
                "features": list(g.features),
            }
            for g in state.guilds.values()
        ]
        return Reply(200, guilds)

    async def leave_guild(self, ctx: Ctx) -> Reply:
        self.fake.remove_guild(self._guild_id(ctx))
        return Reply(204)

    async def get_application(self, ctx: Ctx) -> Reply:
        return Reply(200, self.fake.application_payload())

    async def get_gateway(self, ctx: Ctx) -> Reply:
        return Reply(200, {"url": self.fake.gateway_url})

    async def get_gateway_bot(self, ctx: Ctx) -> Reply:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return Reply(200, {"url": self.fake.gateway_url, "shards": 1, "session_start_limit": limit})

    # --------------------------------------------------------------- channels

    async def get_channel(self, ctx: Ctx) -> Reply:
        channel = self._channel(ctx)
        self._require(channel, p.VIEW_CHANNEL)
        return Reply(200, channel.payload())

    async def typing(self, ctx: Ctx) -> Reply:
        self._require(self._channel(ctx), p.SEND_MESSAGES)
        return Reply(204)

    async def get_messages(self, ctx: Ctx) -> Reply:
        channel = self._channel(ctx)
        self._require(channel, p.VIEW_CHANNEL)
        if self.fake.enforce_permissions and not (
            self.fake.state.permissions_in(channel, self.fake.state.bot_id) & p.READ_MESSAGE_HISTORY
        ):
            return Reply(200, [])
        try:
            limit = int(ctx.query.get("limit", 50))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            tree = ErrorTree()
            tree.add(("limit",), "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
            raise form_error(tree)
        msgs = channel.messages  # oldest first
        if "around" in ctx.query:
            around = int(ctx.query["around"])
            index = next((i for i, m in enumerate(msgs) if m.id >= around), len(msgs))
            start = max(0, index - limit // 2)
            page = msgs[start : start + limit]
        elif "before" in ctx.query:
            before = int(ctx.query["before"])
            page = [m for m in msgs if m.id < before][-limit:]
        elif "after" in ctx.query:
            after = int(ctx.query["after"])
            page = [m for m in msgs if m.id > after][:limit]
        else:
            page = msgs[-limit:]
        # Discord answers newest first, whatever the direction of the query.
        return Reply(200, [self._payload(m) for m in reversed(page)])

    async def get_message(self, ctx: Ctx) -> Reply:
        channel = self._channel(ctx)
        self._require(channel, p.VIEW_CHANNEL | p.READ_MESSAGE_HISTORY)
        return Reply(200, self._payload(self._message_in(channel, ctx)))

    async def create_message(self, ctx: Ctx) -> Reply:
        fake = self.fake
        state = fake.state
        channel = self._channel(ctx)
        self._require(channel, p.SEND_MESSAGES)
        body = self._with_uploads(ctx, channel.id)
        errors = validate_message(body)
        if errors:
            raise form_error(errors)
        if is_empty_message(body):
            raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")
        nonce = body.get("nonce")
        key = (state.bot_id, str(nonce))
        now = time.monotonic()
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get(key)
            if seen is not None and now - seen[1] < fake.nonce_window:
                existing = state.messages[seen[0]]
                if existing.deleted:
                    raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
                fake.nonce_hits += 1
                return Reply(200, self._payload(existing, nonce=True))
        msg = state.new_message(channel, state.bot_id, body)
        if nonce is not None:
            self._nonces[key] = (msg.id, now)
        fake.emit_message("MESSAGE_CREATE", msg)
        await self.hold_if_hung(channel.id, msg.id)
        return Reply(200, self._payload(msg, nonce=True))

    async def hold_if_hung(self, channel_id: int, message_id: int) -> None:
        """After a create took effect: hold the answer if a test asked for it (a crash lands
        between Discord's create and the bot's record of it)."""
        hang = self.fake.faults.take_hang(channel_id)
        if hang is not None:
            hang.message_id = message_id
            hang.created.set()
            self.fake.notify()
            await hang.release.wait()

    def _with_uploads(self, ctx: Ctx, channel_id: int) -> JSON:
        """The request body, with uploaded files turned into the attachments Discord stores."""
        body = dict(ctx.body())
        if ctx.files:
            body["attachments"] = []
            for upload in ctx.files:
                attachment_id = self.fake.state.snowflakes.next()
                url = (
                    "https://cdn.fakediscord.invalid/attachments/"
                    f"{channel_id}/{attachment_id}/{upload['filename']}"
                )
                body["attachments"].append(
                    {
                        "id": str(attachment_id),
                        "filename": upload["filename"],
                        "size": upload["size"],
                        "content_type": upload["content_type"],
                        "url": url,
                        "proxy_url": url,
                    }
                )
        return body

    def expire_nonces(self) -> None:
        self._nonces.clear()

    async def edit_message(self, ctx: Ctx) -> Reply:
        channel = self._channel(ctx)
        self._require(channel, p.VIEW_CHANNEL)
        msg = self._message_in(channel, ctx)
        body = ctx.body()
        if channel.thread is not None and channel.thread.locked:
            raise ApiError(400, THREAD_LOCKED, "Thread is locked")
        if channel.thread is not None and channel.thread.archived:
            raise ApiError(400, THREAD_ARCHIVED, "Thread is archived")
        if msg.author_id != self.fake.state.bot_id and set(body) - {"flags"}:
            raise ApiError(
                403, CANNOT_EDIT_OTHERS_MESSAGE, "Cannot edit a message authored by another user"
            )
        errors = validate_message(body)
        if errors:
            raise form_error(errors)
        self.fake.state.edit_message(msg, body)
        self.fake.emit_message("MESSAGE_UPDATE", msg)
        return Reply(200, self._payload(msg))

    async def delete_message(self, ctx: Ctx) -> Reply:
        channel = self._channel(ctx)
        msg = self._message_in(channel, ctx)
        own = msg.author_id == self.fake.state.bot_id
        self._require(channel, p.VIEW_CHANNEL if own else p.MANAGE_MESSAGES)
        self.fake.state.delete_message(msg)
        self.fake.emit_message("MESSAGE_DELETE", msg)
        return Reply(204)

    async def crosspost(self, ctx: Ctx) -> Reply:
        channel = self._channel(ctx)
        msg = self._message_in(channel, ctx)
        if channel.type != NEWS_CHANNEL:
            raise ApiError(400, WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type")
        own = msg.author_id == self.fake.state.bot_id
        self._require(channel, p.SEND_MESSAGES if own else p.MANAGE_MESSAGES)
        if msg.crossposted:
            raise ApiError(400, ALREADY_CROSSPOSTED, "This message has already been crossposted.")
        msg.flags |= CROSSPOSTED_FLAG
        self.fake.emit_message("MESSAGE_UPDATE", msg)
        return Reply(200, self._payload(msg))

    # ----------------------------------------------------------------- guilds

    async def get_guild(self, ctx: Ctx) -> Reply:
        state = self.fake.state
        guild = state.guilds[self._guild_id(ctx)]
        data = state.guild_payload(guild)
        if ctx.query.get("with_counts") in ("1", "true", "True"):
            data |= {
                "approximate_member_count": len(guild.members),
                "approximate_presence_count": 0,
            }
        return Reply(200, data)

    async def get_guild_channels(self, ctx: Ctx) -> Reply:
        guild = self.fake.state.guilds[self._guild_id(ctx)]
        return Reply(200, [c.payload() for c in guild.channels.values() if not c.is_thread])

    async def get_guild_roles(self, ctx: Ctx) -> Reply:
        guild = self.fake.state.guilds[self._guild_id(ctx)]
        return Reply(200, [r.payload() for r in guild.roles.values()])

    async def get_guild_members(self, ctx: Ctx) -> Reply:
        state = self.fake.state
        guild = state.guilds[self._guild_id(ctx)]
        limit = int(ctx.query.get("limit", 1))
        after = int(ctx.query.get("after", 0))
        ids = sorted(uid for uid in guild.members if uid > after)[:limit]
        return Reply(200, [state.member_payload(guild, uid) for uid in ids])

    async def get_guild_member(self, ctx: Ctx) -> Reply:
        state = self.fake.state
        guild = state.guilds[self._guild_id(ctx)]
        user_id = ctx.id("user_id")
        if user_id not in guild.members:
            raise ApiError(404, UNKNOWN_MEMBER, "Unknown Member")
        return Reply(200, state.member_payload(guild, user_id))

    # ---------------------------------------------------- application commands

    def _scope(self, ctx: Ctx) -> Scope:
        if ctx.id("application_id") != self.fake.state.application_id:
            raise ApiError(404, UNKNOWN_APPLICATION, "Unknown Application")
        if "guild_id" not in ctx.params:
            return "global"
        guild_id = ctx.id("guild_id")
        if guild_id not in self.fake.state.guilds:
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
        return guild_id

    async def get_commands(self, ctx: Ctx) -> Reply:
        return Reply(200, self.fake.commands.in_scope(self._scope(ctx)))

    async def put_commands(self, ctx: Ctx) -> Reply:
        scope = self._scope(ctx)
        payload = ctx.json if ctx.json is not None else []
        if not isinstance(payload, list) or not all(isinstance(c, dict) for c in payload):
            raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body")
        errors = validate_commands(payload)
        if errors:
            raise form_error(errors)
        return Reply(200, self.fake.commands.bulk_overwrite(scope, payload))

    async def post_command(self, ctx: Ctx) -> Reply:
        scope = self._scope(ctx)
        body = ctx.body()
        errors = validate_commands([body])
        if errors:
            raise form_error(errors)
        stored, created = self.fake.commands.upsert(scope, body)
        return Reply(201 if created else 200, stored)

    async def get_command(self, ctx: Ctx) -> Reply:
        cmd = self.fake.commands.get(self._scope(ctx), ctx.id("command_id"))
        if cmd is None:
            raise ApiError(404, UNKNOWN_COMMAND, "Unknown application command")
        return Reply(200, cmd)

    async def delete_command(self, ctx: Ctx) -> Reply:
        if not self.fake.commands.delete(self._scope(ctx), ctx.id("command_id")):
            raise ApiError(404, UNKNOWN_COMMAND, "Unknown application command")
        return Reply(204)

    # ----------------------------------------------------------- interactions

    def _reject(self, rec: InteractionRecord, ctx: Ctx, error: ApiError) -> ApiError:
        rec.rejected.append((ctx.method, ctx.path, error.code))
        return error

    async def interaction_callback(self, ctx: Ctx) -> Reply:
        fake = self.fake
        rec = fake.interaction(ctx.id("interaction_id"))
        if rec is None or rec.token != ctx.params["token"]:
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        elapsed = asyncio.get_running_loop().time() - rec.created_at
        if fake.interaction_deadline is not None and elapsed > fake.interaction_deadline:
            raise self._reject(rec, ctx, ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction"))
        if rec.callbacks:
            raise self._reject(
                rec,
                ctx,
                ApiError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged."),
            )
        body = ctx.body()
        kind = int(body.get("type") or 0)
        data: JSON = body.get("data") or {}
        if ctx.files and kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            uploads = Ctx(ctx.request, ctx.method, ctx.path, ctx.params, ctx.query, data, ctx.files)
            data = self._with_uploads(uploads, rec.channel_id)
        if kind not in _ALLOWED_CALLBACKS.get(rec.type, set()):
            tree = ErrorTree()
            tree.add(
                ("type",),
                "INTERACTION_RESPONSE_TYPE_INVALID",
                "Interaction response type is invalid",
            )
            raise self._reject(rec, ctx, form_error(tree))
        errors = (
            validate_choices(data.get("choices") or [])
            if kind == AUTOCOMPLETE_RESULT
            else ErrorTree()
        )
        if kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            errors = validate_message(data)
        if errors:
            raise self._reject(rec, ctx, form_error(errors))
        if kind == CHANNEL_MESSAGE and is_empty_message(data):
            raise self._reject(
                rec, ctx, ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")
            )
        rec.callbacks.append(body)
        msg: FakeMessage | None = None
        if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            msg = self._response_message(rec, data, loading=kind == DEFERRED_CHANNEL_MESSAGE)
            rec.original_message_id = msg.id
        elif (
            kind in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE)
            and rec.component_message_id is not None
        ):
            rec.original_message_id = rec.component_message_id
            if kind == UPDATE_MESSAGE:
                msg = fake.state.messages[rec.component_message_id]
                fake.state.edit_message(msg, data)
                fake.emit_message("MESSAGE_UPDATE", msg)
        if ctx.query.get("with_response") not in ("1", "true", "True"):
            return Reply(204)
        info: JSON = {
            "id": str(rec.id),
            "type": rec.type,
            "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": bool(msg is not None and msg.ephemeral),
        }
        resource: JSON = {"type": kind}
        if msg is not None:
            info["response_message_id"] = str(msg.id)
            resource["message"] = self._payload(msg)
        return Reply(200, {"interaction": info, "resource": resource})

    def _response_message(
        self, rec: InteractionRecord, data: JSON, *, loading: bool
    ) -> FakeMessage:
        """A message sent as interaction response or follow-up (ephemeral: not in history)."""
        fake = self.fake
        state = fake.state
        flags = int(data.get("flags") or 0) & _RESPONSE_FLAGS
        if loading:
            flags = (flags & EPHEMERAL_FLAG) | LOADING_FLAG
            data = {}
        channel = state.channel(rec.channel_id)
        msg = state.new_message(
            channel,
            state.bot_id,
            data | {"flags": flags},
            store_in_channel=not flags & EPHEMERAL_FLAG,
        )
        msg.webhook_id = msg.application_id = state.application_id
        msg.interaction_id = rec.id
        is_command = rec.type == APPLICATION_COMMAND
        msg.type = (20 if rec.payload["data"].get("type", 1) == 1 else 23) if is_command else 0
        metadata: JSON = {
            "id": str(rec.id),
            "type": rec.type,
            "user": state.user_payload(rec.user_id),
            "authorizing_integration_owners": {"0": str(rec.guild_id)},
        }
        if is_command:
            metadata["name"] = rec.payload["data"]["name"]
        msg.interaction_metadata = metadata
        fake.emit_message("MESSAGE_CREATE", msg)
        return msg

    def _webhook_interaction(self, ctx: Ctx) -> InteractionRecord:
        rec = self.fake.interaction_by_token(ctx.params["token"])
        if rec is None or ctx.id("application_id") != self.fake.state.application_id:
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        return rec

    def _webhook_message(self, rec: InteractionRecord, ctx: Ctx) -> FakeMessage:
        raw = ctx.params["message_id"]
        message_id = rec.original_message_id if raw == "@original" else ctx.id("message_id")
        if message_id is None or message_id not in (rec.original_message_id, *rec.followup_ids):
            raise self._reject(rec, ctx, ApiError(404, UNKNOWN_MESSAGE, "Unknown Message"))
        msg = self.fake.state.messages[message_id]
        if msg.deleted:
            raise self._reject(rec, ctx, ApiError(404, UNKNOWN_MESSAGE, "Unknown Message"))
        return msg

    async def webhook_execute(self, ctx: Ctx) -> Reply:
        fake = self.fake
        rec = self._webhook_interaction(ctx)
        if not rec.callbacks:
            raise self._reject(rec, ctx, ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook"))
        body = self._with_uploads(ctx, rec.channel_id)
        errors = validate_message(body)
        if errors:
            raise self._reject(rec, ctx, form_error(errors))
        if is_empty_message(body):
            raise self._reject(
                rec, ctx, ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")
            )
        original = rec.original_message_id
        if rec.callback_type == DEFERRED_CHANNEL_MESSAGE and rec.loading and original is not None:
            # The first follow-up after a deferred response fills in the "thinking..." message,
            # which keeps the ephemeral flag chosen at defer time.
            msg = fake.state.messages[original]
            fake.state.edit_message(msg, body)
            msg.flags &= ~LOADING_FLAG
            fake.emit_message("MESSAGE_UPDATE", msg)
        else:
            msg = self._response_message(rec, body, loading=False)
        rec.followup_ids.append(msg.id)
        if ctx.query.get("wait") in ("1", "true", "True"):
            return Reply(200, self._payload(msg))
        return Reply(204)

    async def webhook_get_message(self, ctx: Ctx) -> Reply:
        rec = self._webhook_interaction(ctx)
        return Reply(200, self._payload(self._webhook_message(rec, ctx)))

    async def webhook_edit_message(self, ctx: Ctx) -> Reply:
        fake = self.fake
        rec = self._webhook_interaction(ctx)
        msg = self._webhook_message(rec, ctx)
        body = self._with_uploads(ctx, rec.channel_id)
        errors = validate_message(body)
        if errors:
            raise self._reject(rec, ctx, form_error(errors))
        fake.state.edit_message(msg, body)
        msg.flags &= ~LOADING_FLAG
        if msg.id == rec.original_message_id:
            rec.original_edits.append(body)
        fake.emit_message("MESSAGE_UPDATE", msg)
        return Reply(200, self._payload(msg))

    async def webhook_delete_message(self, ctx: Ctx) -> Reply:
        fake = self.fake
        rec = self._webhook_interaction(ctx)
        msg = self._webhook_message(rec, ctx)
        fake.state.delete_message(msg)
        if msg.id == rec.original_message_id:
            rec.original_deleted = True
        fake.emit_message("MESSAGE_DELETE", msg)
        return Reply(204)
