"""WebSocket gateway: limits and endings (contract.md sections 1 and 3): slow
consumers (4008), send rate limits (rate_limited, then 4029), sockets per user
(429), subscriptions per socket, and shutdown (1012)."""

import asyncio
import signal
import time
import uuid

import pytest

from conftest import RawWs, arun, expect, poll_until


def test_slow_consumer_closed_4008_while_fast_reader_gets_everything(start_ws_server):
    env = start_ws_server("wsslow", WS_SEND_QUEUE_BYTES="65536")
    api = env.api
    owner, fast, slow = api.new_user("slo"), api.new_user("fst"), api.new_user("slw")
    ch = api.create_channel(owner)
    cid = ch["id"]
    content = "s" * 8000
    # 800 x 8 KB = 6.4 MB: far more than the 64 KB queue plus what the kernel
    # buffers on loopback with a 4 KB receive window (about 3 MB here). Sent in
    # batches of 4 (32 KB), each one after the fast reader has read the last:
    # the fast reader really keeps up, its queue never holds more than a batch.
    batch, total = 4, 800

    async def body():
        # The slow client: a raw socket with a tiny receive window that reads
        # its success frame and then nothing more.
        raw = RawWs(env.url(slow), rcvbuf=4096)
        assert raw.status == 101, raw.status
        raw.send_json({"type": "channel.subscribe", "channel_id": cid})
        f = raw.read_json()
        assert f["type"] == "success" and f["data"] == {"channel_id": cid}, f

        fr = await env.open(fast, label="fast reader")
        await fr.subscribe(cid)
        s = await env.open(owner, label="sender")  # not subscribed: only acks
        got = []

        async def reader():
            while True:
                got.append(await fr.expect("message.receive", timeout=30))

        rtask = asyncio.create_task(reader())
        sent = 0
        try:
            while sent < total:
                ids = [str(uuid.uuid4()) for _ in range(batch)]
                for cmid in ids:
                    await s.send_message(cid, content, client_msg_id=cmid)
                for cmid in ids:
                    await s.recv_type("message.ack", timeout=15, client_msg_id=cmid)
                sent += batch
                while len(got) < sent:
                    if rtask.done():
                        rtask.result()
                    await asyncio.sleep(0.001)
            # The fast reader gets every message, in order.
            deadline = asyncio.get_running_loop().time() + 30
            while len(got) < sent and asyncio.get_running_loop().time() < deadline:
                if rtask.done():
                    rtask.result()
                await asyncio.sleep(0.05)
        finally:
            rtask.cancel()
        assert [f["seq"] for f in got] == list(range(1, sent + 1)), \
            f"fast reader got {len(got)} of {sent}"

        # What the slow client finally reads: a prefix of the messages, in
        # order, then the close frame 4008.
        code, frames = await asyncio.to_thread(raw.read_until_close, 30.0)
        seqs = [f["seq"] for f in frames if f.get("type") == "message.receive"]
        assert seqs == list(range(1, len(seqs) + 1)), seqs[:20]
        assert code == 4008, f"close code {code} after {len(frames)} frames"
        assert len(seqs) < sent, "the slow consumer got everything: it was never slow"
        # Complete the close handshake: the server then ends the connection.
        raw.send_close(4008)
        raw.sock.settimeout(5)
        assert raw.sock.recv(100) == b"", "the server kept the TCP connection open"
        raw.close()
        t_closed = time.monotonic()

        # It can reconnect and recover with since_seq (the last few messages:
        # replaying megabytes into a 64 KB queue is not what this test is about).
        back = await env.open(slow, label="slow, back")
        f = await back.subscribe(cid, since_seq=sent - 3)
        assert f["data"]["recovered"] is True, f
        tail = [await back.expect("message.receive", timeout=10) for _ in range(3)]
        assert [x["seq"] for x in tail] == [sent - 2, sent - 1, sent], tail
        await back.silence(0.3)
        await back.close()

        # The closed socket no longer counts (/stats follows disconnects).
        poll_until(lambda: slow.id not in env.stats()["users_online"],
                   max(0.1, 2.0 - (time.monotonic() - t_closed)),
                   what="slow consumer gone from /stats within 2 s of its TCP close")

    arun(body(), timeout=150)


@pytest.mark.parametrize("close_after", [None, 3])
def test_rate_limit_errors_then_close_4029(start_ws_server, close_after):
    extra = {} if close_after is None else {"WS_RATE_LIMIT_CLOSE_AFTER": str(close_after)}
    env = start_ws_server("wsrate", RATE_LIMIT_ENABLED="true", RATE_LIMIT_BURST="3",
                          RATE_LIMIT_PER_MINUTE="1", **extra)
    limit = close_after or 10  # WS_RATE_LIMIT_CLOSE_AFTER defaults to 10
    api = env.api
    u, other = api.new_user("rl"), api.new_user("rlo")
    ch = api.create_channel(u)
    cid = ch["id"]
    api.add_member(cid, u, other)

    async def body():
        c = await env.open(u)
        for i in range(3):  # the burst
            await c.send_acked(cid, f"ok {i}")
        # The bucket is shared with REST.
        r = api.post("/api/v1/messages/", u, json={"channel_id": cid, "content": "rest"})
        expect(r, 429)
        # Past the limit: rate_limited errors (echoing client_msg_id), then 4029.
        n = limit + 5
        for i in range(n):
            await c.send_message(cid, f"too many {i}", client_msg_id=f"rl-{i}")
        code = await c.closed(timeout=5)
        frames = list(c.pending)
        assert all(f["type"] == "error" for f in frames), frames
        assert all(f["code"] == "rate_limited" for f in frames), frames
        assert [f["client_msg_id"] for f in frames] == [f"rl-{i}" for i in range(len(frames))]
        # "after N such errors": the N-th error is followed by the close (one
        # more is tolerated: the (N+1)-th offence may be what closes).
        assert limit <= len(frames) <= limit + 1, f"{len(frames)} errors before the close"
        assert code == 4029, f"close code {code}"
        assert len(api.history(cid, u)) == 3
        # Another user has a bucket of their own.
        o = await env.open(other)
        await o.send_acked(cid, "still fine")
        # Pings and subscriptions are not rate limited.
        c2 = await env.open(u)
        for _ in range(20):
            await c2.ping()
        await c2.subscribe(cid)

    arun(body())


def test_max_sockets_per_user_429(start_ws_server):
    env = start_ws_server("wsmaxsock", WS_MAX_SOCKETS_PER_USER="2")
    api = env.api
    u, v = api.new_user("ms"), api.new_user("msv")

    async def body():
        c1 = await env.open(u)
        await env.open(u)
        assert await env.refused_status(env.url(u)) == 429
        ticket = expect(api.post("/api/v1/users/ws-ticket", u), 201).json()["ticket"]
        assert await env.refused_status(env.url(ticket=ticket)) == 429
        # Other users are not affected.
        await (await env.open(v)).ping()
        # Closing one frees a slot.
        await c1.close()
        poll_until(lambda: env.stats()["total_connections"] == 2, 1.0, what="close counted")
        c3 = await env.open(u)
        await c3.ping()
        assert await env.refused_status(env.url(u)) == 429

    arun(body())


def test_max_subscriptions_per_socket(start_ws_server):
    env = start_ws_server("wsmaxsub", WS_MAX_SUBSCRIPTIONS_PER_SOCKET="2")
    api = env.api
    u = api.new_user("msub")
    chans = [api.create_channel(u)["id"] for _ in range(3)]

    async def body():
        c = await env.open(u)
        await c.subscribe(chans[0])
        await c.subscribe(chans[1])
        await c.send({"type": "channel.subscribe", "channel_id": chans[2]})
        await c.expect_error("invalid")
        await c.ping()
        m = api.send(u, chans[2], "not for this socket")
        await c.silence(0.4, "(subscription refused)")
        await c.unsubscribe(chans[0])
        await c.subscribe(chans[2])
        m = api.send(u, chans[2], "now yes")
        f = await c.expect("message.receive")
        assert f["message_id"] == m["id"], f
        # The budget is per socket.
        c2 = await env.open(u)
        await c2.subscribe(chans[0])
        await c2.subscribe(chans[1])

    arun(body())


def test_sigterm_closes_sockets_1012(start_ws_server):
    env = start_ws_server("wsterm")
    api = env.api
    a, b = api.new_user("term"), api.new_user("termb")
    ch = api.create_channel(a)

    async def body():
        socks = [await env.open(a), await env.open(a), await env.open(b)]
        await socks[0].subscribe(ch["id"])
        await socks[2].subscribe(ch["id"], presence=True)
        socks[2].pending.clear()
        await socks[2].collect(0.3)
        env.server.proc.send_signal(signal.SIGTERM)
        codes = []
        for c in socks:
            codes.append(await c.closed(timeout=8))
        assert codes == [1012, 1012, 1012], codes

    arun(body())
    srv = env.server
    srv.proc.wait(timeout=10)
    srv.stop()
    assert srv.clean_exit(), f"exit {srv.exit_code}\n{srv.log_tail()}"


def test_slow_consumer_goes_offline_when_its_connection_ends(start_ws_server):
    """A socket closed for being slow stops counting once its connection is
    gone, like any other: /stats drops it and presence says offline. Here the
    sender bursts (25 messages of 8 KB per round) into a channel only the slow
    client reads; a watcher follows presence in another channel."""
    env = start_ws_server("wsslow2", WS_SEND_QUEUE_BYTES="65536")
    api = env.api
    owner, slow = api.new_user("sl2o"), api.new_user("sl2s")
    flood = api.create_channel(owner)["id"]
    room = api.create_channel(owner)["id"]
    api.add_member(room, owner, slow)

    async def body():
        w = await env.open(owner, label="watcher")
        await w.subscribe(room, presence=True)
        await w.collect(0.3)
        raw = RawWs(env.url(slow), rcvbuf=4096)
        raw.send_json({"type": "channel.subscribe", "channel_id": flood})
        assert raw.read_json()["type"] == "success"
        f = await w.expect("presence.update")
        assert (f["user_id"], f["status"]) == (slow.id, "online"), f
        s = await env.open(owner, label="sender")
        for _ in range(32):
            ids = [str(uuid.uuid4()) for _ in range(25)]
            for cmid in ids:
                await s.send_message(flood, "s" * 8000, client_msg_id=cmid)
            for cmid in ids:
                await s.recv_type("message.ack", timeout=15, client_msg_id=cmid)
        code, frames = await asyncio.to_thread(raw.read_until_close, 30.0)
        assert code == 4008, f"close code {code} after {len(frames)} frames"
        raw.send_close(1000)
        raw.sock.settimeout(5)
        assert raw.sock.recv(100) == b"", "the server kept the TCP connection open"
        raw.close()
        f = await w.expect("presence.update", timeout=2.0)
        assert (f["user_id"], f["status"]) == (slow.id, "offline"), f
        stats = env.stats()
        assert slow.id not in stats["users_online"], stats
        assert stats["total_connections"] == 2, stats  # watcher and sender

    arun(body())


def test_typing_not_sent_in_crowded_channels(start_ws_server):
    env = start_ws_server("wstyping", WS_TYPING_MAX_SUBSCRIBERS="2")
    api = env.api
    a, b, c_ = api.new_user("tca"), api.new_user("tcb"), api.new_user("tcc")
    small, big = api.create_channel(a)["id"], api.create_channel(a)["id"]

    async def body():
        sa, sb, sc = await env.open(a), await env.open(b), await env.open(c_)
        await sa.subscribe(small)
        await sb.subscribe(small)
        for s in (sa, sb, sc):
            await s.subscribe(big)
        await sa.send({"type": "typing.start", "channel_id": small})  # 2 subscribers
        f = await sb.expect("typing.indicator")
        assert f["channel_id"] == small, f
        await sa.send({"type": "typing.start", "channel_id": big})  # 3 subscribers > 2
        await sb.silence(0.5, "(typing in a crowded channel)")
        await sc.silence(0.1, "(typing in a crowded channel)")
        # Messages still flow there.
        m = api.send(a, big, "still delivered")
        for s in (sa, sb, sc):
            f = await s.expect("message.receive")
            assert f["message_id"] == m["id"], f

    arun(body())
