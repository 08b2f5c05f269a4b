"""WebSocket gateway: subscriptions, live delivery of messages sent over the
WebSocket and over REST, acks and idempotency, typing, many devices, presence
and membership changes (contract.md section 3, and 2.2's last paragraph)."""

import asyncio
import uuid

from conftest import arun, check_msg_frame, expect

# --------------------------------------------------------------------------- #
# Subscribing and receiving
# --------------------------------------------------------------------------- #


def test_subscribe_replies_exactly_one_success(ws_env):
    api = ws_env.api
    u = api.new_user("sub")
    ch = api.create_channel(u)

    async def body():
        c = await ws_env.open(u)
        f = await c.subscribe(ch["id"])
        assert f["data"] == {"channel_id": ch["id"]}, f
        await c.silence(0.5, "after the success frame")

    arun(body())


def test_non_member_subscriber_gets_everything_of_a_public_channel(ws_env):
    """A non-member subscribed to a public channel receives messages sent by a
    member over the WebSocket and over REST, edits and deletes."""
    api = ws_env.api
    owner, reader = api.new_user("own"), api.new_user("rdr")
    ch = api.create_channel(owner)
    cid = ch["id"]

    async def body():
        r = await ws_env.open(reader)
        o = await ws_env.open(owner)
        await r.subscribe(cid)
        await o.subscribe(cid)

        # Over the WebSocket.
        ack = await o.send_acked(cid, "over ws", metadata={"k": [1, "two"]})
        m1 = expect(api.get(f"/api/v1/messages/{ack['message_id']}", owner), 200).json()
        f = await r.expect("message.receive")
        check_msg_frame(f, m1)
        assert f["seq"] == 1 and f["metadata"] == {"k": [1, "two"]}, f
        assert f["username"] == owner.username, f

        # Over REST.
        m2 = api.send(owner, cid, "over rest", message_type="system", client_msg_id="rest-1")
        f = await r.expect("message.receive")
        check_msg_frame(f, m2)
        assert f["seq"] == 2 and f["client_msg_id"] == "rest-1", f

        # A reply (thread) over REST carries its parent.
        m3 = api.send(owner, cid, "a reply", parent_id=m1["id"])
        f = await r.expect("message.receive")
        check_msg_frame(f, m3)
        assert f["parent_id"] == m1["id"], f

        # Edit.
        edited = expect(api.put(f"/api/v1/messages/{m2['id']}", owner,
                                json={"content": "over rest, edited"}), 200).json()
        f = await r.expect("message.updated")
        check_msg_frame(f, edited, "message.updated")
        assert f["content"] == "over rest, edited" and f["seq"] == 2, f

        # Delete: the same fields, content as stored.
        expect(api.delete(f"/api/v1/messages/{m2['id']}", owner), 204)
        f = await r.expect("message.deleted")
        check_msg_frame(f, edited, "message.deleted")

        # The owner's socket saw the same sequence (its own message.receive
        # and the ack in either order first).
        seen = [x for x in await o.collect(1.0)]
        types = [(x["type"], x.get("seq")) for x in seen]
        assert types == [("message.receive", 1), ("message.receive", 2), ("message.receive", 3),
                         ("message.updated", 2), ("message.deleted", 2)], types
        await r.silence(0.3)

    arun(body())


def test_sender_gets_receive_and_ack(ws_env):
    api = ws_env.api
    u = api.new_user("snd")
    ch = api.create_channel(u)
    cid = ch["id"]

    async def body():
        c = await ws_env.open(u)
        await c.subscribe(cid)
        cmid = "cm-" + uuid.uuid4().hex
        await c.send_message(cid, "mine", client_msg_id=cmid)
        first, second = await c.recv(), await c.recv()
        by_type = {first["type"]: first, second["type"]: second}
        assert set(by_type) == {"message.receive", "message.ack"}, (first, second)
        ack, rec = by_type["message.ack"], by_type["message.receive"]
        assert ack["client_msg_id"] == cmid and ack["channel_id"] == cid, ack
        assert ack["message_id"] == rec["message_id"] and ack["seq"] == rec["seq"] == 1, (ack, rec)
        assert rec["client_msg_id"] == cmid and rec["content"] == "mine", rec
        stored = api.history(cid, u)
        assert [m["id"] for m in stored] == [ack["message_id"]], stored
        check_msg_frame(rec, stored[0])

        # Without a client_msg_id the ack says null.
        await c.send_message(cid, "no id")
        ack2 = await c.recv_type("message.ack")
        assert ack2["client_msg_id"] is None and ack2["seq"] == 2, ack2
        rec2 = await c.recv_type("message.receive")
        assert rec2["message_id"] == ack2["message_id"] and rec2["client_msg_id"] is None, rec2

        # Not subscribed: still acked (the ack does not depend on a subscription).
        other = api.create_channel(u)
        ack3 = await c.send_acked(other["id"], "elsewhere")
        assert ack3["seq"] == 1, ack3
        await c.silence(0.3)

    arun(body())


def test_ws_send_fields_reach_subscribers(ws_env):
    """message_type, metadata and parent_id sent over the WebSocket are stored
    and delivered as sent."""
    api = ws_env.api
    u, r = api.new_user("fld"), api.new_user("fldr")
    ch = api.create_channel(u)
    cid = ch["id"]

    async def body():
        c = await ws_env.open(u)
        rd = await ws_env.open(r)
        await rd.subscribe(cid)
        root = await c.send_acked(cid, "root")
        ack = await c.send_acked(cid, "https://x.test/a.png", message_type="image",
                                 metadata={"w": 640, "h": 480, "alt": "ünïcode ✓"},
                                 parent_id=root["message_id"])
        stored = expect(api.get(f"/api/v1/messages/{ack['message_id']}", u), 200).json()
        assert stored["message_type"] == "image" and stored["parent_id"] == root["message_id"]
        assert stored["metadata"] == {"w": 640, "h": 480, "alt": "ünïcode ✓"}, stored
        f1 = await rd.expect("message.receive")
        assert f1["message_id"] == root["message_id"], f1
        check_msg_frame(await rd.expect("message.receive"), stored)
        replies = expect(api.get(f"/api/v1/messages/{root['message_id']}/replies", u), 200).json()
        assert [m["id"] for m in replies] == [ack["message_id"]], replies
        # A parent from another channel is refused.
        other = api.create_channel(u)
        await c.send_message(other["id"], "wrong thread", client_msg_id="pt-1",
                             parent_id=root["message_id"])
        f = await c.expect("error")
        assert f["code"] in ("invalid", "not_found") and f["client_msg_id"] == "pt-1", f

    arun(body())


def test_double_subscribe_delivers_once(ws_env):
    api = ws_env.api
    u = api.new_user("dbl")
    ch = api.create_channel(u)
    cid = ch["id"]

    async def body():
        c = await ws_env.open(u)
        await c.subscribe(cid)
        await c.send({"type": "channel.subscribe", "channel_id": cid})
        again = await c.recv()  # a second success, or an error: not specified
        assert again["type"] in ("success", "error"), again
        m = api.send(u, cid, "once")
        check_msg_frame(await c.expect("message.receive"), m)
        await c.silence(0.4, "(one subscription, one delivery)")
        await c.unsubscribe(cid)
        api.send(u, cid, "none")
        await c.silence(0.4, "(unsubscribed once is unsubscribed)")

    arun(body())


def test_send_by_non_member_forbidden_and_unknown_channel_not_found(ws_env):
    api = ws_env.api
    owner, outsider = api.new_user("own"), api.new_user("out")
    public = api.create_channel(owner)
    private = api.create_channel(owner, private=True)

    async def body():
        c = await ws_env.open(outsider)
        await c.subscribe(public["id"])  # reading a public channel is fine
        await c.send_message(public["id"], "let me in", client_msg_id="x-1")
        await c.expect_error("forbidden", client_msg_id="x-1")
        await c.send_message(public["id"], "no id")
        await c.expect_error("forbidden")
        await c.send_message(private["id"], "secret", client_msg_id="x-2")
        await c.expect_error("forbidden", client_msg_id="x-2")
        await c.send_message(str(uuid.uuid4()), "nowhere", client_msg_id="x-3")
        await c.expect_error("not_found", client_msg_id="x-3")
        await c.ping()
        assert api.history(public["id"], owner) == []
        assert api.history(private["id"], owner) == []

    arun(body())


def test_repeated_client_msg_id_is_stored_once(ws_env):
    api = ws_env.api
    u = api.new_user("idem")
    ch = api.create_channel(u)
    cid = ch["id"]

    async def body():
        c = await ws_env.open(u)
        ack1 = await c.send_acked(cid, "once", client_msg_id="same-id")
        ack2 = await c.send_acked(cid, "once", client_msg_id="same-id")
        assert ack2["message_id"] == ack1["message_id"] and ack2["seq"] == ack1["seq"], (ack1, ack2)
        # The REST path shares the same idempotency (per sender).
        r = expect(api.post("/api/v1/messages/", u, json={
            "channel_id": cid, "content": "once", "client_msg_id": "same-id"}), 200)
        assert r.json()["id"] == ack1["message_id"]
        history = api.history(cid, u)
        assert [m["id"] for m in history] == [ack1["message_id"]], history
        # The next message takes the next seq: no gap from the repeats.
        ack3 = await c.send_acked(cid, "twice")
        assert ack3["seq"] == ack1["seq"] + 1, ack3

    arun(body())


# --------------------------------------------------------------------------- #
# Typing
# --------------------------------------------------------------------------- #

def test_typing_reaches_others_not_the_sender_user(ws_env):
    api = ws_env.api
    a, b, n = api.new_user("tya"), api.new_user("tyb"), api.new_user("tyn")
    ch = api.create_channel(a)
    api.add_member(ch["id"], a, b)
    cid = ch["id"]

    async def body():
        a1, a2 = await ws_env.open(a, label="a1"), await ws_env.open(a, label="a2")
        b1 = await ws_env.open(b, label="b1")
        n1 = await ws_env.open(n, label="n1 (non-member)")
        for c in (a1, a2, b1, n1):
            await c.subscribe(cid)

        await a1.send({"type": "typing.start", "channel_id": cid})
        for c in (b1, n1):
            f = await c.expect("typing.indicator")
            assert f == {**f, "channel_id": cid, "user_id": a.id, "username": a.username,
                         "is_typing": True}, f
        await a1.send({"type": "typing.stop", "channel_id": cid})
        for c in (b1, n1):
            f = await c.expect("typing.indicator")
            assert (f["user_id"], f["is_typing"]) == (a.id, False), f
        # None of the sender user's sockets hears its own typing.
        await a1.silence(0.4, "(own typing)")
        await a2.silence(0.1, "(own typing, other device)")

        # A non-member subscriber of a public channel types too.
        await n1.send({"type": "typing.start", "channel_id": cid})
        for c in (a1, a2, b1):
            f = await c.expect("typing.indicator")
            assert (f["user_id"], f["username"], f["is_typing"]) == (n.id, n.username, True), f
        await n1.silence(0.3, "(own typing)")

        # Unsubscribed sockets do not get typing.
        await b1.unsubscribe(cid)
        await a1.send({"type": "typing.start", "channel_id": cid})
        await n1.expect("typing.indicator")
        await b1.silence(0.3, "(unsubscribed)")

    arun(body())


def test_typing_not_throttled_below_20_per_second(ws_env):
    api = ws_env.api
    a, b = api.new_user("tfa"), api.new_user("tfb")
    ch = api.create_channel(a)
    cid = ch["id"]

    async def body():
        a1, b1 = await ws_env.open(a), await ws_env.open(b)
        await a1.subscribe(cid)
        await b1.subscribe(cid)
        for i in range(10):  # 10 in ~0.6 s: ~16 per second, under 20/s
            await a1.send({"type": "typing.start" if i % 2 == 0 else "typing.stop",
                           "channel_id": cid})
            await asyncio.sleep(0.06)
        got = [await b1.expect("typing.indicator") for _ in range(10)]
        assert [f["is_typing"] for f in got] == [i % 2 == 0 for i in range(10)], got

    arun(body())


# --------------------------------------------------------------------------- #
# Permissions, unsubscribe
# --------------------------------------------------------------------------- #

def test_private_channel_subscribe_forbidden_unknown_not_found(ws_env):
    api = ws_env.api
    owner, member, outsider = api.new_user("pown"), api.new_user("pmem"), api.new_user("pout")
    priv = api.create_channel(owner, private=True)
    api.add_member(priv["id"], owner, member)

    async def body():
        x = await ws_env.open(outsider)
        await x.send({"type": "channel.subscribe", "channel_id": priv["id"]})
        await x.expect_error("forbidden")
        await x.ping()  # still open
        await x.send({"type": "channel.subscribe", "channel_id": str(uuid.uuid4())})
        await x.expect_error("not_found")
        await x.ping()
        # with since_seq and presence too
        await x.send({"type": "channel.subscribe", "channel_id": priv["id"], "since_seq": 0,
                      "presence": True})
        await x.expect_error("forbidden")

        m = await ws_env.open(member)
        await m.subscribe(priv["id"])
        sent = api.send(owner, priv["id"], "members only")
        check_msg_frame(await m.expect("message.receive"), sent)
        await x.silence(0.4, "(outsider, private channel)")
        # Typing in a private channel one cannot read reaches nobody (an error
        # frame back or silence are both fine: the contract does not say).
        await x.send({"type": "typing.start", "channel_id": priv["id"]})
        back = await x.collect(0.4)
        assert len(back) <= 1 and all(f["type"] == "error" and f["code"] in
                                      ("forbidden", "not_found", "invalid") for f in back), back
        await m.silence(0.1, "(typing from an outsider)")

    arun(body())


def test_unsubscribe_stops_delivery(ws_env):
    api = ws_env.api
    owner, reader = api.new_user("uown"), api.new_user("urdr")
    ch = api.create_channel(owner)
    other = api.create_channel(owner)
    cid = ch["id"]

    async def body():
        r = await ws_env.open(reader)
        o = await ws_env.open(owner)
        await r.subscribe(cid)
        await r.subscribe(other["id"])
        m1 = api.send(owner, cid, "before")
        check_msg_frame(await r.expect("message.receive"), m1)
        await r.unsubscribe(cid)
        api.send(owner, cid, "after, rest")
        await o.send_acked(cid, "after, ws")
        m_edit = api.send(owner, cid, "to edit")
        expect(api.put(f"/api/v1/messages/{m_edit['id']}", owner, json={"content": "e"}), 200)
        await r.silence(0.6, "after unsubscribe")
        # The other subscription is untouched.
        m2 = api.send(owner, other["id"], "other channel")
        check_msg_frame(await r.expect("message.receive"), m2)
        # Subscribing again resumes live delivery.
        await r.subscribe(cid)
        m3 = api.send(owner, cid, "again")
        check_msg_frame(await r.expect("message.receive"), m3)

    arun(body())


# --------------------------------------------------------------------------- #
# Many devices
# --------------------------------------------------------------------------- #

def test_one_user_three_sockets_get_every_message(ws_env):
    api = ws_env.api
    u, sender = api.new_user("dev"), api.new_user("dsn")
    ch = api.create_channel(sender)
    api.add_member(ch["id"], sender, u)
    cid = ch["id"]

    async def body():
        devices = [await ws_env.open(u, label=f"device{i}") for i in range(3)]
        for d in devices:
            await d.subscribe(cid)
        s = await ws_env.open(sender)
        expected = []
        for i in range(10):
            if i % 2:
                expected.append(api.send(sender, cid, f"rest {i}")["id"])
            else:
                expected.append((await s.send_acked(cid, f"ws {i}"))["message_id"])
        for d in devices:
            got = [await d.expect("message.receive") for _ in range(10)]
            assert [f["message_id"] for f in got] == expected, d.label
            assert [f["seq"] for f in got] == list(range(1, 11)), d.label
            await d.silence(0.1)

        # The user sends from device0: every device gets message.receive, only
        # device0 gets the ack.
        ack = await devices[0].send_acked(cid, "from device0")
        rec0 = await devices[0].expect("message.receive")
        assert rec0["message_id"] == ack["message_id"], (rec0, ack)
        for d in devices[1:]:
            f = await d.expect("message.receive")
            assert f["message_id"] == ack["message_id"], f
            await d.silence(0.3, "(ack only on the sending socket)")

    arun(body())


# --------------------------------------------------------------------------- #
# Presence
# --------------------------------------------------------------------------- #

def _presence(frames):
    return [(f["user_id"], f["status"]) for f in frames if f["type"] == "presence.update"]


def test_presence_first_socket_online_last_socket_offline(ws_env):
    api = ws_env.api
    watcher, member, outsider = api.new_user("pw"), api.new_user("pm"), api.new_user("po")
    ch = api.create_channel(watcher)
    api.add_member(ch["id"], watcher, member)
    cid = ch["id"]

    async def body():
        w = await ws_env.open(watcher, label="watcher")
        w_plain = await ws_env.open(watcher, label="watcher (no presence)")
        await w.subscribe(cid, presence=True)
        # The snapshot: every member online now, the watcher itself included.
        assert _presence(await w.collect(0.5)) == [(watcher.id, "online")]
        await w_plain.subscribe(cid)

        m1 = await ws_env.open(member, label="m1")
        f = await w.expect("presence.update")
        assert (f["user_id"], f["status"]) == (member.id, "online"), f
        m2 = await ws_env.open(member, label="m2")
        await w.silence(0.4, "(second socket opened)")
        await m2.close()
        await w.silence(0.4, "(one of two sockets closed)")
        await m1.close()
        f = await w.expect("presence.update")
        assert (f["user_id"], f["status"]) == (member.id, "offline"), f

        # Not a member: nothing about them.
        o = await ws_env.open(outsider)
        await o.subscribe(cid)  # a reader of the public channel, still not a member
        await o.close()
        await w.silence(0.4, "(non-member came and went)")
        # Opt-in only: the subscription without presence saw nothing.
        await w_plain.silence(0.1, "(no presence asked)")

    arun(body())


def test_presence_snapshot_after_success(ws_env):
    api = ws_env.api
    watcher, m_on, m_off, outsider = (api.new_user("sw"), api.new_user("son"),
                                      api.new_user("soff"), api.new_user("sout"))
    ch = api.create_channel(watcher, private=True)
    for x in (m_on, m_off):
        api.add_member(ch["id"], watcher, x)
    cid = ch["id"]

    async def body():
        on = await ws_env.open(m_on)  # online, not subscribed anywhere
        await ws_env.open(outsider)  # online, not a member
        w = await ws_env.open(watcher)
        await w.subscribe(cid, presence=True)  # success comes first (checked)
        got = _presence(await w.collect(0.6))
        assert sorted(got) == sorted([(watcher.id, "online"), (m_on.id, "online")]), got
        assert len(got) == 2, got
        await on.close()
        f = await w.expect("presence.update")
        assert (f["user_id"], f["status"]) == (m_on.id, "offline"), f
        # Resubscribing with presence: one snapshot frame per online member.
        await w.unsubscribe(cid)
        await w.subscribe(cid, presence=True)
        assert _presence(await w.collect(0.5)) == [(watcher.id, "online")]

    arun(body())


def test_presence_a_member_who_joins_or_is_added_while_online_shows_online(ws_env):
    api = ws_env.api
    watcher, joiner, added, offline = (api.new_user("jw"), api.new_user("jj"),
                                       api.new_user("ja"), api.new_user("jo"))
    ch = api.create_channel(watcher)
    cid = ch["id"]

    async def body():
        w = await ws_env.open(watcher)
        await w.subscribe(cid, presence=True)
        assert _presence(await w.collect(0.5)) == [(watcher.id, "online")]
        await ws_env.open(joiner)  # online before joining, subscribed nowhere
        await ws_env.open(added)
        await w.silence(0.3, "(not members yet)")

        expect(api.post(f"/api/v1/channels/{cid}/join", joiner), 201)
        f = await w.expect("presence.update")
        assert (f["user_id"], f["status"]) == (joiner.id, "online"), f
        api.add_member(cid, watcher, added)
        f = await w.expect("presence.update")
        assert (f["user_id"], f["status"]) == (added.id, "online"), f
        # Someone offline who joins gets no frame; their first socket then does.
        expect(api.post(f"/api/v1/channels/{cid}/join", offline), 201)
        await w.silence(0.4, "(an offline member joined)")
        await ws_env.open(offline)
        f = await w.expect("presence.update")
        assert (f["user_id"], f["status"]) == (offline.id, "online"), f

    arun(body())


# --------------------------------------------------------------------------- #
# Membership changes
# --------------------------------------------------------------------------- #

def test_a_new_member_gets_channel_joined_on_every_socket(ws_env):
    api = ws_env.api
    owner, added, joiner = api.new_user("cjo"), api.new_user("cja"), api.new_user("cjj")
    private = api.create_channel(owner, private=True)
    public = api.create_channel(owner)

    async def body():
        a1 = await ws_env.open(added, label="a1")
        a2 = await ws_env.open(added, label="a2")
        j = await ws_env.open(joiner)
        o = await ws_env.open(owner)
        api.add_member(private["id"], owner, added)
        for sock in (a1, a2):
            f = await sock.expect("channel.joined")
            assert f["channel_id"] == private["id"] and f["timestamp"], f
        expect(api.post(f"/api/v1/channels/{public['id']}/join", joiner), 201)
        f = await j.expect("channel.joined")
        assert f["channel_id"] == public["id"], f
        # Only the new member hears of it; a refused join tells nobody anything.
        await o.silence(0.3, "(someone else joined)")
        expect(api.post(f"/api/v1/channels/{private['id']}/join", joiner), 403)
        expect(api.post(f"/api/v1/channels/{public['id']}/join", joiner), 400)
        await j.silence(0.3, "(refused joins)")
        await a1.silence(0.1, "(nothing more)")

    arun(body())


def test_removed_member_gets_channel_unsubscribed(ws_env):
    api = ws_env.api
    owner, member, leaver = api.new_user("rown"), api.new_user("rmem"), api.new_user("rlv")
    ch = api.create_channel(owner, private=True)
    api.add_member(ch["id"], owner, member)
    api.add_member(ch["id"], owner, leaver)
    cid = ch["id"]

    async def body():
        o = await ws_env.open(owner)
        m1 = await ws_env.open(member, label="m1")
        m2 = await ws_env.open(member, label="m2")
        lv = await ws_env.open(leaver)
        for c in (o, m1, m2, lv):
            await c.subscribe(cid)
        other = api.create_channel(owner)
        await m1.subscribe(other["id"])

        expect(api.delete(f"/api/v1/channels/{cid}/members/{member.id}", owner), 204)
        for c in (m1, m2):  # every socket of the user
            f = await c.expect("channel.unsubscribed")
            assert (f["channel_id"], f["reason"]) == (cid, "removed"), f
        msg = api.send(owner, cid, "after removal")
        await o.send_acked(cid, "after removal, ws")
        await o.send({"type": "typing.start", "channel_id": cid})
        check_msg_frame(await lv.recv_type("message.receive"), msg)
        await m1.silence(0.6, "(removed member)")
        await m2.silence(0.1, "(removed member)")
        # Subscribing again is refused now; the other channel still works.
        await m1.send({"type": "channel.subscribe", "channel_id": cid})
        await m1.expect_error("forbidden")
        m_other = api.send(owner, other["id"], "other channel")
        check_msg_frame(await m1.expect("message.receive"), m_other)

        # Leaving by oneself ends the subscription the same way.
        expect(api.delete(f"/api/v1/channels/{cid}/members/{leaver.id}", leaver), 204)
        f = await lv.recv_type("channel.unsubscribed")
        assert (f["channel_id"], f["reason"]) == (cid, "removed"), f
        lv.pending.clear()  # the live frames of before (owner's ws message, typing)
        api.send(owner, cid, "after leaving")
        await lv.silence(0.5, "(left)")

    arun(body())


def test_channel_deleted_unsubscribes_everyone(ws_env):
    api = ws_env.api
    owner, member = api.new_user("down"), api.new_user("dmem")
    ch = api.create_channel(owner, private=True)
    api.add_member(ch["id"], owner, member)
    cid = ch["id"]

    async def body():
        o = await ws_env.open(owner)
        m = await ws_env.open(member)
        await o.subscribe(cid)
        await m.subscribe(cid)
        expect(api.delete(f"/api/v1/channels/{cid}", owner), 204)
        for c in (o, m):
            f = await c.expect("channel.unsubscribed")
            assert (f["channel_id"], f["reason"]) == (cid, "deleted"), f
            await c.silence(0.3)
        await m.send({"type": "channel.subscribe", "channel_id": cid})
        await m.expect_error("not_found")
        await m.send_message(cid, "into the void", client_msg_id="void")
        await m.expect_error("not_found", client_msg_id="void")

    arun(body())
