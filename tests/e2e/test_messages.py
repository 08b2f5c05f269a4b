"""Messages: send, seq, idempotency, threads, metadata, history cursors, edit,
delete, rate limit (contract.md 2.1, 2.2)."""

import uuid

import pytest

from conftest import check_message, check_user, describe, expect, expect_validation_error


@pytest.fixture
def room(api):
    """A public channel with owner, admin, two members; and an outsider."""
    owner, admin, alice, bob, outsider = (api.new_user(p) for p in
                                          ("own", "adm", "ali", "bob", "out"))
    ch = api.create_channel(owner)
    api.add_member(ch["id"], owner, admin, role="admin")
    api.add_member(ch["id"], owner, alice)
    api.add_member(ch["id"], owner, bob)
    return {"ch": ch, "cid": ch["id"], "owner": owner, "admin": admin, "alice": alice,
            "bob": bob, "outsider": outsider}


def _seqs(messages):
    return [m["seq"] for m in messages]


# --------------------------------------------------------------------------- #
# Send
# --------------------------------------------------------------------------- #

def test_send_message_shape(api, room):
    alice, cid = room["alice"], room["cid"]
    r = expect(api.post("/api/v1/messages/", alice, json={"channel_id": cid, "content": "Hello"}), 201)
    m = r.json()
    check_message(m)
    assert m["content"] == "Hello" and m["message_type"] == "text"
    assert m["channel_id"] == cid and m["user_id"] == alice.id
    assert m["metadata"] is None
    assert m["is_edited"] is False and m["is_deleted"] is False
    check_user(m["user"], alice.username)
    assert m["seq"] == 1 and m["parent_id"] is None and m["client_msg_id"] is None
    assert m["reply_count"] == 0
    # The message's own id is the first "id":"..." in the text (before the nested user).
    assert r.text.index('"id":"') == r.text.index(f'"id":"{m["id"]}"'), r.text

    got = expect(api.get(f"/api/v1/messages/{m['id']}", alice), 200).json()
    check_message(got)
    assert got == m


def test_seq_is_per_channel_and_gap_free(api, room):
    owner, alice, cid = room["owner"], room["alice"], room["cid"]
    other = api.create_channel(owner)
    seqs_a, seqs_b = [], []
    for i in range(3):
        seqs_a.append(api.send(alice if i % 2 else owner, cid, f"a{i}")["seq"])
        if i < 2:
            seqs_b.append(api.send(owner, other["id"], f"b{i}")["seq"])
    assert seqs_a == [1, 2, 3] and seqs_b == [1, 2]
    assert api.get_channel(cid, alice)["last_seq"] == 3
    assert api.get_channel(other["id"], owner)["last_seq"] == 2


@pytest.mark.parametrize("message_type", ["text", "image", "file", "system"])
def test_message_types(api, room, message_type):
    m = api.send(room["alice"], room["cid"], "x", message_type=message_type)
    assert m["message_type"] == message_type


def test_metadata_persisted(api, room):
    alice, cid = room["alice"], room["cid"]
    meta = {"k": "v", "n": 1.5, "flag": True, "nested": {"list": [1, "two", None]}, "ü": "✓"}
    m = api.send(alice, cid, "with meta", metadata=meta)
    assert m["metadata"] == meta
    assert expect(api.get(f"/api/v1/messages/{m['id']}", alice), 200).json()["metadata"] == meta
    hist = api.history(cid, alice)
    assert [h["metadata"] for h in hist if h["id"] == m["id"]] == [meta]
    assert api.send(alice, cid, "null meta", metadata=None)["metadata"] is None
    assert api.send(alice, cid, "empty meta", metadata={})["metadata"] == {}


def test_unicode_and_escapes_round_trip(api, room):
    alice, cid = room["alice"], room["cid"]
    content = 'héllo 👋 中文 "quoted" back\\slash\nnew line\ttab </script>'
    m = api.send(alice, cid, content)
    assert m["content"] == content
    assert expect(api.get(f"/api/v1/messages/{m['id']}", alice), 200).json()["content"] == content


def test_client_msg_id_is_idempotent_per_sender(api, room):
    alice, bob, cid = room["alice"], room["bob"], room["cid"]
    body = {"channel_id": cid, "content": "once", "client_msg_id": "cm-" + uuid.uuid4().hex}
    first = expect(api.post("/api/v1/messages/", alice, json=body), 201).json()
    assert first["client_msg_id"] == body["client_msg_id"]
    again = expect(api.post("/api/v1/messages/", alice, json=body), 200)
    assert again.json()["id"] == first["id"] and again.json()["seq"] == first["seq"]
    assert again.json()["client_msg_id"] == body["client_msg_id"]
    ch = api.get_channel(cid, alice)
    assert (ch["last_seq"], ch["message_count"]) == (1, 1)

    # Another sender may use the same client_msg_id.
    theirs = expect(api.post("/api/v1/messages/", bob, json=body), 201).json()
    assert theirs["id"] != first["id"] and theirs["seq"] == 2
    assert _seqs(api.history(cid, alice)) == [1, 2]


def test_threads(api, room):
    alice, bob, owner, cid = room["alice"], room["bob"], room["owner"], room["cid"]
    root = api.send(alice, cid, "root")
    r1 = api.send(bob, cid, "reply 1", parent_id=root["id"])
    r2 = api.send(alice, cid, "reply 2", parent_id=root["id"])
    assert r1["parent_id"] == root["id"] and r2["parent_id"] == root["id"]
    assert (r1["seq"], r2["seq"]) == (2, 3)

    got = expect(api.get(f"/api/v1/messages/{root['id']}", bob), 200).json()
    assert got["reply_count"] == 2
    replies = expect(api.get(f"/api/v1/messages/{root['id']}/replies", bob), 200).json()
    for m in replies:
        check_message(m)
    assert [m["id"] for m in replies] == [r1["id"], r2["id"]]
    assert expect(api.get(f"/api/v1/messages/{r1['id']}/replies", bob), 200).json() == []
    hist = {m["id"]: m for m in api.history(cid, alice)}
    assert hist[root["id"]]["reply_count"] == 2

    # The parent must be a message of the same channel.
    other = api.create_channel(owner)
    foreign = api.send(owner, other["id"], "elsewhere")
    r = api.post("/api/v1/messages/", alice,
                 json={"channel_id": cid, "content": "x", "parent_id": foreign["id"]})
    expect(r, (400, 404, 422))
    r = api.post("/api/v1/messages/", alice,
                 json={"channel_id": cid, "content": "x", "parent_id": str(uuid.uuid4())})
    expect(r, (400, 404, 422))
    assert api.get_channel(cid, alice)["last_seq"] == 3, "a refused reply consumed a seq"
    expect(api.get(f"/api/v1/messages/{uuid.uuid4()}/replies", alice), 404, "Message not found")


# --------------------------------------------------------------------------- #
# Send errors
# --------------------------------------------------------------------------- #

def test_send_errors(api, room):
    alice, outsider, cid = room["alice"], room["outsider"], room["cid"]
    send = lambda who, **body: api.post("/api/v1/messages/", who, json=body)  # noqa: E731
    expect(send(alice, channel_id=str(uuid.uuid4()), content="x"), 404, "Channel not found")
    expect(send(outsider, channel_id=cid, content="x"), 403,
           "You must be a member of the channel to send messages")
    expect(api.post("/api/v1/messages/", json={"channel_id": cid, "content": "x"}), 401,
           "Not authenticated")
    expect_validation_error(send(alice, channel_id=cid, content=""), type_="string_too_short",
                            loc=["body", "content"])
    expect_validation_error(send(alice, channel_id=cid, content=" \n\t "), loc=["body", "content"])
    expect_validation_error(send(alice, channel_id=cid, content="x" * 10001),
                            type_="string_too_long", loc=["body", "content"])
    expect_validation_error(send(alice, channel_id=cid, content="x", message_type="video"),
                            loc=["body", "message_type"])
    expect_validation_error(send(alice, channel_id=cid, content="x", metadata="str"),
                            loc=["body", "metadata"])
    expect_validation_error(send(alice, channel_id=cid, content="x", metadata=[1, 2]),
                            loc=["body", "metadata"])
    expect_validation_error(send(alice, channel_id=cid), type_="missing", loc=["body", "content"])
    expect_validation_error(send(alice, content="x"), type_="missing", loc=["body", "channel_id"])
    assert api.get_channel(cid, alice)["last_seq"] == 0, "a refused send consumed a seq"
    # 10000 characters (code points, not bytes) are fine.
    assert len(api.send(alice, cid, "é" * 10000)["content"]) == 10000


# --------------------------------------------------------------------------- #
# History
# --------------------------------------------------------------------------- #

def test_history_order_and_cursors(api, room):
    alice, bob, cid = room["alice"], room["bob"], room["cid"]
    sent = [api.send(alice if i % 2 else bob, cid, f"m{i + 1}") for i in range(5)]
    assert _seqs(sent) == [1, 2, 3, 4, 5]

    full = api.history(cid, bob)
    for m in full:
        check_message(m)
    assert [m["id"] for m in full] == [m["id"] for m in sent]
    assert [m["content"] for m in full] == ["m1", "m2", "m3", "m4", "m5"]

    cases = [
        ({"limit": 2}, [4, 5]),                        # newest `limit`, ascending
        ({"skip": 0, "limit": 2}, [4, 5]),
        ({"skip": 2, "limit": 2}, [2, 3]),             # skip counts from the newest
        ({"skip": 4, "limit": 10}, [1]),
        ({"skip": 5}, []),
        ({"before_seq": 4}, [1, 2, 3]),
        ({"before_seq": 4, "limit": 2}, [2, 3]),
        ({"before_seq": 1}, []),
        ({"after_seq": 2}, [3, 4, 5]),
        ({"after_seq": 2, "limit": 2}, [3, 4]),        # forward paging from the cursor
        ({"after_seq": 5}, []),
        ({"after_seq": 0}, [1, 2, 3, 4, 5]),
        ({"after_seq": 1, "before_seq": 5}, [2, 3, 4]),
    ]
    for params, want in cases:
        assert _seqs(api.history(cid, bob, **params)) == want, params


def test_history_default_and_clamped_limit(api, room):
    alice, cid = room["alice"], room["cid"]
    for i in range(101):
        api.send(alice, cid, f"bulk {i}")
    default = api.history(cid, alice)
    assert _seqs(default) == list(range(52, 102))
    clamped = api.history(cid, alice, limit=1000)
    assert _seqs(clamped) == list(range(2, 102))


def test_read_access(api, room):
    owner, alice, outsider = room["owner"], room["alice"], room["outsider"]
    pub_msg = api.send(alice, room["cid"], "public")
    priv = api.create_channel(owner, private=True)
    priv_msg = api.send(owner, priv["id"], "private")

    assert expect(api.get(f"/api/v1/messages/{pub_msg['id']}", outsider), 200).json()["id"] == \
        pub_msg["id"]
    assert _seqs(api.history(room["cid"], outsider)) == [1]
    expect(api.get(f"/api/v1/messages/{priv_msg['id']}", outsider), 403, "Access denied")
    expect(api.get(f"/api/v1/messages/{priv_msg['id']}/replies", outsider), 403, "Access denied")
    expect(api.get(f"/api/v1/messages/channels/{priv['id']}", outsider), 403,
           "Access denied to private channel")
    expect(api.get(f"/api/v1/messages/channels/{uuid.uuid4()}", owner), 404, "Channel not found")
    expect(api.get(f"/api/v1/messages/{uuid.uuid4()}", owner), 404, "Message not found")
    expect(api.get(f"/api/v1/messages/{pub_msg['id']}"), 401, "Not authenticated")


# --------------------------------------------------------------------------- #
# Edit and delete
# --------------------------------------------------------------------------- #

def test_edit_message(api, room):
    alice, bob, owner, admin, cid = (room[k] for k in ("alice", "bob", "owner", "admin", "cid"))
    m = api.send(alice, cid, "first draft", metadata={"keep": 1})
    path = f"/api/v1/messages/{m['id']}"

    r = expect(api.put(path, alice, json={"content": "final ✓"}), 200)
    e = r.json()
    check_message(e)
    assert e["id"] == m["id"] and e["content"] == "final ✓" and e["is_edited"] is True
    assert e["seq"] == m["seq"] and e["created_at"] == m["created_at"]
    assert e["updated_at"] >= m["updated_at"]
    assert e["metadata"] == {"keep": 1}
    got = expect(api.get(path, bob), 200).json()
    assert got["content"] == "final ✓" and got["is_edited"] is True
    assert [h["content"] for h in api.history(cid, bob)] == ["final ✓"]

    for who in (bob, owner, admin):
        expect(api.put(path, who, json={"content": "hijack"}), 403,
               "You can only edit your own messages")
    expect_validation_error(api.put(path, alice, json={"content": "  "}), loc=["body", "content"])
    expect_validation_error(api.put(path, alice, json={"content": "x" * 10001}),
                            type_="string_too_long", loc=["body", "content"])
    expect_validation_error(api.put(path, alice, json={}), type_="missing", loc=["body", "content"])
    expect(api.put(f"/api/v1/messages/{uuid.uuid4()}", alice, json={"content": "x"}), 404,
           "Message not found")
    assert expect(api.get(path, alice), 200).json()["content"] == "final ✓"


def test_delete_message(api, room):
    alice, bob, owner, admin, cid = (room[k] for k in ("alice", "bob", "owner", "admin", "cid"))
    m1 = api.send(alice, cid, "by alice 1")
    m2 = api.send(alice, cid, "by alice 2")
    m3 = api.send(alice, cid, "by alice 3")
    keep = api.send(bob, cid, "by bob")

    expect(api.delete(f"/api/v1/messages/{m1['id']}", bob), 403,
           "You can only delete your own messages or you must be a channel admin")
    r = expect(api.delete(f"/api/v1/messages/{m1['id']}", alice), 204)
    assert r.content == b""
    expect(api.delete(f"/api/v1/messages/{m2['id']}", owner), 204)
    expect(api.delete(f"/api/v1/messages/{m3['id']}", admin), 204)

    for m in (m1, m2, m3):
        path = f"/api/v1/messages/{m['id']}"
        expect(api.get(path, alice), 404, "Message not found")
        expect(api.delete(path, alice), 404, "Message not found")
        expect(api.put(path, alice, json={"content": "zombie"}), 404, "Message not found")
    assert [m["id"] for m in api.history(cid, alice)] == [keep["id"]]
    # Deleting frees no seq: the next message continues the sequence.
    assert api.send(bob, cid, "after")["seq"] == 5
    expect(api.delete(f"/api/v1/messages/{uuid.uuid4()}", alice), 404, "Message not found")


# --------------------------------------------------------------------------- #
# Rate limit (on message sends only)
# --------------------------------------------------------------------------- #

def test_send_rate_limit(start_server):
    _, xapi = start_server("ratelimit", RATE_LIMIT_ENABLED="true", RATE_LIMIT_PER_MINUTE="6",
                           RATE_LIMIT_BURST="5")
    owner, other = xapi.new_user("rl"), xapi.new_user("rl")
    ch = xapi.create_channel(owner)
    xapi.add_member(ch["id"], owner, other)
    body = {"channel_id": ch["id"], "content": "spam"}
    statuses = [xapi.post("/api/v1/messages/", owner, json=body).status_code for _ in range(6)]
    assert statuses == [201] * 5 + [429], statuses
    r = xapi.post("/api/v1/messages/", owner, json=body)
    expect(r, 429)
    assert isinstance(r.json().get("detail"), str), describe(r)
    # Other requests are not rate limited, nor are other users.
    assert len(xapi.history(ch["id"], owner)) == 5
    expect(xapi.get("/api/v1/users/me", owner), 200)
    xapi.send(other, ch["id"], "not me")
