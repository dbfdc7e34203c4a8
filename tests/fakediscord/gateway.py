"""The fake gateway: HELLO, heartbeats, IDENTIFY/READY/GUILD_CREATE, RESUME with replay, faults.

Sessions outlive connections like on Discord: dispatches made while the client is disconnected
are kept in the session's buffer and replayed when it RESUMEs with the right ``session_id``.
Frames are JSON text, or zlib-stream binary frames when the fake is created with
``gateway_compression=True`` and the client asked for ``compress=zlib-stream``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .state import JSON, State

log = logging.getLogger(__name__)

GUILD_MEMBERS_INTENT = 1 << 1
GUILD_MESSAGES_INTENT = 1 << 9
MESSAGE_CONTENT_INTENT = 1 << 15

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE = 3
OP_VOICE_STATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

_MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK"}
_MEMBER_EVENTS = {"GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE"}


@dataclass
class GatewaySession:
    session_id: str
    intents: int
    shard: list[int] | None
    buffer: deque[JSON] = field(default_factory=lambda: deque(maxlen=2000))
    seq: int = 0
    resumable: bool = True
    connection: GatewayConnection | None = None

    def frame(self, event: str, data: JSON) -> JSON:
        self.seq += 1
        frame: JSON = {"op": OP_DISPATCH, "t": event, "s": self.seq, "d": data}
        self.buffer.append(frame)
        return frame

    def wants_guild(self, guild_id: int) -> bool:
        if not self.shard:
            return True
        shard_id, shard_count = self.shard
        return (guild_id >> 22) % shard_count == shard_id

    def filter(self, event: str, data: JSON, bot_id: int) -> JSON | None:
        """Drop or trim message and member events the session's intents exclude."""
        if event in _MESSAGE_EVENTS and not self.intents & GUILD_MESSAGES_INTENT:
            return None
        if event in _MEMBER_EVENTS and not self.intents & GUILD_MEMBERS_INTENT:
            return None
        if (
            event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
            and not self.intents & MESSAGE_CONTENT_INTENT
        ):
            author = data.get("author") or {}
            mentioned = any(u.get("id") == str(bot_id) for u in data.get("mentions", []))
            if author.get("id") != str(bot_id) and not mentioned:
                data = data | {"content": "", "embeds": [], "components": [], "attachments": []}
        return data


class GatewayConnection:
    """One websocket; frames are written in order by a single writer task."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, *, compress: bool) -> None:
        self.ws = ws
        self.transport = request.transport
        self.url = str(request.rel_url)
        self.session: GatewaySession | None = None
        self.ready = False
        self.closed_by_server = False
        self.done = asyncio.Event()
        self._compressor = zlib.compressobj() if compress else None
        self._queue: asyncio.Queue[tuple[str, asyncio.Future[bool]] | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="fakediscord-gateway-writer")

    def send(self, payload: JSON) -> asyncio.Future[bool]:
        """Queue a frame; the future says whether it was written to the socket."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((json.dumps(payload, separators=(",", ":")), future))
        return future

    async def _write_loop(self) -> None:
        while (item := await self._queue.get()) is not None:
            text, future = item
            ok = False
            if not self.ws.closed:
                try:
                    if self._compressor is not None:
                        raw = self._compressor.compress(text.encode())
                        raw += self._compressor.flush(zlib.Z_SYNC_FLUSH)
                        await self.ws.send_bytes(raw)
                    else:
                        await self.ws.send_str(text)
                    ok = True
                except (ConnectionError, RuntimeError) as exc:
                    log.debug("gateway write failed: %s", exc)
            if not future.done():
                future.set_result(ok)

    async def stop_writer(self) -> None:
        self._queue.put_nowait(None)
        await self._writer
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None and not item[1].done():
                item[1].set_result(False)

    async def close(self, code: int, message: str = "") -> None:
        self.closed_by_server = True
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=code, message=message.encode())

    def abort(self) -> None:
        """Drop the TCP connection without a close frame, like a network failure."""
        self.closed_by_server = True
        if self.transport is not None:
            self.transport.abort()


@dataclass
class GatewayConfig:
    state: State
    heartbeat_interval_ms: int
    token: str | None
    application_flags: int
    compression: bool
    notify: Callable[[], None]
    resume_url: str = ""


class Gateway:
    """Handles gateway websockets and keeps sessions, counters and recorded client behaviour."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []
        self.identify_count = 0
        self.resume_count = 0
        self.rejected_resume_count = 0
        self.heartbeat_count = 0
        self.close_codes: list[int] = []
        self.disconnects: list[int | None] = []
        """How each connection the client ended went: its close code, None if it just vanished."""
        self.connection_urls: list[str] = []
        self.identify_payloads: list[JSON] = []
        self.presence_updates: list[JSON] = []
        self.ack_heartbeats = True

    @property
    def state(self) -> State:
        return self.config.state

    @property
    def connected(self) -> bool:
        return any(c.ready for c in self.connections)

    # ---------------------------------------------------------------- sockets

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0)
        await ws.prepare(request)
        wants_zlib = request.query.get("compress") == "zlib-stream"
        conn = GatewayConnection(ws, request, compress=self.config.compression and wants_zlib)
        self.connections.append(conn)
        self.connection_urls.append(conn.url)
        conn.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.config.heartbeat_interval_ms}})
        try:
            await self._read_loop(conn)
        finally:
            await conn.stop_writer()
            if conn.session is not None and conn.session.connection is conn:
                conn.session.connection = None
            self.connections.remove(conn)
            conn.ready = False
            conn.done.set()
            self.config.notify()
        return ws

    async def _read_loop(self, conn: GatewayConnection) -> None:
        while True:
            msg = await conn.ws.receive()
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await conn.close(4002, "Error while decoding payload.")
                    return
                await self._on_payload(conn, payload)
            elif msg.type is WSMsgType.CLOSE:
                if not conn.closed_by_server:
                    self.close_codes.append(int(msg.data))
                    self.disconnects.append(int(msg.data))
                return
            else:  # CLOSING (we close it), CLOSED or ERROR (the connection was lost)
                if not conn.closed_by_server:
                    self.disconnects.append(None)
                return

    async def _on_payload(self, conn: GatewayConnection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeat_count += 1
            if self.ack_heartbeats:
                conn.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            if conn.session is not None:
                await conn.close(4005, "Already authenticated.")
            else:
                await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await conn.close(4003, "Not authenticated.")
        elif op == OP_PRESENCE:
            self.presence_updates.append(data or {})
        elif op == OP_REQUEST_MEMBERS:
            self._request_members(conn.session, data or {})
        elif op == OP_VOICE_STATE:
            pass
        else:
            await conn.close(4001, "Unknown opcode.")

    def _token_ok(self, token: Any) -> bool:
        return self.config.token is None or token == self.config.token

    async def _identify(self, conn: GatewayConnection, data: JSON) -> None:
        if not self._token_ok(data.get("token")):
            await conn.close(4004, "Authentication failed.")
            return
        self.identify_count += 1
        self.identify_payloads.append({k: v for k, v in data.items() if k != "token"})
        shard = data.get("shard")
        session = GatewaySession(
            session_id=secrets.token_hex(16),
            intents=int(data.get("intents", 0)),
            shard=list(shard) if shard else None,
        )
        self.sessions[session.session_id] = session
        session.connection = conn
        conn.session = session
        guilds = [g for g in self.state.guilds.values() if session.wants_guild(g.id)]
        ready: JSON = {
            "v": 10,
            "user": self.state.bot_user_payload(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.config.resume_url,
            "application": {
                "id": str(self.state.application_id),
                "flags": self.config.application_flags,
            },
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "_trace": ["fakediscord"],
        }
        if session.shard:
            ready["shard"] = session.shard
        futures = [conn.send(session.frame("READY", ready))]
        for guild in guilds:
            payload = self.state.guild_create_payload(guild)
            futures.append(conn.send(session.frame("GUILD_CREATE", payload)))
        await asyncio.gather(*futures)
        conn.ready = True
        self.config.notify()

    async def _resume(self, conn: GatewayConnection, data: JSON) -> None:
        if not self._token_ok(data.get("token")):
            await conn.close(4004, "Authentication failed.")
            return
        session = self.sessions.get(str(data.get("session_id")))
        seq = int(data.get("seq") or 0)
        lost_events = (
            session is not None and bool(session.buffer) and session.buffer[0]["s"] > seq + 1
        )
        if session is None or not session.resumable or lost_events:
            self.rejected_resume_count += 1
            if session is not None:
                self.sessions.pop(session.session_id, None)
            conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        self.resume_count += 1
        previous = session.connection
        if previous is not None and previous is not conn:
            previous.abort()
        session.connection = conn
        conn.session = session
        futures = [conn.send(frame) for frame in session.buffer if frame["s"] > seq]
        futures.append(conn.send(session.frame("RESUMED", {"_trace": ["fakediscord"]})))
        await asyncio.gather(*futures)
        conn.ready = True
        self.config.notify()

    def _request_members(self, session: GatewaySession, data: JSON) -> None:
        guild = self.state.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        user_ids = {int(u) for u in data.get("user_ids") or []}
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0) or len(guild.members)
        members = []
        for uid in guild.members:
            user = self.state.user(uid)
            if user_ids and uid not in user_ids:
                continue
            if query and not user.name.lower().startswith(query):
                continue
            members.append(self.state.member_payload(guild, uid))
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": members[:limit],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in user_ids if u not in guild.members],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        self._send_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -------------------------------------------------------------- dispatch

    def _send_to(
        self, session: GatewaySession, event: str, data: JSON
    ) -> asyncio.Future[bool] | None:
        frame = session.frame(event, data)
        conn = session.connection
        if conn is None:
            return None
        return conn.send(frame)

    def dispatch_nowait(
        self, event: str, data: JSON, *, filtered: bool = False, guild_id: int | None = None
    ) -> list[asyncio.Future[bool]]:
        """Send a dispatch to every session (buffered for disconnected ones); returns write futures.

        ``filtered`` applies intent filtering (for events the fake generates itself);
        ``guild_id`` limits the event to sessions whose shard holds that guild.
        """
        futures = []
        for session in list(self.sessions.values()):
            if guild_id is not None and not session.wants_guild(guild_id):
                continue
            payload: JSON | None = data
            if filtered:
                payload = session.filter(event, data, self.state.bot_id)
            if payload is None:
                continue
            future = self._send_to(session, event, payload)
            if future is not None:
                futures.append(future)
        return futures

    # ---------------------------------------------------------------- faults

    async def drop(self, code: int | None = None, *, resumable: bool = True) -> int:
        """Close every live connection (abruptly when ``code`` is None); returns how many."""
        conns = list(self.connections)
        for conn in conns:
            if not resumable and conn.session is not None:
                conn.session.resumable = False
                self.sessions.pop(conn.session.session_id, None)
            conn.ready = False
            if code is None:
                conn.abort()
            else:
                await conn.close(code)
        for conn in conns:
            await conn.done.wait()
        return len(conns)

    def send_reconnect(self) -> list[asyncio.Future[bool]]:
        return [c.send({"op": OP_RECONNECT, "d": None}) for c in self.connections if c.session]

    def invalidate_session(self, *, resumable: bool = False) -> list[asyncio.Future[bool]]:
        futures = []
        for conn in self.connections:
            if conn.session is None:
                continue
            if not resumable:
                conn.session.resumable = False
                self.sessions.pop(conn.session.session_id, None)
            futures.append(conn.send({"op": OP_INVALID_SESSION, "d": resumable}))
        return futures

    async def close_all(self) -> None:
        for conn in list(self.connections):
            conn.abort()
        for conn in list(self.connections):
            await conn.done.wait()
