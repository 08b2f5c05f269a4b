"""Notifications (issue 7: the notifier role), end to end.

Who is notified and how (in-app, `notification.new` frames, webhooks, email),
presence, preferences, mutes, direct conversations, threads, @channel/@here,
coalescing, webhook retries and dead letters, redelivery, and bad input.

Real parts only: the `signalink serve` binary (the notifier is one of its
roles), a webhook receiver (`http.server.ThreadingHTTPServer` on loopback, in
this process) that checks every HMAC-SHA256 signature with the secret returned
at registration, a real SMTP server (Debian's aiosmtpd) on loopback, Python's
`websockets`, `signalink events tail` for the dead-letter topic, and kcat for
Kafka.

Timing: the servers run with a short coalescing window (NOTIFY_COALESCE_MS,
`SIGNALINK_E2E_NOTIFY_COALESCE_MS`, 800 ms by default) and quick delivery
retries. "Exactly one" is checked by waiting QUIET (the window plus 2 s)
after the first observation. Everything else is polled with a deadline.
"""

import asyncio
import datetime as dt
import json
import os
import time
import uuid

import pytest

from conftest import (DELIVERY_FAILED_KEYS, PREFERENCE_KEYS,
                      TOPIC_NOTIFICATIONS_DLQ, WEBHOOK_BODY_KEYS, WEBHOOK_CREATED_KEYS, WEBHOOK_KEYS,
                      Api, WsEnv, arun, check_channel, check_notification, check_ws_frame, expect, expect_validation_error,
                      is_ts, is_uuid, make_client, metric_sum, poll_until, record_headers, sql_quote, sql_rows,
                      start_notifier_server, unique)

COALESCE_MS = int(os.environ.get("SIGNALINK_E2E_NOTIFY_COALESCE_MS", "800"))
COALESCE = COALESCE_MS / 1000
QUIET = COALESCE + 2.0   # after a first observation: long enough for a second one to show
WAIT = 20.0              # bound on anything expected to happen
IN_APP_WITHIN = 2.0      # a notification is readable this soon after the send
SMTP_FROM = "signalink-e2e@localhost"
NOTIFICATIONS = "/api/v1/notifications/"
PREFS = "/api/v1/users/me/notification-preferences"
WEBHOOKS = "/api/v1/users/me/webhooks/"


def base_env(smtp) -> dict:
    return {"NOTIFY_COALESCE_MS": COALESCE_MS, "SMTP_URL": smtp.url, "SMTP_FROM": SMTP_FROM,
            "DELIVERY_TIMEOUT_MS": 2000, "DELIVERY_MAX_ATTEMPTS": 3, "DELIVERY_BACKOFF_MS": 100,
            "DELIVERY_BACKOFF_MAX_MS": 400, "DELIVERY_POLL_MS": 100, "DELIVERY_CONCURRENCY": 4,
            "CONSUMER_BACKOFF_MS": 50, "CONSUMER_BACKOFF_MAX_MS": 500}


# --------------------------------------------------------------------------- #
# The shared server of this module (tests tell their deliveries apart by
# recipient: every user, hook path and channel is new)
# --------------------------------------------------------------------------- #

@pytest.fixture(scope="module")
def _notify_session(tmp_path_factory, smtp_sink, module_db_env) -> WsEnv:
    srv = start_notifier_server(tmp_path_factory, "notify", "serve", **base_env(smtp_sink), **module_db_env)
    env = WsEnv(srv, Api(srv))
    yield env
    env.api.close()
    env.close()
    srv.stop()


@pytest.fixture
def nenv(_notify_session) -> WsEnv:
    srv = _notify_session.server
    if not srv.alive():
        srv.restart()
    yield _notify_session
    if not srv.alive():
        pytest.fail(f"signalink (notify) died during this test: exit {srv.proc.returncode}\n"
                    f"{srv.log_tail()}", pytrace=False)


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #

def notes(api: Api, who, **params) -> dict:
    r = expect(api.get(NOTIFICATIONS, who, params=params), 200)
    body = r.json()
    assert isinstance(body, dict) and list(body) == ["items", "unread_count"], r.text
    assert isinstance(body["items"], list) and isinstance(body["unread_count"], int), r.text
    for it in body["items"]:
        check_notification(it)
    return body


def items(api: Api, who) -> list[dict]:
    return notes(api, who)["items"]


def wait_items(api: Api, who, pred, timeout: float = WAIT, what: str = "notifications") -> list[dict]:
    """Polls `who`'s notifications until pred(items) holds."""
    last: list = []

    def ok():
        nonlocal last
        last = items(api, who)
        return pred(last)
    poll_until(ok, timeout, 0.05, lambda: f"{what} of {who.username}: last {last}")
    return last


def add_hook(api: Api, who, url: str) -> dict:
    r = expect(api.post(WEBHOOKS, who, json={"url": url}), 201)
    hook = r.json()
    assert list(hook) == WEBHOOK_CREATED_KEYS, r.text
    assert is_uuid(hook["id"]) and hook["url"] == url and is_ts(hook["created_at"]), r.text
    assert isinstance(hook["secret"], str) and len(hook["secret"]) >= 16, r.text
    return hook


def set_prefs(api: Api, who, **prefs: bool) -> dict:
    r = expect(api.put(PREFS, who, json=prefs), 200)
    body = r.json()
    assert list(body) == PREFERENCE_KEYS, r.text
    for k, v in prefs.items():
        assert body[k] is v, r.text
    return body


def mute(api: Api, who, channel_id: str, muted: bool = True) -> dict:
    r = expect(api.put(f"/api/v1/channels/{channel_id}/mute", who, json={"muted": muted}), 200)
    assert r.json() == {"channel_id": channel_id, "muted": muted}, r.text
    return r.json()


def open_dm(api: Api, who, other, status=(200, 201)) -> dict:
    r = expect(api.post("/api/v1/dms/", who, json={"user_id": other.id}), status)
    ch = r.json()
    check_channel(ch)
    assert ch["is_private"] is True, ch
    return ch


def member(api: Api, ch: dict, owner, *users, role=None) -> None:
    for u in users:
        api.add_member(ch["id"], owner, u, role=role)


def check_call(call, hook: dict, recipient, actor, channel: dict | None) -> dict:
    """One webhook request: method, content type, a signature made with this
    webhook's secret, the delivery id in header and body, and the body's shape."""
    assert call.method == "POST", call
    assert call.headers.get("content-type", "").startswith("application/json"), call.headers
    assert call.signature_ok(hook["secret"]), \
        f"bad X-Signalink-Signature {call.headers.get('x-signalink-signature')!r} for body {call.body[:300]!r}"
    body = call.json()
    assert list(body) == WEBHOOK_BODY_KEYS, body
    assert body["event"] == "notification", body
    assert is_uuid(body["delivery_id"]) or (isinstance(body["delivery_id"], str) and body["delivery_id"]), body
    assert call.headers.get("x-signalink-delivery") == body["delivery_id"], (call.headers, body)
    assert is_ts(body["sent_at"]), body
    check_notification(body["notification"])
    assert body["recipient"] == {"id": recipient.id, "username": recipient.username}, body
    assert body["actor"] == {"id": actor.id, "username": actor.username}, body
    if channel is not None:
        assert body["channel"] == {"id": channel["id"], "name": channel["name"]}, body
    return body


def check_mail(mail, who, text: str, actor=None, channel: dict | None = None, count: int = 1) -> None:
    """One email: envelope and headers, subject, multipart/alternative with a
    text and an html part both holding the message text."""
    msg = mail.message
    assert mail.mail_from == SMTP_FROM, mail.mail_from
    assert SMTP_FROM in str(msg["From"]), msg["From"]
    assert [r.lower() for r in mail.rcpt_tos] == [who.email.lower()], mail.rcpt_tos
    assert who.email.lower() in str(msg["To"]).lower(), msg["To"]
    subject = str(msg["Subject"])
    assert subject.startswith("[Signalink]"), subject
    if channel is not None:
        assert f"#{channel['name']}" in subject, subject
    if count == 1 and actor is not None:
        assert actor.username in subject, subject
    if count > 1:
        assert f"{count} new messages" in subject, subject
    assert msg.get_content_type() == "multipart/alternative", msg.get_content_type()
    parts = mail.parts()
    assert "text/plain" in parts and "text/html" in parts, list(parts)
    assert text in parts["text/plain"], parts["text/plain"][:1000]
    assert text in parts["text/html"], parts["text/html"][:1000]


async def notification_frame(ws, timeout: float = WAIT) -> dict:
    """The next notification.new frame of `ws` (other frames stay pending).
    Reads raw frames so that a malformed one fails with its own reason
    (WsConn.recv_type reports any bad frame as "no frame")."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{ws.label}: no notification.new within {timeout} s; "
                                 f"pending {list(ws.pending)}")
        try:
            raw = await asyncio.wait_for(ws.ws.recv(), left)
        except asyncio.TimeoutError:
            continue
        frame = json.loads(raw)
        assert isinstance(frame, dict), raw
        if frame.get("type") == "notification.new":
            check_ws_frame(frame)  # type, timestamp, notification (docs/protocol.md: every server frame)
            check_notification(frame["notification"])
            ws.log.append(frame)
            return frame
        check_ws_frame(frame)
        ws.log.append(frame)
        ws.pending.append(frame)


def notifier_metrics(env: WsEnv) -> str:
    with make_client(env.server.notifier_url) as c:
        return expect(c.get("/metrics"), 200).text


# --------------------------------------------------------------------------- #
# 1. An offline user's mention: in-app, one webhook, one email
# --------------------------------------------------------------------------- #

def test_an_offline_users_mention_gives_one_in_app_notification_one_webhook_and_one_email(
        nenv, webhook_receiver, smtp_sink):
    api = nenv.api
    alice, bob = api.new_user("nal"), api.new_user("nbo")
    ch = api.create_channel(alice, name=unique("ngen"))
    member(api, ch, alice, bob)
    url = webhook_receiver.hook()
    hook = add_hook(api, bob, url)
    assert notes(api, bob) == {"items": [], "unread_count": 0}

    text = f"hello @{bob.username} the build is green"
    t0 = time.monotonic()
    msg = api.send(alice, ch["id"], text)
    got = wait_items(api, bob, lambda its: len(its) >= 1, IN_APP_WITHIN, "a notification within 2 s")
    assert len(got) == 1, got
    n = got[0]
    assert (n["type"], n["channel_id"], n["message_id"], n["actor_id"], n["text"], n["count"], n["is_read"]) == \
        ("mention", ch["id"], msg["id"], alice.id, text, 1, False), n
    assert notes(api, bob)["unread_count"] == 1

    calls = webhook_receiver.wait_calls(url, 1, WAIT)
    mails = smtp_sink.wait_for(bob.email, 1, WAIT)
    # External deliveries wait for the coalescing window (one covers a burst).
    first = min(calls[0].received_at, mails[0].received_at)
    assert first - t0 >= COALESCE - 0.1, f"delivered {first - t0:.2f} s after the send, before the window"
    body = check_call(calls[0], hook, bob, alice, ch)
    assert body["notification"] == n, (body["notification"], n)
    check_mail(mails[0], bob, text, alice, ch)

    time.sleep(QUIET)
    assert len(webhook_receiver.calls_to(url)) == 1, [c.json() for c in webhook_receiver.calls_to(url)]
    assert len(smtp_sink.to(bob.email)) == 1, [str(m.message["Subject"]) for m in smtp_sink.to(bob.email)]
    assert items(api, bob) == [n]
    # Never the author.
    assert notes(api, alice) == {"items": [], "unread_count": 0}
    assert smtp_sink.to(alice.email) == []


# --------------------------------------------------------------------------- #
# 2. Presence: subscribed -> nothing; connected elsewhere -> in-app + frame only
# --------------------------------------------------------------------------- #

def test_presence_subscribed_gets_nothing_and_connected_elsewhere_gets_in_app_and_a_frame_only(
        nenv, webhook_receiver, smtp_sink):
    api = nenv.api
    alice, sub, away = api.new_user("npa"), api.new_user("nps"), api.new_user("npw")
    ch = api.create_channel(alice, name=unique("npr"))
    member(api, ch, alice, sub, away)
    elsewhere = api.create_channel(away, name=unique("npe"))
    sub_url, away_url = webhook_receiver.hook(), webhook_receiver.hook()
    sub_hook, away_hook = add_hook(api, sub, sub_url), add_hook(api, away, away_url)
    text = f"@{sub.username} and @{away.username} look at this"

    async def go():
        ws_sub = await nenv.open(sub)
        await ws_sub.subscribe(ch["id"])
        ws_away = await nenv.open(away)  # online, watching another channel only
        await ws_away.subscribe(elsewhere["id"])
        msg = api.send(alice, ch["id"], text)
        frame = await notification_frame(ws_away)
        n = frame["notification"]
        check_notification(n)
        assert (n["type"], n["channel_id"], n["message_id"], n["actor_id"], n["count"]) == \
            ("mention", ch["id"], msg["id"], alice.id, 1), frame
        assert items(api, away) == [n]
        # The subscribed user sees the message itself, and nothing more.
        rcv = await ws_sub.recv_type("message.receive", WAIT, message_id=msg["id"])
        assert rcv["content"] == text
        later = await ws_sub.collect(QUIET)
        assert not [f for f in ws_sub.log + later if f["type"] == "notification.new"], ws_sub.log + later
        more = await ws_away.collect(0.2)
        assert not [f for f in more if f["type"] == "notification.new"], more
        assert items(api, sub) == []
        assert webhook_receiver.calls_to(sub_url) == [] and webhook_receiver.calls_to(away_url) == []
        assert smtp_sink.to(sub.email) == [] and smtp_sink.to(away.email) == []
        await ws_sub.close()
        await ws_away.close()

    arun(go())
    # Control: offline now, the same two get webhooks and email (the absence
    # above was presence, not a broken hook or address).
    poll_until(lambda: not {sub.id, away.id} & set(nenv.stats()["users_online"]), WAIT,
               what="both offline at the gateway")
    again = api.send(alice, ch["id"], f"@{sub.username} @{away.username} again")
    for who, url, hook in ((sub, sub_url, sub_hook), (away, away_url, away_hook)):
        calls = webhook_receiver.wait_calls(url, 1, WAIT)
        body = check_call(calls[0], hook, who, alice, ch)
        assert body["notification"]["message_id"] == again["id"], body
        check_mail(smtp_sink.wait_for(who.email, 1, WAIT)[0], who, "again", alice, ch)
    assert [i["message_id"] for i in items(api, sub)] == [again["id"]]


def test_a_background_subscription_is_not_looking_so_it_gets_notified(nenv, webhook_receiver, smtp_sink):
    """`viewing:false` (a client keeping unread counts of channels it does not
    show) leaves its user notified, as someone connected elsewhere: in-app and
    a frame, no webhook or email. Resubscribing with viewing:true makes them a
    viewer again; a non-boolean viewing is an error frame."""
    api = nenv.api
    alice, bg = api.new_user("nba"), api.new_user("nbb")
    ch = api.create_channel(alice, name=unique("nbg"))
    member(api, ch, alice, bg)
    url = webhook_receiver.hook()
    add_hook(api, bg, url)

    async def go():
        ws = await nenv.open(bg)
        await ws.subscribe(ch["id"], viewing=False)
        msg = api.send(alice, ch["id"], f"@{bg.username} first")
        n = (await notification_frame(ws))["notification"]
        assert (n["type"], n["message_id"]) == ("mention", msg["id"]), n
        assert [i["message_id"] for i in items(api, bg)] == [msg["id"]]
        # Now looking at it: the next mention notifies nobody.
        await ws.collect(0.3)  # the first message's own frame
        await ws.subscribe(ch["id"], viewing=True)
        expect(api.post("/api/v1/notifications/read-all", bg), 200)
        second = api.send(alice, ch["id"], f"@{bg.username} second")
        await ws.recv_type("message.receive", WAIT, message_id=second["id"])
        later = await ws.collect(QUIET)
        assert not [f for f in later if f["type"] == "notification.new"], later
        assert [i["message_id"] for i in items(api, bg)] == [msg["id"]]
        await ws.send({"type": "channel.subscribe", "channel_id": ch["id"], "viewing": "maybe"})
        await ws.expect_error("invalid")
        await ws.close()

    arun(go())
    assert webhook_receiver.calls_to(url) == [] and smtp_sink.to(bg.email) == []


# --------------------------------------------------------------------------- #
# 3. Mutes and preferences
# --------------------------------------------------------------------------- #

def test_muted_channels_and_disabled_preferences_are_honoured(nenv, webhook_receiver, smtp_sink):
    api = nenv.api
    alice = api.new_user("nma")
    muted, nomention, nopush, noemail, plain = (api.new_user(p) for p in ("nmm", "nmn", "nmp", "nme", "nmq"))
    outsider = api.new_user("nmo")
    ch = api.create_channel(alice, name=unique("nmu"))
    member(api, ch, alice, muted, nomention, nopush, noemail, plain)
    urls = {u.id: webhook_receiver.hook() for u in (muted, nomention, nopush, noemail, plain)}
    hooks = {u.id: add_hook(api, u, urls[u.id]) for u in (muted, nomention, nopush, noemail, plain)}

    default = expect(api.get(PREFS, plain), 200).json()
    assert list(default) == PREFERENCE_KEYS, default
    assert [default[k] for k in PREFERENCE_KEYS[:4]] == [True] * 4 and is_ts(default["updated_at"]), default
    body = set_prefs(api, nomention, mention_notifications=False)
    assert (body["email_notifications"], body["push_notifications"], body["dm_notifications"]) == (True, True, True)
    set_prefs(api, nopush, push_notifications=False)
    set_prefs(api, noemail, email_notifications=False)
    assert expect(api.get(PREFS, nopush), 200).json()["push_notifications"] is False
    mute(api, muted, ch["id"])
    expect(api.put(f"/api/v1/channels/{ch['id']}/mute", outsider, json={"muted": True}), 403,
           "You must be a member of the channel")

    names = " ".join(f"@{u.username}" for u in (muted, nomention, nopush, noemail, plain))
    text = f"{names} deploy at noon"
    msg = api.send(alice, ch["id"], text)

    # The control user gets all three: the message does produce deliveries.
    for who in (plain, nopush, noemail):
        got = wait_items(api, who, lambda its: len(its) == 1, WAIT)
        assert (got[0]["type"], got[0]["message_id"]) == ("mention", msg["id"]), got
    check_call(webhook_receiver.wait_calls(urls[plain.id], 1, WAIT)[0], hooks[plain.id], plain, alice, ch)
    check_mail(smtp_sink.wait_for(plain.email, 1, WAIT)[0], plain, "deploy at noon", alice, ch)
    check_mail(smtp_sink.wait_for(nopush.email, 1, WAIT)[0], nopush, "deploy at noon", alice, ch)
    check_call(webhook_receiver.wait_calls(urls[noemail.id], 1, WAIT)[0], hooks[noemail.id], noemail, alice, ch)

    time.sleep(QUIET)
    assert webhook_receiver.calls_to(urls[nopush.id]) == [], "push_notifications=false got a webhook"
    assert smtp_sink.to(noemail.email) == [], "email_notifications=false got an email"
    for who in (muted, nomention):
        assert items(api, who) == [], f"{who.username} was notified"
        assert webhook_receiver.calls_to(urls[who.id]) == [] and smtp_sink.to(who.email) == [], who.username
    assert len(webhook_receiver.calls_to(urls[plain.id])) == 1 and len(smtp_sink.to(plain.email)) == 1

    # Unmuted, the same user hears about the next mention.
    mute(api, muted, ch["id"], False)
    nxt = api.send(alice, ch["id"], f"@{muted.username} you are back")
    got = wait_items(api, muted, lambda its: len(its) == 1, WAIT)
    assert got[0]["message_id"] == nxt["id"], got


# --------------------------------------------------------------------------- #
# 4. Direct conversations
# --------------------------------------------------------------------------- #

def test_direct_messages_notify_and_the_conversation_is_idempotent_and_private(
        nenv, webhook_receiver, smtp_sink):
    api = nenv.api
    ann, ben, cat, dan = (api.new_user(p) for p in ("nda", "ndb", "ndc", "ndd"))

    dm = open_dm(api, ann, ben, 201)
    assert open_dm(api, ben, ann, 200)["id"] == dm["id"], "the other order gives the same conversation"
    assert open_dm(api, ann, ben, 200)["id"] == dm["id"]
    assert {m["user_id"] for m in api.members(dm["id"], ann)} == {ann.id, ben.id}
    # A third user neither sees nor joins it.
    expect(api.get(f"/api/v1/channels/{dm['id']}", cat), 403)
    expect(api.post(f"/api/v1/channels/{dm['id']}/join", cat), 403)
    assert dm["id"] not in {c["id"] for c in api.all_channels(cat)}
    assert dm["id"] in {c["id"] for c in api.all_channels(ben)}
    expect(api.post("/api/v1/messages/", cat, json={"channel_id": dm["id"], "content": "let me in"}), 403)
    # The other way round, a fresh pair is created by whoever asks first.
    dm2 = open_dm(api, ben, cat, 201)
    assert open_dm(api, cat, ben, 200)["id"] == dm2["id"] != dm["id"]

    url = webhook_receiver.hook()
    hook = add_hook(api, ben, url)
    msg = api.send(ann, dm["id"], "are you free at three")
    got = wait_items(api, ben, lambda its: len(its) == 1, IN_APP_WITHIN + 1)
    assert (got[0]["type"], got[0]["channel_id"], got[0]["message_id"], got[0]["actor_id"]) == \
        ("dm", dm["id"], msg["id"], ann.id), got
    body = check_call(webhook_receiver.wait_calls(url, 1, WAIT)[0], hook, ben, ann, dm)
    assert body["notification"]["type"] == "dm"
    check_mail(smtp_sink.wait_for(ben.email, 1, WAIT)[0], ben, "are you free at three", ann)

    # A mention inside a DM is still one notification, of the strongest kind (dm).
    reply = api.send(ben, dm["id"], f"@{ann.username} yes at three")
    got = wait_items(api, ann, lambda its: len(its) >= 1, WAIT)
    # dm_notifications=false: no DM notifications (a conversation of its own).
    set_prefs(api, dan, dm_notifications=False)
    dm3 = open_dm(api, ann, dan, 201)
    api.send(ann, dm3["id"], "hello dan")
    time.sleep(QUIET)
    got = items(api, ann)
    assert len(got) == 1 and (got[0]["type"], got[0]["message_id"], got[0]["count"]) == ("dm", reply["id"], 1), got
    assert items(api, dan) == [], "dm_notifications=false"
    assert items(api, cat) == []
    assert len(webhook_receiver.calls_to(url)) == 1 and len(smtp_sink.to(ben.email)) == 1

    # Errors of POST /dms/.
    expect(api.post("/api/v1/dms/", ann, json={"user_id": str(uuid.uuid4())}), 404, "User not found")
    expect(api.post("/api/v1/dms/", ann, json={"user_id": ann.id}), 400)
    expect_validation_error(api.post("/api/v1/dms/", ann, json={"user_id": "not-a-uuid"}), loc=["body", "user_id"])
    expect_validation_error(api.post("/api/v1/dms/", ann, json={}), loc=["body", "user_id"])
    expect(api.post("/api/v1/dms/", None, json={"user_id": ben.id}), 401)


# --------------------------------------------------------------------------- #
# 5. Thread replies
# --------------------------------------------------------------------------- #

def test_a_thread_reply_notifies_the_parents_author_and_earlier_repliers_not_the_replier(nenv):
    api = nenv.api
    author, first, second, bystander = (api.new_user(p) for p in ("nta", "ntb", "ntc", "ntd"))
    ch = api.create_channel(author, name=unique("nth"))
    member(api, ch, author, first, second, bystander)
    parent = api.send(author, ch["id"], "proposal: move standup to ten")
    r1 = api.send(first, ch["id"], "sounds good", parent_id=parent["id"])
    got = wait_items(api, author, lambda its: len(its) == 1, WAIT)
    assert (got[0]["type"], got[0]["message_id"], got[0]["actor_id"]) == ("reply", r1["id"], first.id), got

    r2 = api.send(second, ch["id"], "fine by me", parent_id=parent["id"])
    got = wait_items(api, first, lambda its: len(its) == 1, WAIT)
    assert (got[0]["type"], got[0]["message_id"], got[0]["actor_id"], got[0]["count"]) == \
        ("reply", r2["id"], second.id, 1), got
    # The author hears about both replies: one notification folded (count 2)
    # when the second came within the window, else two.
    mine = wait_items(api, author, lambda its: sum(i["count"] for i in its) >= 2, WAIT)
    assert all(i["type"] == "reply" for i in mine) and sum(i["count"] for i in mine) == 2, mine
    assert mine[0]["message_id"] == r2["id"] and mine[0]["actor_id"] == second.id, mine

    time.sleep(QUIET)
    assert items(api, second) == [], "the replier is not notified"
    assert items(api, bystander) == [], "a member outside the thread is not notified"
    assert sum(i["count"] for i in items(api, author)) == 2
    assert len(items(api, first)) == 1


# --------------------------------------------------------------------------- #
# 6. @channel and @here
# --------------------------------------------------------------------------- #

def test_at_channel_by_the_owner_or_an_admin_notifies_every_member_and_by_a_member_nobody(nenv):
    api = nenv.api
    owner, adm, m1, m2 = (api.new_user(p) for p in ("nco", "nca", "ncm", "ncn"))
    ch = api.create_channel(owner, name=unique("ncc"))
    member(api, ch, owner, m1, m2)
    member(api, ch, owner, adm, role="admin")

    api.send(m1, ch["id"], "@channel is anyone around")  # a plain member: ignored
    om = api.send(owner, ch["id"], "@channel release freeze starts now")
    for who in (m1, m2, adm):
        got = wait_items(api, who, lambda its: len(its) >= 1, WAIT)
        # One notification, for the owner's message only: had the member's
        # @channel counted, it would be older or folded in (count 2).
        assert len(got) == 1 and (got[0]["type"], got[0]["message_id"], got[0]["actor_id"], got[0]["count"]) == \
            ("channel", om["id"], owner.id, 1), (who.username, got)

    # An admin may too (a channel of its own, so nothing folds).
    ch2 = api.create_channel(owner, name=unique("ncd"))
    member(api, ch2, owner, m1)
    member(api, ch2, owner, adm, role="admin")
    am = api.send(adm, ch2["id"], "@channel admin speaking")
    for who in (owner, m1):
        wait_items(api, who, lambda its: any(i["message_id"] == am["id"] and i["type"] == "channel" for i in its),
                   WAIT, "the admin's @channel")
    time.sleep(QUIET)
    assert [i["message_id"] for i in items(api, owner)] == [am["id"]], "the member's @channel notified the owner"
    assert [i["message_id"] for i in items(api, m2)] == [om["id"]]
    assert not [i for i in items(api, adm) if i["channel_id"] == ch2["id"]], "the author is never notified"


def test_at_here_reaches_online_members_only(nenv):
    api = nenv.api
    owner, online, offline = (api.new_user(p) for p in ("nho", "nhn", "nhf"))
    ch = api.create_channel(owner, name=unique("nhh"))
    member(api, ch, owner, online, offline)

    async def go():
        ws = await nenv.open(online)  # connected, not subscribed to the channel
        msg = api.send(owner, ch["id"], "@here standup in five")
        frame = await notification_frame(ws)
        assert (frame["notification"]["type"], frame["notification"]["message_id"]) == ("channel", msg["id"]), frame
        assert [i["id"] for i in items(api, online)] == [frame["notification"]["id"]]
        time.sleep(QUIET)
        assert items(api, offline) == [], "@here reached an offline member"
        await ws.close()

    arun(go())


# --------------------------------------------------------------------------- #
# 7. Coalescing, read and read-all
# --------------------------------------------------------------------------- #

def test_three_quick_mentions_coalesce_into_one_notification_one_webhook_and_one_email(
        nenv, webhook_receiver, smtp_sink):
    api = nenv.api
    ann, rob = api.new_user("nqa"), api.new_user("nqr")
    ch = api.create_channel(ann, name=unique("nqc"))
    member(api, ch, ann, rob)
    url = webhook_receiver.hook()
    hook = add_hook(api, rob, url)

    # Mentions are case-insensitive.
    msgs = [api.send(ann, ch["id"], f"@{rob.username.upper()} point number {i}") for i in (1, 2, 3)]
    got = wait_items(api, rob, lambda its: len(its) >= 1 and its[0]["count"] >= 3, WAIT, "count 3")
    assert len(got) == 1, got
    n = got[0]
    assert (n["type"], n["count"], n["message_id"], n["text"], n["actor_id"]) == \
        ("mention", 3, msgs[-1]["id"], msgs[-1]["content"], ann.id), n
    calls = webhook_receiver.wait_calls(url, 1, WAIT)
    body = check_call(calls[0], hook, rob, ann, ch)
    assert (body["notification"]["id"], body["notification"]["count"], body["notification"]["message_id"]) == \
        (n["id"], 3, msgs[-1]["id"]), body
    mails = smtp_sink.wait_for(rob.email, 1, WAIT)
    check_mail(mails[0], rob, "point number 3", ann, ch, count=3)
    time.sleep(QUIET)
    assert len(webhook_receiver.calls_to(url)) == 1, [c.json() for c in webhook_receiver.calls_to(url)]
    assert len(smtp_sink.to(rob.email)) == 1
    assert items(api, rob) == [n]

    # Past the window, an unread notification absorbs nothing: the next mention is new.
    m4 = api.send(ann, ch["id"], f"@{rob.username} point number 4")
    got = wait_items(api, rob, lambda its: len(its) == 2, WAIT)
    assert [(i["message_id"], i["count"], i["is_read"]) for i in got] == \
        [(m4["id"], 1, False), (msgs[-1]["id"], 3, False)], got
    assert notes(api, rob)["unread_count"] == 2
    assert notes(api, rob, limit=1)["items"] == got[:1]
    assert notes(api, rob, skip=1, limit=50)["items"] == got[1:]
    assert len(notes(api, rob, limit=1000)["items"]) == 2  # clamped, not refused

    # Read one; someone else's is not found; read-all counts what it changed.
    r = expect(api.post(f"/api/v1/notifications/{n['id']}/read", rob), 200).json()
    check_notification(r)
    assert r["id"] == n["id"] and r["is_read"] is True and r["count"] == 3, r
    assert notes(api, rob)["unread_count"] == 1
    expect(api.post(f"/api/v1/notifications/{got[0]['id']}/read", ann), 404, "Notification not found")
    assert expect(api.post("/api/v1/notifications/read-all", rob), 200).json() == {"updated": 1}
    assert notes(api, rob)["unread_count"] == 0
    assert expect(api.post("/api/v1/notifications/read-all", rob), 200).json() == {"updated": 0}

    # A read notification absorbs nothing, even within its window.
    m5 = api.send(ann, ch["id"], f"@{rob.username} point number 5")
    age = _seconds(m5["created_at"]) - _seconds(got[0]["created_at"])
    assert age < COALESCE, f"too slow to test this: the mention came {age:.2f} s after the notification"
    got = wait_items(api, rob, lambda its: len(its) == 3, WAIT)
    assert [(i["message_id"], i["count"], i["is_read"]) for i in got] == \
        [(m5["id"], 1, False), (m4["id"], 1, True), (msgs[-1]["id"], 3, True)], got
    # Each new one is delivered externally too.
    webhook_receiver.wait_calls(url, 3, WAIT)
    smtp_sink.wait_for(rob.email, 3, WAIT)


def _seconds(ts: str) -> float:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


# --------------------------------------------------------------------------- #
# 8. Webhook retries, dead letters, and independence of deliveries
# --------------------------------------------------------------------------- #

HANG_TIMEOUT_MS = 5000


def test_webhook_retries_dead_letters_and_a_hung_receiver_delays_nobody(
        start_notify_server, webhook_receiver, smtp_sink, start_tail, fresh_db_env):
    env = start_notify_server("nt-deliv", **{**base_env(smtp_sink), "DELIVERY_TIMEOUT_MS": HANG_TIMEOUT_MS},
                              **fresh_db_env)
    api = env.api
    tail = start_tail(env.server, topics=[TOPIC_NOTIFICATIONS_DLQ])
    alice = api.new_user("nwa")
    flaky, dead, hung, fast = (api.new_user(p) for p in ("nwf", "nwd", "nwh", "nwq"))
    ch = api.create_channel(alice, name=unique("nwc"))
    member(api, ch, alice, flaky, dead, hung, fast)
    urls = {flaky.id: webhook_receiver.hook(500, 500),                      # then 200
            dead.id: webhook_receiver.hook(default=500),                    # always fails
            hung.id: webhook_receiver.hook(default=("hang", HANG_TIMEOUT_MS / 1000 + 2)),
            fast.id: webhook_receiver.hook()}
    hooks = {u.id: add_hook(api, u, urls[u.id]) for u in (flaky, dead, hung, fast)}
    before = notifier_metrics(env)

    # The hung receiver's notification is due first, the others right after.
    t0 = time.monotonic()
    api.send(alice, ch["id"], f"@{hung.username} first")
    sent = api.send(alice, ch["id"], f"@{flaky.username} @{dead.username} @{fast.username} second")
    hung_call = webhook_receiver.wait_calls(urls[hung.id], 1, WAIT)[0]
    fast_call = webhook_receiver.wait_calls(urls[fast.id], 1, WAIT)[0]
    assert fast_call.received_at - t0 <= COALESCE + 3.0, \
        f"the fast receiver was called {fast_call.received_at - t0:.2f} s after the send"
    # Still hanging when the others got theirs: it delayed no one.
    timeout_at = hung_call.received_at + HANG_TIMEOUT_MS / 1000
    assert fast_call.received_at < timeout_at, (fast_call.received_at, hung_call.received_at)
    check_call(fast_call, hooks[fast.id], fast, alice, ch)

    # 500, 500, 200: three calls, one delivery id, delivered once.
    flaky_calls = webhook_receiver.wait_calls(urls[flaky.id], 3, WAIT, answered=True)
    assert flaky_calls[2].received_at < timeout_at, "retries waited for the hung receiver"
    bodies = [check_call(c, hooks[flaky.id], flaky, alice, ch) for c in flaky_calls]
    assert [c.status for c in flaky_calls] == [500, 500, 200]
    assert len({b["delivery_id"] for b in bodies}) == 1, [b["delivery_id"] for b in bodies]
    assert {b["notification"]["message_id"] for b in bodies} == {sent["id"]}
    assert {b["notification"]["id"] for b in bodies} == {items(api, flaky)[0]["id"]}

    # Always 500: DELIVERY_MAX_ATTEMPTS (3) calls, then one dead letter.
    dead_calls = webhook_receiver.wait_calls(urls[dead.id], 3, WAIT)
    assert dead_calls[2].received_at < timeout_at, "retries waited for the hung receiver"
    delivery_id = dead_calls[0].headers.get("x-signalink-delivery")
    assert {c.headers.get("x-signalink-delivery") for c in dead_calls} == {delivery_id}
    for c in dead_calls:
        check_call(c, hooks[dead.id], dead, alice, ch)
    evs = tail.wait_for(lambda e: any(isinstance(x, dict) and x.get("user_id") == dead.id for x in e), WAIT,
                        "the dead letter of the failing webhook")
    mine = [e for e in evs if isinstance(e, dict) and e.get("user_id") == dead.id]
    assert len(mine) == 1, mine
    ev = mine[0]
    assert list(ev) == DELIVERY_FAILED_KEYS, ev
    assert is_uuid(ev["event_id"]) and is_ts(ev["timestamp"]), ev
    assert (ev["event_type"], ev["delivery_id"], ev["notification_id"], ev["channel"], ev["target"],
            ev["attempts"]) == ("notification.delivery_failed", delivery_id, items(api, dead)[0]["id"], "webhook",
                                urls[dead.id], 3), ev
    assert isinstance(ev["error"], str) and ev["error"], ev

    time.sleep(QUIET)
    assert len(webhook_receiver.calls_to(urls[flaky.id])) == 3, "a delivered notification was sent again"
    assert len(webhook_receiver.calls_to(urls[dead.id])) == 3, "more attempts than DELIVERY_MAX_ATTEMPTS"
    assert len(webhook_receiver.calls_to(urls[fast.id])) == 1
    # Email went out to everyone regardless of their webhooks.
    for who in (flaky, dead, hung, fast):
        assert len(smtp_sink.to(who.email)) == 1, who.username
    after = notifier_metrics(env)

    def delta(**labels):
        return (metric_sum(after, "signalink_notification_deliveries_total", **labels) -
                metric_sum(before, "signalink_notification_deliveries_total", **labels))
    assert delta(channel="webhook", outcome="sent") == 2, after
    assert delta(channel="webhook", outcome="retried") >= 4, after
    assert delta(channel="webhook", outcome="failed") >= 1, after
    assert delta(channel="email", outcome="sent") == 4, after
    assert len([e for e in tail.events() if isinstance(e, dict) and e.get("user_id") == dead.id]) == 1


# --------------------------------------------------------------------------- #
# 9. Redelivery creates no duplicate (database log and Kafka)
# --------------------------------------------------------------------------- #

@pytest.fixture(params=["database", "kafka"])
def event_log(request) -> dict[str, str]:
    """The environment selecting the event log. On Kafka every test has topics
    of its own (the broker is shared)."""
    if request.param == "kafka":
        return {"KAFKA_BOOTSTRAP_SERVERS": request.getfixturevalue("kafka").bootstrap,
                "KAFKA_TOPIC_MESSAGES": unique("nt.messages"), "KAFKA_TOPIC_PRESENCE": unique("nt.presence"),
                "KAFKA_TOPIC_ANALYTICS": unique("nt.analytics"),
                "KAFKA_TOPIC_NOTIFICATIONS": unique("nt.notifications"),
                "KAFKA_SESSION_TIMEOUT_MS": "6000"}
    return {}


def test_redelivered_events_create_no_duplicate_notification(event_log, request, start_notify_server,
                                                             fresh_db_env, webhook_receiver, smtp_sink):
    group = unique("notifiers")
    wait = 60.0 if event_log else WAIT
    env = start_notify_server("nt-redeliver", **base_env(smtp_sink), **event_log, **fresh_db_env,
                              NOTIFIER_CONSUMER_GROUP=group)
    srv = env.server
    api = env.api
    ann, rob = api.new_user("nra"), api.new_user("nrb")
    ch = api.create_channel(ann, name=unique("nrc"))
    member(api, ch, ann, rob)
    url = webhook_receiver.hook()
    add_hook(api, rob, url)
    mention = api.send(ann, ch["id"], f"@{rob.username} once only")
    dm = open_dm(api, ann, rob, 201)
    direct = api.send(ann, dm["id"], "a direct one")
    got = wait_items(api, rob, lambda its: len(its) == 2, wait)
    assert {(i["type"], i["message_id"]) for i in got} == {("mention", mention["id"]), ("dm", direct["id"])}, got
    webhook_receiver.wait_calls(url, 2, wait)
    smtp_sink.wait_for(rob.email, 2, wait)
    time.sleep(QUIET)  # past the window: a redelivered event would now create, not fold
    snapshot = notes(api, rob)
    assert snapshot["unread_count"] == 2

    kafka = request.getfixturevalue("kafka") if event_log else None
    records = kafka.consume(srv.env["KAFKA_TOPIC_MESSAGES"]) if kafka else []
    if kafka:
        created = [r for r in records if json.loads(r["payload"]).get("event_type") == "message.created"]
        assert {json.loads(r["payload"])["message_id"] for r in created} == {mention["id"], direct["id"]}, records

    def duplicates() -> float:
        text = notifier_metrics(env)
        return (metric_sum(text, "signalink_notifications_total", outcome="duplicate") +
                metric_sum(text, "signalink_consumer_events_total", group=group, outcome="duplicate"))

    for round_ in (1, 2):
        if kafka:
            seen = duplicates()
            for rec in records:  # the same records again, as a producer retry would write them
                kafka.produce(srv.env["KAFKA_TOPIC_MESSAGES"], rec["payload"], key=rec["key"],
                              partition=rec["partition"], headers=record_headers(rec))
        else:
            srv.stop()
            db = srv.env["DATABASE_URL"]
            (n,) = sql_rows(db, f"SELECT count(*) FROM consumer_offsets WHERE group_name = {sql_quote(group)}")[0]
            assert int(n) >= 1, f"no position of group {group} to reset"
            sql_rows(db, f"UPDATE consumer_offsets SET position = 0 WHERE group_name = {sql_quote(group)}")
            seen = 0.0
            srv.restart()
            api.close()
            api = Api(srv)
        poll_until(lambda: duplicates() >= seen + 2, wait, 0.2,
                   lambda: f"round {round_}: redelivered events not counted as duplicates "
                           f"({duplicates()} < {seen + 2})")
        time.sleep(QUIET)
        now = notes(api, rob)
        assert now == snapshot, f"round {round_}: notifications changed by a redelivery\n{now}\n!= {snapshot}"
        assert len(webhook_receiver.calls_to(url)) == 2, f"round {round_}: a webhook sent again"
        assert len(smtp_sink.to(rob.email)) == 2, f"round {round_}: an email sent again"
    assert notes(api, ann)["items"] == []
    api.close()


# --------------------------------------------------------------------------- #
# 10. Bad input: 4xx, never 500
# --------------------------------------------------------------------------- #

def test_invalid_webhooks_are_refused_with_422_and_at_most_ten_are_kept(nenv):
    api = nenv.api
    u, other = api.new_user("nbw"), api.new_user("nbx")
    bad = ["ftp://127.0.0.1/hook", "not a url", "http://", "https://", "http://exa mple.com/hook",
           "http://127.0.0.1/" + "a" * 3000, 12345, None, True, ["http://127.0.0.1/"], {"u": 1}, ""]
    for url in bad:
        r = api.post(WEBHOOKS, u, json={"url": url})
        expect_validation_error(r, loc=["body", "url"])
    expect_validation_error(api.post(WEBHOOKS, u, json={}), loc=["body", "url"])
    r = api.post(WEBHOOKS, u, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert expect(api.get(WEBHOOKS, u), 200).json() == []

    made = [add_hook(api, u, f"https://hooks.example.com/{i}") for i in range(10)]
    r = api.post(WEBHOOKS, u, json={"url": "https://hooks.example.com/11"})
    expect(r, 400)
    assert isinstance(r.json().get("detail"), str), r.text
    listed = expect(api.get(WEBHOOKS, u), 200).json()
    assert len(listed) == 10 and all(list(h) == WEBHOOK_KEYS for h in listed), listed
    assert {h["id"] for h in listed} == {h["id"] for h in made}
    assert "secret" not in json.dumps(listed)
    expect(api.delete(f"{WEBHOOKS}{made[0]['id']}", other), 404, "Webhook not found")
    expect(api.delete(f"{WEBHOOKS}{made[0]['id']}", u), 204)
    expect(api.delete(f"{WEBHOOKS}{made[0]['id']}", u), 404, "Webhook not found")
    expect_validation_error(api.delete(f"{WEBHOOKS}not-a-uuid", u))
    assert len(expect(api.get(WEBHOOKS, u), 200).json()) == 9
    add_hook(api, u, "http://127.0.0.1:9/room-for-one-more")
    expect(api.get(WEBHOOKS), 401, "Not authenticated")
    expect(api.get("/health"), 200)


def test_bad_input_on_notification_endpoints_gets_4xx_never_500(nenv):
    api = nenv.api
    ann, bob, outsider = api.new_user("nbi"), api.new_user("nbj"), api.new_user("nbk")
    ch = api.create_channel(ann, name=unique("nbc"))
    member(api, ch, ann, bob)

    # An unknown name and a non-member: the message is stored, nobody is notified.
    msg = api.send(ann, ch["id"], f"@nobody_here and @{outsider.username} hello")
    assert msg["content"].startswith("@nobody_here")
    barrier = api.send(ann, ch["id"], f"@{bob.username} after that")  # same channel: handled after it
    got = wait_items(api, bob, lambda its: len(its) >= 1, WAIT)
    assert [i["message_id"] for i in got] == [barrier["id"]], got
    assert items(api, outsider) == [] and items(api, ann) == []

    # Huge bodies.
    big = b'{"channel_id":"%s","content":"' % ch["id"].encode() + b"x" * (2 * 1024 * 1024) + b'"}'
    with make_client(nenv.server.base_url) as c:
        r = c.post("/api/v1/messages/", content=big, headers={**ann.auth, "Content-Type": "application/json"})
    expect(r, 413)

    # Preferences: wrong types, wrong body.
    for body in ({"email_notifications": "maybe"}, {"push_notifications": 7}, {"mention_notifications": [True]},
                 {"dm_notifications": {"on": True}}):
        key = next(iter(body))
        expect_validation_error(api.put(PREFS, bob, json=body), loc=["body", key])
    for raw in (b"[]", b'"x"', b"{nope"):
        r = api.put(PREFS, bob, content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (raw, r.status_code, r.text)
    prefs = expect(api.get(PREFS, bob), 200).json()
    assert [prefs[k] for k in PREFERENCE_KEYS[:4]] == [True] * 4, "a refused update changed something"
    assert expect(api.put(PREFS, bob, json={}), 200).json()["email_notifications"] is True

    # Notifications: bad and unknown ids, paging.
    expect_validation_error(api.post("/api/v1/notifications/not-a-uuid/read", bob))
    expect(api.post(f"/api/v1/notifications/{uuid.uuid4()}/read", bob), 404, "Notification not found")
    for params in ({"limit": "x"}, {"skip": "y"}):
        r = api.get(NOTIFICATIONS, bob, params=params)
        expect_validation_error(r)
    expect(api.get(NOTIFICATIONS), 401, "Not authenticated")
    expect(api.post("/api/v1/notifications/read-all"), 401, "Not authenticated")

    # Mutes.
    expect(api.put(f"/api/v1/channels/{uuid.uuid4()}/mute", bob, json={"muted": True}), 404, "Channel not found")
    expect_validation_error(api.put("/api/v1/channels/not-a-uuid/mute", bob, json={"muted": True}))
    expect_validation_error(api.put(f"/api/v1/channels/{ch['id']}/mute", bob, json={"muted": "perhaps"}),
                            loc=["body", "muted"])
    expect_validation_error(api.put(f"/api/v1/channels/{ch['id']}/mute", bob, json={}), loc=["body", "muted"])
    expect(api.put(f"/api/v1/channels/{ch['id']}/mute", outsider, json={"muted": True}), 403,
           "You must be a member of the channel")
    assert expect(api.get("/health"), 200)
    assert nenv.server.alive()


def test_the_notifier_port_answers_root_health_and_metrics(nenv):
    api = nenv.api
    ann, bob = api.new_user("nza"), api.new_user("nzb")
    ch = api.create_channel(ann, name=unique("nzc"))
    member(api, ch, ann, bob)
    with make_client(nenv.server.notifier_url) as c:
        root = expect(c.get("/"), 200).json()
        assert root.get("name") == "Signalink Notifier", root
        health = expect(c.get("/health"), 200).json()
        assert (health.get("status"), health.get("service")) == ("healthy", "notifier"), health
        before = expect(c.get("/metrics"), 200).text
        api.send(ann, ch["id"], f"@{bob.username} counted")
        wait_items(api, bob, lambda its: len(its) == 1, WAIT)
        after = expect(c.get("/metrics"), 200).text
    name = "signalink_notifications_total"
    assert metric_sum(after, name, type="mention", outcome="created") - \
        metric_sum(before, name, type="mention", outcome="created") == 1, after
    assert 'group="notifications-consumers"' in after, "the consumer framework's metrics for the group"
