"""Channels, members, join, read positions and counters (contract.md 2.1, 2.2)."""

import secrets
import uuid

import pytest

from conftest import (check_channel, check_member, describe, expect, expect_validation_error,
                      unique)


@pytest.fixture
def trio(api):
    """owner, member and outsider users."""
    return api.new_user("own"), api.new_user("mem"), api.new_user("out")


def _find(channels, channel_id):
    found = [c for c in channels if c["id"] == channel_id]
    assert len(found) <= 1, "a channel listed twice"
    return found[0] if found else None


# --------------------------------------------------------------------------- #
# Create
# --------------------------------------------------------------------------- #

def test_create_channel(api):
    owner = api.new_user("own")
    name = unique("create")
    r = expect(api.post("/api/v1/channels/", owner,
                        json={"name": name, "description": "Engineering ✓", "is_private": False}),
               201)
    ch = r.json()
    check_channel(ch)
    assert ch["name"] == name and ch["description"] == "Engineering ✓"
    assert ch["is_private"] is False
    assert ch["created_by"] == owner.id
    assert (ch["member_count"], ch["message_count"], ch["last_seq"], ch["unread_count"]) == (1, 0, 0, 0)
    assert ch["viewer_role"] == "owner"
    # The channel object has exactly one "id":"..." key (clients grep for it).
    assert r.text.count('"id":"') == 1, r.text
    # The creator is the owner member.
    members = api.members(ch["id"], owner)
    assert [(m["user_id"], m["role"]) for m in members] == [(owner.id, "owner")]
    for m in members:
        check_member(m)
        assert m["channel_id"] == ch["id"]


def test_create_channel_defaults(api):
    owner = api.new_user("own")
    ch = expect(api.post("/api/v1/channels/", owner, json={"name": unique("dflt")}), 201).json()
    check_channel(ch)
    assert ch["description"] is None and ch["is_private"] is False


def test_create_private_channel(api):
    owner = api.new_user("own")
    ch = api.create_channel(owner, private=True)
    check_channel(ch)
    assert ch["is_private"] is True


def test_duplicate_channel_name(api):
    owner, other = api.new_user("own"), api.new_user("oth")
    ch = api.create_channel(owner)
    r = api.post("/api/v1/channels/", other, json={"name": ch["name"]})
    expect(r, 400, "Channel name already exists")


@pytest.mark.parametrize("name,err_type", [
    ("x", "string_too_short"), ("n" * 101, "string_too_long"), (None, "missing"),
])
def test_channel_name_validation(api, name, err_type):
    owner = api.new_user("own")
    body = {"description": "d"} if name is None else {"name": name}
    expect_validation_error(api.post("/api/v1/channels/", owner, json=body),
                            type_=err_type, loc=["body", "name"])


def test_channel_name_boundaries_accepted(api):
    owner = api.new_user("own")
    long_name = (unique("long") + "-" + "n" * 100)[:100]
    assert api.create_channel(owner, name=long_name)["name"] == long_name
    for _ in range(50):  # 2-character name; retried since the database may be shared
        name = secrets.token_hex(1)
        r = api.post("/api/v1/channels/", owner, json={"name": name})
        if r.status_code == 400:
            continue
        assert expect(r, 201).json()["name"] == name
        break
    else:
        pytest.fail("no free 2-character channel name")


def test_create_channel_requires_auth(api):
    expect(api.post("/api/v1/channels/", json={"name": unique("anon")}), 401, "Not authenticated")


# --------------------------------------------------------------------------- #
# List and get
# --------------------------------------------------------------------------- #

def test_list_channels_visibility(api, trio):
    owner, member, outsider = trio
    pub = api.create_channel(owner)
    priv = api.create_channel(owner, private=True)
    priv_m = api.create_channel(owner, private=True)
    api.add_member(priv_m["id"], owner, member)

    for who, visible, hidden in ((owner, [pub, priv, priv_m], []),
                                 (member, [pub, priv_m], [priv]),
                                 (outsider, [pub], [priv, priv_m])):
        listed = api.all_channels(who)
        for ch in listed:
            check_channel(ch)
        for ch in visible:
            assert _find(listed, ch["id"]) is not None, (who.username, ch["name"])
        for ch in hidden:
            assert _find(listed, ch["id"]) is None, (who.username, ch["name"])

    # Stable order.
    first = [c["id"] for c in expect(api.get("/api/v1/channels/", owner), 200).json()]
    again = [c["id"] for c in expect(api.get("/api/v1/channels/", owner), 200).json()]
    assert first == again
    expect(api.get("/api/v1/channels/"), 401, "Not authenticated")


def test_list_channels_default_and_clamped_limit(api):
    owner = api.new_user("own")
    for _ in range(101):
        api.create_channel(owner, description=None)
    assert len(expect(api.get("/api/v1/channels/", owner), 200).json()) == 50
    clamped = expect(api.get("/api/v1/channels/", owner, params={"limit": 1000}), 200).json()
    assert len(clamped) == 100
    page = expect(api.get("/api/v1/channels/", owner, params={"limit": 100}), 200).json()
    assert [c["id"] for c in page] == [c["id"] for c in clamped]
    nxt = expect(api.get("/api/v1/channels/", owner, params={"skip": 100, "limit": 100}), 200).json()
    assert not {c["id"] for c in nxt} & {c["id"] for c in page}, "pages overlap"


def test_get_channel(api, trio):
    owner, member, outsider = trio
    pub = api.create_channel(owner)
    priv = api.create_channel(owner, private=True)
    api.add_member(priv["id"], owner, member)

    r = expect(api.get(f"/api/v1/channels/{pub['id']}", outsider), 200)
    check_channel(r.json())
    assert r.json() == {**pub, "updated_at": r.json()["updated_at"], "viewer_role": None}
    assert r.text.count('"id":"') == 1
    got = api.get_channel(priv["id"], member)
    assert got["id"] == priv["id"] and got["member_count"] == 2
    expect(api.get(f"/api/v1/channels/{priv['id']}", outsider), 403, "Access denied to private channel")
    expect(api.get(f"/api/v1/channels/{uuid.uuid4()}", owner), 404, "Channel not found")
    expect(api.get(f"/api/v1/channels/{pub['id']}"), 401, "Not authenticated")


# --------------------------------------------------------------------------- #
# Update and delete
# --------------------------------------------------------------------------- #

def test_update_channel(api, trio):
    owner, member, outsider = trio
    admin = api.new_user("adm")
    ch = api.create_channel(owner, private=True, description="before")
    api.add_member(ch["id"], owner, member)
    api.add_member(ch["id"], owner, admin, role="admin")
    path = f"/api/v1/channels/{ch['id']}"

    upd = expect(api.put(path, owner, json={"description": "after"}), 200).json()
    check_channel(upd)
    assert upd["description"] == "after" and upd["name"] == ch["name"] and upd["is_private"] is True
    assert upd["updated_at"] >= ch["updated_at"] and upd["created_at"] == ch["created_at"]
    assert upd["member_count"] == 3

    new_name = unique("renamed")
    upd = expect(api.put(path, admin, json={"name": new_name}), 200).json()
    assert upd["name"] == new_name and upd["description"] == "after"
    # Re-saving its own name is not "taken".
    expect(api.put(path, owner, json={"name": new_name}), 200)

    expect(api.put(path, member, json={"description": "nope"}), 403,
           "Only channel owner or admin can update channel")
    expect(api.put(path, outsider, json={"description": "nope"}), 403)
    assert api.get_channel(ch["id"], owner)["description"] == "after"

    other = api.create_channel(owner)
    r = expect(api.put(path, owner, json={"name": other["name"]}), 400)
    assert isinstance(r.json()["detail"], str)
    expect_validation_error(api.put(path, owner, json={"name": "x"}),
                            type_="string_too_short", loc=["body", "name"])
    expect(api.put(f"/api/v1/channels/{uuid.uuid4()}", owner, json={"description": "x"}), 404,
           "Channel not found")

    # Making it public opens it to everyone.
    expect(api.put(path, owner, json={"is_private": False}), 200)
    assert api.get_channel(ch["id"], outsider)["is_private"] is False


def test_delete_channel(api, trio):
    owner, member, _ = trio
    admin = api.new_user("adm")
    ch = api.create_channel(owner)
    api.add_member(ch["id"], owner, member)
    api.add_member(ch["id"], owner, admin, role="admin")
    msg = api.send(member, ch["id"], "soon gone")
    path = f"/api/v1/channels/{ch['id']}"

    expect(api.delete(path, member), 403, "Only channel owner can delete channel")
    expect(api.delete(path, admin), 403, "Only channel owner can delete channel")
    api.get_channel(ch["id"], owner)

    r = expect(api.delete(path, owner), 204)
    assert r.content == b""
    expect(api.get(path, owner), 404, "Channel not found")
    expect(api.get(f"/api/v1/messages/{msg['id']}", member), 404, "Message not found")
    expect(api.get(f"/api/v1/messages/channels/{ch['id']}", member), 404, "Channel not found")
    expect(api.delete(path, owner), 404, "Channel not found")
    assert _find(api.all_channels(owner), ch["id"]) is None
    # The name is free again.
    assert api.create_channel(owner, name=ch["name"])["name"] == ch["name"]


# --------------------------------------------------------------------------- #
# Members
# --------------------------------------------------------------------------- #

def test_add_members(api, trio):
    owner, member, outsider = trio
    admin, extra1, extra2 = api.new_user("adm"), api.register("ext"), api.register("ext")
    ch = api.create_channel(owner, private=True)
    path = f"/api/v1/channels/{ch['id']}/members"

    r = expect(api.post(path, owner, json={"user_id": member.id}), 201)
    m = r.json()
    check_member(m)
    assert (m["channel_id"], m["user_id"], m["role"]) == (ch["id"], member.id, "member")
    assert m["user"]["username"] == member.username

    a = expect(api.post(path, owner, json={"user_id": admin.id, "role": "admin"}), 201).json()
    assert a["role"] == "admin"

    # An admin adds members but cannot grant admin.
    assert expect(api.post(path, admin, json={"user_id": extra1.id, "role": "member"}),
                  201).json()["role"] == "member"
    expect(api.post(path, admin, json={"user_id": extra2.id, "role": "admin"}), 403)
    expect(api.post(path, member, json={"user_id": extra2.id}), 403,
           "Only channel owner or admin can add members")
    expect(api.post(path, outsider, json={"user_id": outsider.id}), 403)

    expect(api.post(path, owner, json={"user_id": str(uuid.uuid4())}), 404, "User not found")
    expect(api.post(f"/api/v1/channels/{uuid.uuid4()}/members", owner, json={"user_id": extra2.id}),
           404, "Channel not found")
    expect(api.post(path, owner, json={"user_id": member.id}), 400,
           "User is already a member of this channel")
    expect(api.post(path, owner, json={"user_id": owner.id}), 400,
           "User is already a member of this channel")
    for role in ("owner", "superuser", ""):
        expect_validation_error(api.post(path, owner, json={"user_id": extra2.id, "role": role}),
                                loc=["body", "role"])
    expect_validation_error(api.post(path, owner, json={}), type_="missing", loc=["body", "user_id"])
    expect_validation_error(api.post(path, owner, json={"user_id": "nope"}),
                            type_="uuid_parsing", loc=["body", "user_id"])

    roles = {m["user_id"]: m["role"] for m in api.members(ch["id"], owner)}
    assert roles == {owner.id: "owner", member.id: "member", admin.id: "admin", extra1.id: "member"}
    assert api.get_channel(ch["id"], owner)["member_count"] == 4


def test_list_members_access(api, trio):
    owner, member, outsider = trio
    pub = api.create_channel(owner)
    priv = api.create_channel(owner, private=True)
    api.add_member(priv["id"], owner, member)

    listed = api.members(pub["id"], outsider)
    assert [m["user_id"] for m in listed] == [owner.id]
    for m in api.members(priv["id"], member):
        check_member(m)
    assert {m["user_id"] for m in api.members(priv["id"], member)} == {owner.id, member.id}
    expect(api.get(f"/api/v1/channels/{priv['id']}/members", outsider), 403, "Access denied")
    expect(api.get(f"/api/v1/channels/{uuid.uuid4()}/members", owner), 404, "Channel not found")
    expect(api.get(f"/api/v1/channels/{pub['id']}/members"), 401, "Not authenticated")


def test_remove_members(api, trio):
    owner, member, outsider = trio
    admin, m2, m3 = api.new_user("adm"), api.new_user("m2"), api.new_user("m3")
    ch = api.create_channel(owner, private=True)
    for u in (member, m2, m3):
        api.add_member(ch["id"], owner, u)
    api.add_member(ch["id"], owner, admin, role="admin")
    base = f"/api/v1/channels/{ch['id']}/members"
    assert api.get_channel(ch["id"], owner)["member_count"] == 5

    expect(api.delete(f"{base}/{m2.id}", member), 403, "Permission denied")
    expect(api.delete(f"{base}/{m2.id}", outsider), 403)
    expect(api.delete(f"{base}/{owner.id}", admin), 400, "Cannot remove channel owner")
    expect(api.delete(f"{base}/{owner.id}", owner), 400, "Cannot remove channel owner")
    expect(api.delete(f"{base}/{outsider.id}", owner), 404, "User is not a member of this channel")
    expect(api.delete(f"{base}/{uuid.uuid4()}", owner), 404, "User is not a member of this channel")
    expect(api.delete(f"/api/v1/channels/{uuid.uuid4()}/members/{m2.id}", owner), 404,
           "Channel not found")

    r = expect(api.delete(f"{base}/{m2.id}", admin), 204)
    assert r.content == b""
    expect(api.delete(f"{base}/{m3.id}", owner), 204)
    expect(api.delete(f"{base}/{member.id}", member), 204)  # leave
    expect(api.delete(f"{base}/{admin.id}", owner), 204)

    assert [m["user_id"] for m in api.members(ch["id"], owner)] == [owner.id]
    assert api.get_channel(ch["id"], owner)["member_count"] == 1
    # Former members lose access to the private channel and cannot post.
    expect(api.get(f"/api/v1/channels/{ch['id']}", member), 403, "Access denied to private channel")
    expect(api.post("/api/v1/messages/", m2, json={"channel_id": ch["id"], "content": "hi"}), 403)
    expect(api.delete(f"{base}/{m2.id}", owner), 404, "User is not a member of this channel")


# --------------------------------------------------------------------------- #
# Join and read positions
# --------------------------------------------------------------------------- #

def test_join(api, trio):
    owner, member, outsider = trio
    pub = api.create_channel(owner)
    priv = api.create_channel(owner, private=True)

    r = expect(api.post(f"/api/v1/channels/{pub['id']}/join", outsider), 201)
    m = r.json()
    check_member(m)
    assert (m["channel_id"], m["user_id"], m["role"]) == (pub["id"], outsider.id, "member")
    assert api.get_channel(pub["id"], owner)["member_count"] == 2
    # The new member can post.
    api.send(outsider, pub["id"], "joined")

    expect(api.post(f"/api/v1/channels/{pub['id']}/join", outsider), 400,
           "User is already a member of this channel")
    expect(api.post(f"/api/v1/channels/{pub['id']}/join", owner), 400,
           "User is already a member of this channel")
    expect(api.post(f"/api/v1/channels/{priv['id']}/join", outsider), 403)
    assert api.get_channel(priv["id"], owner)["member_count"] == 1
    expect(api.post(f"/api/v1/channels/{uuid.uuid4()}/join", outsider), 404, "Channel not found")
    expect(api.post(f"/api/v1/channels/{pub['id']}/join"), 401, "Not authenticated")


def test_counters_and_unread(api, trio):
    owner, member, outsider = trio
    reader = api.new_user("rdr")
    ch = api.create_channel(owner)
    cid = ch["id"]
    api.add_member(cid, owner, member)
    expect(api.post(f"/api/v1/channels/{cid}/join", reader), 201)

    got = api.get_channel(cid, reader)
    assert (got["member_count"], got["message_count"], got["last_seq"], got["unread_count"]) == \
        (3, 0, 0, 0)

    for i in range(3):
        api.send(owner if i % 2 == 0 else member, cid, f"m{i}")
    got = api.get_channel(cid, reader)
    assert (got["message_count"], got["last_seq"], got["unread_count"]) == (3, 3, 3)
    listed = _find(api.all_channels(reader), cid)
    assert listed is not None and (listed["message_count"], listed["last_seq"],
                                   listed["unread_count"]) == (3, 3, 3)
    # Not a member: unread_count is 0, the other counters are the same.
    got = api.get_channel(cid, outsider)
    assert (got["member_count"], got["message_count"], got["last_seq"], got["unread_count"]) == \
        (3, 3, 3, 0)

    read = f"/api/v1/channels/{cid}/read"
    r = expect(api.put(read, reader, json={"last_read_seq": 2}), 204)
    assert r.content == b""
    assert api.get_channel(cid, reader)["unread_count"] == 1
    expect(api.put(read, reader, json={"last_read_seq": 1}), 204)  # never moves back
    assert api.get_channel(cid, reader)["unread_count"] == 1
    api.send(member, cid, "m3")
    assert api.get_channel(cid, reader)["unread_count"] == 2
    expect(api.put(read, reader, json={"last_read_seq": 4}), 204)
    got = api.get_channel(cid, reader)
    assert (got["message_count"], got["last_seq"], got["unread_count"]) == (4, 4, 0)
    listed = _find(api.all_channels(reader), cid)
    assert listed["unread_count"] == 0

    expect(api.put(read, outsider, json={"last_read_seq": 1}), 403)
    expect(api.put(f"/api/v1/channels/{uuid.uuid4()}/read", reader, json={"last_read_seq": 1}),
           404, "Channel not found")
    expect_validation_error(api.put(read, reader, json={}), type_="missing",
                            loc=["body", "last_read_seq"])
    expect_validation_error(api.put(read, reader, json={"last_read_seq": "abc"}),
                            loc=["body", "last_read_seq"])
    expect(api.put(read, json={"last_read_seq": 1}), 401, "Not authenticated")

    # Leaving drops the member count.
    expect(api.delete(f"/api/v1/channels/{cid}/members/{reader.id}", reader), 204)
    got = api.get_channel(cid, reader)
    assert (got["member_count"], got["unread_count"]) == (2, 0)


def test_viewer_role_says_what_the_caller_is_in_each_channel(api, trio):
    owner, member, outsider = trio
    admin = api.new_user("vra")
    ch = api.create_channel(owner)
    cid = ch["id"]
    api.add_member(cid, owner, member)
    expect(api.post(f"/api/v1/channels/{cid}/members", owner, json={"user_id": admin.id, "role": "admin"}), 201)
    for who, role in ((owner, "owner"), (admin, "admin"), (member, "member"), (outsider, None)):
        assert api.get_channel(cid, who)["viewer_role"] == role, who.username
        assert _find(api.all_channels(who), cid)["viewer_role"] == role, who.username
    updated = expect(api.put(f"/api/v1/channels/{cid}", admin, json={"description": "d"}), 200).json()
    assert updated["viewer_role"] == "admin"
    expect(api.post(f"/api/v1/channels/{cid}/join", outsider), 201)
    assert api.get_channel(cid, outsider)["viewer_role"] == "member"
    expect(api.delete(f"/api/v1/channels/{cid}/members/{member.id}", member), 204)
    assert api.get_channel(cid, member)["viewer_role"] is None
