"""WebSocket gateway: recovery with `since_seq` (contract.md section 3,
channel.subscribe): the success frame first, then the missed messages in seq
order (deleted ones skipped), then live ones, with no gap and no duplicate;
`recovered:false` beyond the replay window."""

import asyncio

from conftest import arun, check_msg_frame, expect


def _seqs(frames):
    return [f["seq"] for f in frames]


def test_recover_100_messages_after_disconnect(ws_env):
    api = ws_env.api
    owner, reader = api.new_user("rcown"), api.new_user("rcrdr")
    ch = api.create_channel(owner)
    cid = ch["id"]

    async def body():
        s = await ws_env.open(owner, label="sender")  # not subscribed: only acks
        r = await ws_env.open(reader, label="reader")
        await r.subscribe(cid)
        for i in range(3):
            await s.send_acked(cid, f"live {i}")
        live = [await r.expect("message.receive") for _ in range(3)]
        assert _seqs(live) == [1, 2, 3]
        last_seen = live[-1]["seq"]
        await r.close()

        expected = []
        for i in range(100):
            if i % 3 == 0:
                m = api.send(owner, cid, f"away {i} (rest)")
                expected.append((m["id"], m["seq"]))
            else:
                ack = await s.send_acked(cid, f"away {i} (ws)")
                expected.append((ack["message_id"], ack["seq"]))
        assert [x[1] for x in expected] == list(range(4, 104))

        r2 = await ws_env.open(reader, label="reader, reconnected")
        f = await r2.subscribe(cid, since_seq=last_seen)
        assert f["data"] == {"channel_id": cid, "recovered": True}, f
        replay = [await r2.expect("message.receive") for _ in range(100)]
        assert [(x["message_id"], x["seq"]) for x in replay] == expected
        history = {m["id"]: m for m in api.history(cid, reader, after_seq=last_seen, limit=100)}
        for x in replay:
            check_msg_frame(x, history[x["message_id"]])
        # Live continues without a gap.
        for i in range(5):
            if i % 2:
                api.send(owner, cid, f"after {i}")
            else:
                await s.send_acked(cid, f"after {i}")
        after = [await r2.expect("message.receive") for _ in range(5)]
        assert _seqs(after) == list(range(104, 109))
        await r2.silence(0.4, "(no duplicates)")

    arun(body(), timeout=90)


def test_replay_and_live_race_has_no_gap_or_duplicate(ws_env):
    """Messages keep arriving while the client subscribes with since_seq: the
    replay and the live stream join without a gap or a duplicate."""
    api = ws_env.api
    owner, reader = api.new_user("rrown"), api.new_user("rrrdr")
    ch = api.create_channel(owner)
    cid = ch["id"]
    total = 80

    async def body():
        s = await ws_env.open(owner, label="sender")
        for i in range(5):
            await s.send_acked(cid, f"before {i}")
        started = asyncio.Event()

        async def sender():
            for i in range(total):
                await s.send_acked(cid, f"flow {i}")
                if i == 20:
                    started.set()

        task = asyncio.create_task(sender())
        await started.wait()
        r = await ws_env.open(reader)
        f = await r.subscribe(cid, since_seq=5)
        assert f["data"]["recovered"] is True, f
        await task
        last = 5 + total
        got = []
        while not got or got[-1]["seq"] < last:
            got.append(await r.expect("message.receive"))
        assert _seqs(got) == list(range(6, last + 1)), _seqs(got)
        await r.silence(0.4, "(no duplicates after the last message)")

    arun(body(), timeout=90)


def test_replay_skips_deleted_and_shows_edits(ws_env):
    api = ws_env.api
    owner, reader = api.new_user("rdown"), api.new_user("rdrdr")
    ch = api.create_channel(owner, private=True)
    api.add_member(ch["id"], owner, reader)
    cid = ch["id"]
    msgs = [api.send(owner, cid, f"m{i}") for i in range(1, 9)]  # seq 1..8
    expect(api.delete(f"/api/v1/messages/{msgs[3]['id']}", owner), 204)  # seq 4
    expect(api.delete(f"/api/v1/messages/{msgs[7]['id']}", owner), 204)  # seq 8 (the last)
    edited = expect(api.put(f"/api/v1/messages/{msgs[4]['id']}", owner,
                            json={"content": "m5 edited"}), 200).json()

    async def body():
        r = await ws_env.open(reader)
        f = await r.subscribe(cid, since_seq=2)
        assert f["data"]["recovered"] is True, f
        replay = [await r.expect("message.receive") for _ in range(4)]
        assert _seqs(replay) == [3, 5, 6, 7], replay
        assert replay[1]["content"] == "m5 edited", replay[1]
        check_msg_frame(replay[1], edited)
        await r.silence(0.4, "(deleted messages are not replayed)")
        nxt = api.send(owner, cid, "m9")
        assert nxt["seq"] == 9
        check_msg_frame(await r.expect("message.receive"), nxt)

    arun(body())


def test_since_seq_edges(ws_env):
    api = ws_env.api
    owner = api.new_user("reown")
    ch = api.create_channel(owner)
    cid = ch["id"]
    msgs = [api.send(owner, cid, f"e{i}") for i in range(1, 4)]

    async def body():
        # Up to date: nothing to replay.
        a = await ws_env.open(owner, label="up to date")
        f = await a.subscribe(cid, since_seq=3)
        assert f["data"] == {"channel_id": cid, "recovered": True}, f
        await a.silence(0.4, "(nothing missed)")
        # since_seq 0: everything.
        b = await ws_env.open(owner, label="from zero")
        f = await b.subscribe(cid, since_seq=0)
        assert f["data"]["recovered"] is True, f
        got = [await b.expect("message.receive") for _ in range(3)]
        for frame, m in zip(got, msgs):
            check_msg_frame(frame, m)
        await b.silence(0.3)
        # An empty channel.
        empty = api.create_channel(owner)
        c = await ws_env.open(owner, label="empty")
        f = await c.subscribe(empty["id"], since_seq=0)
        assert f["data"]["recovered"] is True, f
        await c.silence(0.3)
        # Then live messages reach all three exactly once.
        live = api.send(owner, cid, "live")
        for x in (a, b):
            check_msg_frame(await x.expect("message.receive"), live)
            await x.silence(0.2)

    arun(body())


def test_recovered_false_beyond_the_replay_window(start_ws_server):
    env = start_ws_server("wsreplay", WS_REPLAY_MAX_MESSAGES="5", WS_REPLAY_MAX_AGE_SECONDS="0")
    api = env.api
    owner, reader = api.new_user("rwown"), api.new_user("rwrdr")
    ch = api.create_channel(owner)
    cid = ch["id"]
    for i in range(1, 21):
        api.send(owner, cid, f"w{i}")  # seq 1..20

    async def body():
        # 18 missing > 5: not recovered.
        r = await env.open(reader, label="far behind")
        f = await r.subscribe(cid, since_seq=2)
        assert f["data"] == {"channel_id": cid, "recovered": False}, f
        # Exactly 5 missing: recovered.
        q = await env.open(reader, label="5 behind")
        f = await q.subscribe(cid, since_seq=15)
        assert f["data"] == {"channel_id": cid, "recovered": True}, f
        got = [await q.expect("message.receive") for _ in range(5)]
        assert _seqs(got) == [16, 17, 18, 19, 20]
        # 6 missing: not recovered.
        p = await env.open(reader, label="6 behind")
        f = await p.subscribe(cid, since_seq=14)
        assert f["data"]["recovered"] is False, f

        live = api.send(owner, cid, "w21")
        f = await q.expect("message.receive")
        check_msg_frame(f, live)
        for x in (r, p):
            # Whatever the server chose to send before the live message (the
            # client re-reads history over REST anyway), it is in order and
            # ends with the live one.
            frames = []
            while not frames or frames[-1]["seq"] < 21:
                frames.append(await x.expect("message.receive"))
            seqs = _seqs(frames)
            assert seqs == sorted(set(seqs)) and seqs[-1] == 21, seqs
            check_msg_frame(frames[-1], live)
            await x.silence(0.2)

    arun(body())
