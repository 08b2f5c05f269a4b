"""Authorization matrix: {public, private} x {owner, admin, member, outsider,
anonymous} x every channel / member / message endpoint.

Each cell runs against a fresh channel (so cells that mutate state never
affect each other), asserts the status code from contract.md 2.2 and, where the
contract names it, the exact `detail`; then checks the effect (or its absence)
through the owner's eyes, so a refusal that still performed the write fails.

Rules encoded (contract.md 2.2):
- a public channel is readable (details, members, history, messages) by any
  authenticated user; a private one by its members only;
- only members post (in public channels too);
- owner and admin update the channel and add members; only the owner deletes
  the channel and grants admin;
- owner/admin remove others, anyone removes themself, nobody removes the owner;
- only the author edits a message; the author or an owner/admin deletes it;
- join works for public channels only; no token is always 401.
"""

from dataclasses import dataclass
from typing import Callable

import pytest

from conftest import Api, UserCtx, expect

ROLES = ("owner", "admin", "member", "outsider", "anon")


@dataclass(frozen=True)
class D:
    """An expected status with its exact detail text."""
    status: int
    detail: str


class AnyOf(tuple):
    """Cells where the contract allows either status (documented ambiguity)."""


NOT_AUTH = "Not authenticated"
PRIV = "Access denied to private channel"
SEND_DENIED = "You must be a member of the channel to send messages"
UPDATE_DENIED = "Only channel owner or admin can update channel"
DELETE_DENIED = "Only channel owner can delete channel"
ADD_DENIED = "Only channel owner or admin can add members"
ALREADY = "User is already a member of this channel"
OWNER = "Cannot remove channel owner"
EDIT_DENIED = "You can only edit your own messages"
DEL_MSG_DENIED = "You can only delete your own messages or you must be a channel admin"

# fmt: off
# endpoint              channel     owner              admin              member               outsider                  anon (always 401 "Not authenticated")
EXPECTED = {
    "get_channel":       {"public":  (200,              200,               200,                 200,                      401),
                          "private": (200,              200,               200,                 D(403, PRIV),             401)},
    "update_channel":    {"public":  (200,              200,               D(403, UPDATE_DENIED), 403,                    401),
                          "private": (200,              200,               D(403, UPDATE_DENIED), 403,                    401)},
    "delete_channel":    {"public":  (204,              D(403, DELETE_DENIED), D(403, DELETE_DENIED), 403,            401),
                          "private": (204,              D(403, DELETE_DENIED), D(403, DELETE_DENIED), 403,            401)},
    "add_member":        {"public":  (201,              201,               D(403, ADD_DENIED),  403,                      401),
                          "private": (201,              201,               D(403, ADD_DENIED),  403,                      401)},
    "add_admin":         {"public":  (201,              403,               403,                 403,                      401),
                          "private": (201,              403,               403,                 403,                      401)},
    "list_members":      {"public":  (200,              200,               200,                 200,                      401),
                          "private": (200,              200,               200,                 D(403, "Access denied"),  401)},
    "remove_other":      {"public":  (204,              204,               D(403, "Permission denied"), 403,              401),
                          "private": (204,              204,               D(403, "Permission denied"), 403,              401)},
    "remove_self":       {"public":  (D(400, OWNER),    204,               204,                 D(404, "User is not a member of this channel"), 401),
                          "private": (D(400, OWNER),    204,               204,                 AnyOf((403, 404)),        401)},
    "remove_owner":      {"public":  (D(400, OWNER),    D(400, OWNER),     403,                 403,                      401),
                          "private": (D(400, OWNER),    D(400, OWNER),     403,                 403,                      401)},
    "join":              {"public":  (D(400, ALREADY),  D(400, ALREADY),   D(400, ALREADY),     201,                      401),
                          "private": (AnyOf((400, 403)), AnyOf((400, 403)), AnyOf((400, 403)),  403,                      401)},
    "mark_read":         {"public":  (204,              204,               204,                 403,                      401),
                          "private": (204,              204,               204,                 403,                      401)},
    "post_message":      {"public":  (201,              201,               201,                 D(403, SEND_DENIED),      401),
                          "private": (201,              201,               201,                 403,                      401)},
    "history":           {"public":  (200,              200,               200,                 200,                      401),
                          "private": (200,              200,               200,                 D(403, PRIV),             401)},
    "get_message":       {"public":  (200,              200,               200,                 200,                      401),
                          "private": (200,              200,               200,                 D(403, "Access denied"),  401)},
    "replies":           {"public":  (200,              200,               200,                 200,                      401),
                          "private": (200,              200,               200,                 D(403, "Access denied"),  401)},
    "edit_members_msg":  {"public":  (D(403, EDIT_DENIED), D(403, EDIT_DENIED), 200,            403,                      401),
                          "private": (D(403, EDIT_DENIED), D(403, EDIT_DENIED), 200,            403,                      401)},
    "delete_members_msg": {"public": (204,              204,               204,                 403,                      401),
                          "private": (204,              204,               204,                 403,                      401)},
    "delete_owners_msg": {"public":  (204,              204,               D(403, DEL_MSG_DENIED), 403,                   401),
                          "private": (204,              204,               D(403, DEL_MSG_DENIED), 403,                   401)},
}
# fmt: on


# --------------------------------------------------------------------------- #
# The cast (module-wide users) and a fresh world per cell
# --------------------------------------------------------------------------- #

@dataclass
class Cast:
    owner: UserCtx
    admin: UserCtx
    member: UserCtx
    member2: UserCtx
    outsider: UserCtx
    target: UserCtx


@pytest.fixture(scope="module")
def cast(api) -> Cast:
    return Cast(*(api.new_user(p) for p in ("mxown", "mxadm", "mxmem", "mxmem2", "mxout", "mxtgt")))


@dataclass
class World:
    api: Api
    cast: Cast
    channel: dict
    members_msg: dict   # a message (thread root) by the plain member
    owners_msg: dict    # a message by the owner
    reply: dict         # a reply to members_msg

    @property
    def cid(self) -> str:
        return self.channel["id"]


def build_world(api: Api, cast: Cast, private: bool) -> World:
    ch = api.create_channel(cast.owner, private=private)
    api.add_member(ch["id"], cast.owner, cast.admin, role="admin")
    api.add_member(ch["id"], cast.owner, cast.member)
    api.add_member(ch["id"], cast.owner, cast.member2)
    mm = api.send(cast.member, ch["id"], "member's message")
    om = api.send(cast.owner, ch["id"], "owner's message")
    rep = api.send(cast.member2, ch["id"], "a reply", parent_id=mm["id"])
    return World(api, cast, ch, mm, om, rep)


# --------------------------------------------------------------------------- #
# Endpoint calls and their effect checks (seen by the owner)
# --------------------------------------------------------------------------- #

def _members(w: World) -> dict:
    return {m["user_id"]: m["role"] for m in w.api.members(w.cid, w.cast.owner)}


def _call(w: World, endpoint: str, actor: UserCtx | None, token: str | None):
    a, c, cid = w.api, w.cast, w.cid
    self_id = actor.id if actor else c.member.id
    return {
        "get_channel": lambda: a.get(f"/api/v1/channels/{cid}", token),
        "update_channel": lambda: a.put(f"/api/v1/channels/{cid}", token,
                                        json={"description": "changed"}),
        "delete_channel": lambda: a.delete(f"/api/v1/channels/{cid}", token),
        "add_member": lambda: a.post(f"/api/v1/channels/{cid}/members", token,
                                     json={"user_id": c.target.id}),
        "add_admin": lambda: a.post(f"/api/v1/channels/{cid}/members", token,
                                    json={"user_id": c.target.id, "role": "admin"}),
        "list_members": lambda: a.get(f"/api/v1/channels/{cid}/members", token),
        "remove_other": lambda: a.delete(f"/api/v1/channels/{cid}/members/{c.member2.id}", token),
        "remove_self": lambda: a.delete(f"/api/v1/channels/{cid}/members/{self_id}", token),
        "remove_owner": lambda: a.delete(f"/api/v1/channels/{cid}/members/{c.owner.id}", token),
        "join": lambda: a.post(f"/api/v1/channels/{cid}/join", token),
        "mark_read": lambda: a.put(f"/api/v1/channels/{cid}/read", token, json={"last_read_seq": 2}),
        "post_message": lambda: a.post("/api/v1/messages/", token,
                                       json={"channel_id": cid, "content": "posted"}),
        "history": lambda: a.get(f"/api/v1/messages/channels/{cid}", token),
        "get_message": lambda: a.get(f"/api/v1/messages/{w.members_msg['id']}", token),
        "replies": lambda: a.get(f"/api/v1/messages/{w.members_msg['id']}/replies", token),
        "edit_members_msg": lambda: a.put(f"/api/v1/messages/{w.members_msg['id']}", token,
                                          json={"content": "edited"}),
        "delete_members_msg": lambda: a.delete(f"/api/v1/messages/{w.members_msg['id']}", token),
        "delete_owners_msg": lambda: a.delete(f"/api/v1/messages/{w.owners_msg['id']}", token),
    }[endpoint]()


def _check_effect(w: World, endpoint: str, actor: UserCtx | None, ok: bool, resp) -> None:
    """After the call: did the write happen exactly when it succeeded?"""
    a, c, o = w.api, w.cast, w.cast.owner
    if endpoint == "get_channel" and ok:
        assert resp.json()["id"] == w.cid
    elif endpoint == "update_channel":
        assert a.get_channel(w.cid, o)["description"] == ("changed" if ok else "e2e channel")
    elif endpoint == "delete_channel":
        expect(a.get(f"/api/v1/channels/{w.cid}", o), 404 if ok else 200)
    elif endpoint in ("add_member", "add_admin"):
        want = ("admin" if endpoint == "add_admin" else "member") if ok else None
        assert _members(w).get(c.target.id) == want
    elif endpoint == "list_members" and ok:
        assert set(_members(w)) == {c.owner.id, c.admin.id, c.member.id, c.member2.id}
        assert {m["user_id"] for m in resp.json()} == set(_members(w))
    elif endpoint == "remove_other":
        assert (c.member2.id in _members(w)) is not ok
    elif endpoint == "remove_self" and actor is not None:
        assert (actor.id in _members(w)) == (not ok and actor is not c.outsider)
    elif endpoint == "remove_owner":
        assert _members(w).get(o.id) == "owner"
    elif endpoint == "join":
        if actor is c.outsider:
            assert (c.outsider.id in _members(w)) is ok
        assert len(_members(w)) == 4 + (1 if ok else 0)
    elif endpoint == "mark_read" and ok:
        assert a.get_channel(w.cid, actor)["unread_count"] == 1  # last_seq 3, read 2
    elif endpoint == "post_message":
        assert a.get_channel(w.cid, o)["last_seq"] == (4 if ok else 3)
    elif endpoint == "history" and ok:
        seqs = [m["seq"] for m in resp.json()]
        assert seqs == sorted(seqs) and {1, 2} <= set(seqs) <= {1, 2, 3}, seqs
    elif endpoint == "get_message" and ok:
        assert resp.json()["id"] == w.members_msg["id"]
    elif endpoint == "replies" and ok:
        assert [m["id"] for m in resp.json()] == [w.reply["id"]]
    elif endpoint == "edit_members_msg":
        got = expect(a.get(f"/api/v1/messages/{w.members_msg['id']}", o), 200).json()
        assert got["content"] == ("edited" if ok else "member's message")
    elif endpoint in ("delete_members_msg", "delete_owners_msg"):
        msg = w.members_msg if endpoint == "delete_members_msg" else w.owners_msg
        expect(a.get(f"/api/v1/messages/{msg['id']}", o), 404 if ok else 200)


CELLS = [(endpoint, privacy, role)
         for endpoint in EXPECTED for privacy in ("public", "private") for role in ROLES]


@pytest.mark.parametrize("endpoint,privacy,role", CELLS,
                         ids=[f"{e}-{p}-{r}" for e, p, r in CELLS])
def test_authz_cell(api, cast, endpoint, privacy, role):
    expected = EXPECTED[endpoint][privacy][ROLES.index(role)]
    w = build_world(api, cast, private=(privacy == "private"))
    actor = None if role == "anon" else getattr(cast, role)
    resp = _call(w, endpoint, actor, actor.token if actor else None)

    if role == "anon":
        assert expected == 401
        expect(resp, 401, NOT_AUTH)
    elif isinstance(expected, D):
        expect(resp, expected.status, expected.detail)
    elif isinstance(expected, AnyOf):
        expect(resp, tuple(expected))
    else:
        expect(resp, expected)
    if resp.status_code >= 400:
        body = resp.json()
        assert isinstance(body.get("detail"), str), body
    _check_effect(w, endpoint, actor, ok=resp.status_code < 300, resp=resp)
