"""WebSocket gateway: HTTP endpoints, connecting and authenticating, the frame
protocol and its errors (contract.md section 3).

Every frame the server sends is checked by conftest.check_ws_frame (type and
timestamp first, a listed type, that type's keys in order)."""

import asyncio
import re
import time
import uuid

from conftest import RawWs, arun, expect, forge_jwt, is_uuid, poll_until

_PROM_SAMPLE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+[-+]?([0-9.eE+-]+|NaN|\+Inf|-Inf)(\s+-?\d+)?$')


# --------------------------------------------------------------------------- #
# Gateway HTTP endpoints
# --------------------------------------------------------------------------- #

def test_gateway_root(ws_env):
    r = expect(ws_env.gw.get("/"), 200)
    body = r.json()
    assert list(body) == ["name", "version", "environment", "status", "websocket_endpoint"], body
    assert body["status"] == "operational", body
    assert body["websocket_endpoint"] == "/ws", body
    assert body["environment"] == "development", body
    assert isinstance(body["name"], str) and body["name"], body
    assert isinstance(body["version"], str) and body["version"], body
    assert '": ' not in r.text, r.text


def test_gateway_health(ws_env):
    r = expect(ws_env.health(), 200)
    body = r.json()
    assert list(body) == ["status", "environment", "redis", "broker", "active_connections"], body
    assert body["status"] == "healthy", body
    assert body["environment"] == "development", body
    assert body["redis"] == "connected", body  # the in-process broker is always usable
    assert body["broker"] in ("in_process", "redis"), body
    if "REDIS_URL" not in ws_env.server.env:
        assert body["broker"] == "in_process", body
    assert isinstance(body["active_connections"], int) and body["active_connections"] >= 0, body


def test_gateway_metrics(ws_env):
    u = ws_env.api.new_user("met")

    async def body():
        c = await ws_env.open(u)
        await c.ping()

    arun(body())
    r = expect(ws_env.gw.get("/metrics"), 200)
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    lines = [ln for ln in r.text.splitlines() if ln.strip()]
    assert any(ln.startswith("# TYPE ") for ln in lines), r.text[:500]
    samples = [ln for ln in lines if not ln.startswith("#")]
    assert samples, r.text[:500]
    for ln in samples:
        assert _PROM_SAMPLE.match(ln), f"not a Prometheus sample line: {ln!r}"


def test_stats_and_health_follow_connections(ws_env):
    """/stats and /health's active_connections change synchronously with
    connects and disconnects (per node)."""
    api = ws_env.api
    a, b = api.new_user("st"), api.new_user("st")
    ch = api.create_channel(a)

    def stats():
        s = ws_env.stats()
        assert list(s) == ["total_connections", "unique_users_online", "active_channels",
                           "users_online"], s
        assert isinstance(s["users_online"], list), s
        assert s["unique_users_online"] == len(s["users_online"]), s
        assert all(is_uuid(x) for x in s["users_online"]), s
        return s

    def active():
        return expect(ws_env.health(), 200).json()["active_connections"]

    async def body():
        base = stats()
        base_active = active()
        assert a.id not in base["users_online"] and b.id not in base["users_online"], base

        a1 = await ws_env.open(a)
        s = stats()  # synchronous: visible as soon as the upgrade completed
        assert s["total_connections"] == base["total_connections"] + 1, (base, s)
        assert s["unique_users_online"] == base["unique_users_online"] + 1, (base, s)
        assert a.id in s["users_online"], s
        assert active() == base_active + 1

        a2 = await ws_env.open(a)
        b1 = await ws_env.open(b)
        s = stats()
        assert s["total_connections"] == base["total_connections"] + 3, (base, s)
        assert s["unique_users_online"] == base["unique_users_online"] + 2, (base, s)
        assert {a.id, b.id} <= set(s["users_online"]), s
        assert active() == base_active + 2  # distinct users, not sockets

        await a1.subscribe(ch["id"])
        s = stats()
        assert s["active_channels"] >= base["active_channels"] + 1, (base, s)

        await a2.close()
        # The client's close returns once the server answered the close frame;
        # allow the server a moment to finish its side.
        poll_until(lambda: stats()["total_connections"] == base["total_connections"] + 2, 1.0,
                   what="total_connections after one close")
        assert a.id in stats()["users_online"]
        await a1.close()
        poll_until(lambda: a.id not in stats()["users_online"], 1.0, what="user a gone")
        s = stats()
        assert s["total_connections"] == base["total_connections"] + 1, s
        assert s["active_channels"] == base["active_channels"], (base, s)
        await b1.close()
        poll_until(lambda: stats()["total_connections"] == base["total_connections"], 1.0,
                   what="all closed")
        assert active() == base_active

    arun(body())


# --------------------------------------------------------------------------- #
# Connecting
# --------------------------------------------------------------------------- #

def test_no_frame_on_connect_then_ping_pong(ws_env):
    u = ws_env.api.new_user("png")

    async def body():
        c = await ws_env.open(u)
        await c.silence(0.7, "on connect")
        pong = await c.ping()
        assert pong["type"] == "pong", pong
        pong2 = await c.ping()
        assert pong2["timestamp"] >= pong["timestamp"], (pong, pong2)
        await c.silence(0.3, "after pong")

    arun(body())


def test_auth_token_in_query(ws_env):
    api = ws_env.api
    u = api.new_user("wsq")
    ch = api.create_channel(u)

    async def body():
        c = await ws_env.open(u)
        await c.subscribe(ch["id"])
        ack = await c.send_acked(ch["id"], "via query token")
        f = await c.recv_type("message.receive")
        assert f["user_id"] == u.id and f["username"] == u.username, f
        assert f["message_id"] == ack["message_id"], (f, ack)
        assert u.id in ws_env.stats()["users_online"]

    arun(body())


def test_auth_bearer_header(ws_env):
    api = ws_env.api
    u = api.new_user("wsh")
    ch = api.create_channel(u)

    async def body():
        c = await ws_env.open(u, headers={"Authorization": f"Bearer {u.token}"})
        await c.subscribe(ch["id"])
        await c.send_acked(ch["id"], "via header")
        f = await c.recv_type("message.receive")
        assert f["user_id"] == u.id, f
        # A bad header is refused like a bad query token.
        status = await ws_env.refused_status(ws_env.url(),
                                             headers={"Authorization": "Bearer nope.nope.nope"})
        assert status == 401, status

    arun(body())


def test_auth_ticket_single_use(ws_env):
    api = ws_env.api
    u = api.new_user("wst")
    ch = api.create_channel(u)
    ticket = expect(api.post("/api/v1/users/ws-ticket", u), 201).json()["ticket"]

    async def body():
        c = await ws_env.open(ticket=ticket)
        await c.subscribe(ch["id"])
        await c.send_acked(ch["id"], "via ticket")
        f = await c.recv_type("message.receive")
        assert f["user_id"] == u.id and f["username"] == u.username, f
        # Single use: the same ticket again is refused, even while the first
        # socket is still open, and after it closed.
        assert await ws_env.refused_status(ws_env.url(ticket=ticket)) == 401
        await c.close()
        assert await ws_env.refused_status(ws_env.url(ticket=ticket)) == 401
        # A fresh ticket works.
        t2 = expect(api.post("/api/v1/users/ws-ticket", u), 201).json()["ticket"]
        c2 = await ws_env.open(ticket=t2)
        await c2.ping()
        # Garbage and empty tickets are refused.
        assert await ws_env.refused_status(ws_env.url(ticket="not-a-ticket")) == 401
        assert await ws_env.refused_status(ws_env.url(ticket="")) == 401

    arun(body())


def test_auth_bad_tokens_refused(ws_env):
    api = ws_env.api
    u = api.new_user("wsb")
    secret = ws_env.server.secret_key
    now = int(time.time())
    claims = {"sub": u.id, "username": u.username, "exp": now + 600, "iat": now,
              "jti": uuid.uuid4().hex}
    bad = {
        "missing": None,
        "garbage": "garbage",
        "wrong key": forge_jwt(claims, "x" * 64),
        "alg none": forge_jwt(claims, None, alg="none"),
        "expired": forge_jwt({**claims, "exp": now - 60, "iat": now - 3600}, secret),
        "unknown user": forge_jwt({**claims, "sub": str(uuid.uuid4())}, secret),
        "sub not a uuid": forge_jwt({**claims, "sub": "not-a-uuid"}, secret),
    }

    async def body():
        for what, token in bad.items():
            status = await ws_env.refused_status(ws_env.url(token=token))
            assert status == 401, f"{what}: HTTP {status}"
        status = await ws_env.refused_status(ws_env.url(raw_query="token="))
        assert status == 401, f"empty token: HTTP {status}"
        # The real token still works after all that.
        c = await ws_env.open(u)
        await c.ping()

    arun(body())


def test_revoked_token_refused_and_open_socket_closed_4001(ws_env):
    api = ws_env.api
    u = api.new_user("rev")
    other_session = api.login(u)

    async def body():
        c = await ws_env.open(u)
        keep = await ws_env.open(other_session, label="other session")
        await c.ping()
        expect(api.post("/api/v1/users/logout", u), 204)
        t0 = asyncio.get_running_loop().time()
        code = await c.closed(timeout=2.5)  # REVOCATION_POLL_MS=300 + slack
        elapsed = asyncio.get_running_loop().time() - t0
        assert code == 4001, f"close code {code} (after {elapsed:.2f} s)"
        # Refused at connect from then on (the same process revoked it).
        deadline = asyncio.get_running_loop().time() + 2.0
        while True:
            status = await ws_env.refused_status(ws_env.url(token=u.token))
            if status == 401:
                break
            assert asyncio.get_running_loop().time() < deadline, f"revoked token: HTTP {status}"
            await asyncio.sleep(0.1)
        # Only that session: the user's other session keeps its socket.
        await keep.ping()
        await keep.silence(0.2)

    arun(body())


# --------------------------------------------------------------------------- #
# Bad frames
# --------------------------------------------------------------------------- #

def test_unknown_type_and_bad_json(ws_env):
    u = ws_env.api.new_user("bad")

    async def body():
        c = await ws_env.open(u)
        await c.send({"type": "no.such.type"})
        await c.expect_error("unknown_type")
        await c.send({"type": "PING"})  # types are exact
        await c.expect_error("unknown_type")
        for raw in ("{not json", "", "   ", '{"type":"ping"', "nul", '{"type":"ping"}}'):
            await c.send(raw)
            f = await c.expect("error")
            assert f["code"] == "bad_request", (raw, f)
        for raw in ('[{"type":"ping"}]', "[]", '"ping"', "42", "null", "true"):
            await c.send(raw)
            f = await c.expect("error")
            assert f["code"] == "bad_request", (raw, f)
        # Objects without a usable type.
        for obj in ({}, {"type": None}, {"type": 7}, {"channel_id": str(uuid.uuid4())}):
            await c.send(obj)
            f = await c.expect("error")
            assert f["code"] in ("invalid", "unknown_type", "bad_request"), (obj, f)
        # Still open and answering.
        await c.ping()
        await c.silence(0.2)

    arun(body())


def test_invalid_fields(ws_env):
    api = ws_env.api
    u = api.new_user("inv")
    ch = api.create_channel(u)
    cid = ch["id"]

    bad = [
        {"type": "channel.subscribe"},
        {"type": "channel.subscribe", "channel_id": "not-a-uuid"},
        {"type": "channel.subscribe", "channel_id": 12},
        {"type": "channel.subscribe", "channel_id": None},
        {"type": "channel.subscribe", "channel_id": cid, "since_seq": "five"},
        {"type": "channel.subscribe", "channel_id": cid, "since_seq": -1},
        # Booleans are read like REST bodies (pydantic's lax mode: "yes" is true).
        {"type": "channel.subscribe", "channel_id": cid, "presence": "sometimes"},
        {"type": "channel.subscribe", "channel_id": cid, "presence": [True]},
        {"type": "channel.unsubscribe"},
        {"type": "channel.unsubscribe", "channel_id": "xyz"},
        {"type": "message.send", "channel_id": cid},
        {"type": "message.send", "content": "no channel"},
        {"type": "message.send", "channel_id": "bad", "content": "x"},
        {"type": "message.send", "channel_id": cid, "content": ""},
        {"type": "message.send", "channel_id": cid, "content": "   "},
        {"type": "message.send", "channel_id": cid, "content": 5},
        {"type": "message.send", "channel_id": cid, "content": "x" * 10001},
        {"type": "message.send", "channel_id": cid, "content": "x", "message_type": "video"},
        {"type": "message.send", "channel_id": cid, "content": "x", "metadata": [1, 2]},
        {"type": "message.send", "channel_id": cid, "content": "x", "parent_id": "nope"},
        {"type": "typing.start"},
        {"type": "typing.stop", "channel_id": "nope"},
    ]

    async def body():
        c = await ws_env.open(u)
        wrong = []
        for obj in bad:
            await c.send(obj)
            f = await c.recv()
            if f["type"] == "success":  # undo an accepted subscribe, keep going
                await c.collect(0.3)
                await c.send({"type": "channel.unsubscribe", "channel_id": cid})
                await c.recv_type("success")
                c.pending.clear()
            elif f["type"] == "message.ack":
                await c.silence(0.2)
            if f["type"] != "error" or f["code"] != "invalid" or "client_msg_id" in f:
                wrong.append(f"{obj} -> {f}")
        # A failed message.send that carried a client_msg_id echoes it.
        await c.send({"type": "message.send", "channel_id": cid, "content": "",
                      "client_msg_id": "cm-1"})
        await c.expect_error("invalid", client_msg_id="cm-1")
        await c.ping()
        # Nothing was stored.
        assert api.history(cid, u) == []
        assert not wrong, "not refused with code invalid:\n" + "\n".join(wrong)

    arun(body())


def test_binary_frame_closes_1003(ws_env):
    u = ws_env.api.new_user("bin")

    async def body():
        c = await ws_env.open(u)
        await c.ping()
        await c.send(b'{"type":"ping"}')
        code = await c.closed()
        assert code == 1003, f"close code {code}"
        c2 = await ws_env.open(u)  # the server is fine
        await c2.ping()

    arun(body())


def test_oversized_frame_closes_1009(start_ws_server):
    env = start_ws_server("wsframe", WS_MAX_FRAME_BYTES="4096")
    api = env.api
    u = api.new_user("big")
    ch = api.create_channel(u)

    async def body():
        c = await env.open(u)
        await c.subscribe(ch["id"])
        # Just under the limit is fine.
        ack = await c.send_acked(ch["id"], "y" * 3500)
        f = await c.recv_type("message.receive")
        assert f["seq"] == ack["seq"] and len(f["content"]) == 3500, f
        c.pending.clear()
        await c.send({"type": "message.send", "channel_id": ch["id"], "content": "z" * 5000})
        code = await c.closed()
        assert code == 1009, f"close code {code}"
        assert len(api.history(ch["id"], u)) == 1
        c2 = await env.open(u)
        await c2.ping()

    arun(body())


def test_default_frame_limit_is_64k(ws_env):
    u = ws_env.api.new_user("big64")

    async def body():
        c = await ws_env.open(u)
        await c.send('{"type":"ping","pad":"' + "p" * 60000 + '"}')
        await c.expect("pong")
        await c.send('{"type":"ping","pad":"' + "p" * 70000 + '"}')
        code = await c.closed()
        assert code == 1009, f"close code {code}"

    arun(body())


def test_server_survives_abuse(ws_env):
    """After bad frames, binary frames, oversized frames and abrupt
    disconnects, a new connection works and /health is fine."""
    api = ws_env.api
    u = api.new_user("abu")
    ch = api.create_channel(u)

    async def body():
        for payload in (b"\x00\x01", "x" * 70000, "{", "[]"):
            c = await ws_env.open(u)
            await c.send(payload)
            if isinstance(payload, str) and len(payload) < 100:
                await c.expect_error("bad_request")
            c.abort()  # drop the TCP connection without a close frame
        c = await ws_env.open(u)
        await c.subscribe(ch["id"])
        await c.send({"type": "channel.subscribe", "channel_id": ch["id"]})
        c.abort()
        expect(ws_env.health(), 200)
        c = await ws_env.open(u)
        await c.subscribe(ch["id"])
        await c.send_acked(ch["id"], "still here")
        await c.recv_type("message.receive")

    arun(body())


def test_idle_socket_without_pongs_is_closed(start_ws_server):
    """The server pings at the protocol level and closes sockets that never
    answer; a client that answers stays connected."""
    env = start_ws_server("wsidle", WS_IDLE_TIMEOUT_SECONDS="2")
    u = env.api.new_user("idle")

    async def body():
        alive = await env.open(u)  # websockets answers pings by itself
        raw = RawWs(env.url(u))
        assert raw.status == 101
        t0 = time.monotonic()
        code, frames = await asyncio.to_thread(raw.read_until_close, 15.0)
        elapsed = time.monotonic() - t0
        raw.close()
        assert raw.pings >= 1, f"no protocol ping before the close (after {elapsed:.1f} s)"
        assert elapsed <= 2 * 3 + 2, f"dead socket closed only after {elapsed:.1f} s"
        assert frames == [], frames
        # The answering client is still there, past the timeout.
        await alive.ping()
        await asyncio.sleep(max(0.0, 5.0 - (time.monotonic() - t0)))
        await alive.ping()

    arun(body())


def test_ticket_expires(start_ws_server):
    # Tickets expire on whole seconds (the JWT `exp`): a 1 s ticket issued just
    # before a second ends lives only a moment, so 2 s, used at once, is in time.
    env = start_ws_server("wsticket", WS_TICKET_TTL_SECONDS="2")
    u = env.api.new_user("tkx")
    body_ = expect(env.api.post("/api/v1/users/ws-ticket", u), 201).json()
    assert body_["expires_in"] == 2, body_
    fresh = expect(env.api.post("/api/v1/users/ws-ticket", u), 201).json()["ticket"]

    async def body():
        c = await env.open(ticket=fresh)  # in time: accepted
        await c.ping()
        await asyncio.sleep(3.2)
        assert await env.refused_status(env.url(ticket=body_["ticket"])) == 401

    arun(body())
