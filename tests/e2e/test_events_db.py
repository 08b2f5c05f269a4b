"""The event pipeline on the database log (contract.md section 4): without
Kafka the outbox is the event log. Every write (REST and WebSocket) stores its
event in the outbox in the same transaction; the relay publishes the rows in
order; `signalink events tail` reads them as a consumer group, commits what it
processed, skips what it already processed, retries a failing event and then
dead-letters it to `<topic>.dlq`.

Each test starts its own `signalink serve` (LOG_LEVEL=info, for the relay's
`Published ...` lines) on a database of its own: a fresh SQLite file, or a
fresh PostgreSQL database on the server of SIGNALINK_TEST_DATABASE_URL when it
names one (fixture fresh_db_env). Consumers run `signalink events tail` with
the same configuration (fixture start_tail).
"""

import json
import secrets
import threading
import time
import uuid

import pytest

from conftest import (MESSAGE_EVENT_TYPES, TOPIC_ANALYTICS, TOPIC_MESSAGES, TOPIC_NOTIFICATIONS,
                      TOPIC_PRESENCE, Api, arun, check_event, check_message_events_per_channel,
                      check_other_events, expect, is_postgres_url, log_msgs, run_write_scenario,
                      server_logs, sql_quote, sql_rows, unique)

# After the last expected event is printed, how long a consumer gets to print
# an unexpected extra one (a duplicate) before the test concludes it will not.
GRACE = 1.0
WAIT = 20.0


def _start(start_ws_server, fresh_db_env, name="ev", **env):
    return start_ws_server(name, LOG_LEVEL="info", **fresh_db_env, **env)


def _dicts(events):
    bad = [e for e in events if not isinstance(e, dict)]
    assert not bad, f"the tail printed lines that are not JSON objects: {bad[:3]}"
    return events


def test_writes_become_events_on_their_topics(start_ws_server, fresh_db_env, start_tail):
    env = _start(start_ws_server, fresh_db_env)
    scn = arun(run_write_scenario(env))
    expected_msgs = scn.all_message_events()

    msgs_tail = start_tail(env.server, topics=[TOPIC_MESSAGES])
    other_tail = start_tail(env.server, topics=[TOPIC_ANALYTICS, TOPIC_NOTIFICATIONS])

    # signalink.messages: exactly the message events, per channel in order.
    msgs_tail.wait_for(lambda evs: len(evs) >= len(expected_msgs), WAIT,
                       f"{len(expected_msgs)} message events")
    time.sleep(GRACE)
    events = _dicts(msgs_tail.events())
    for ev in events:
        assert ev["event_type"] in MESSAGE_EVENT_TYPES, f"non-message event on {TOPIC_MESSAGES}: {ev}"
    check_message_events_per_channel(scn, events, TOPIC_MESSAGES)
    created = [e for e in events if e["event_type"] == "message.created"]
    for cid in scn.channel_ids:
        seqs = [e["seq"] for e in created if e["channel_id"] == cid]
        assert seqs == list(range(1, len(seqs) + 1)), (cid, seqs)

    # The consumer logs each event it processes.
    processing = log_msgs(msgs_tail.logs())
    for ev in events:
        line = (f"Processing {ev['event_type']} event: message_id={ev['message_id']}, "
                f"channel_id={ev['channel_id']}")
        assert processing.count(line) == 1, f"{line!r} in the tail's log {processing.count(line)} times"

    # The other topics carry the user, channel and member events, and no message events.
    others = other_tail.wait_for(
        lambda evs: sum(isinstance(e, dict) and e.get("event_type") in
                        ("user.registered", "channel.created", "member.added") for e in evs)
        >= len(scn.others), WAIT, "user/channel/member events")
    time.sleep(GRACE)
    others = _dicts(other_tail.events())
    for ev in others:
        check_event(ev)
        assert ev["event_type"] not in MESSAGE_EVENT_TYPES, f"message event off its topic: {ev}"
    check_other_events(scn, others, "analytics/notifications")
    ids = [e["event_id"] for e in others]
    assert len(ids) == len(set(ids)), f"an event printed twice: {ids}"

    # The relay said what it published (server log, JSON lines, field msg).
    published = log_msgs(server_logs(env.server))
    for want in expected_msgs:
        line = f"Published {want.event_type} event for message {want.message_id}"
        assert line in published, f"{line!r} not in the server log"


def test_a_group_resumes_after_its_commit_and_groups_are_independent(start_ws_server, fresh_db_env,
                                                                    start_tail):
    env = _start(start_ws_server, fresh_db_env)
    api = env.api
    user = api.new_user("evr")
    ch = api.create_channel(user)
    first = [api.send(user, ch["id"], f"first {i}")["id"] for i in range(10)]

    group = unique("grp")
    t1 = start_tail(env.server, group=group, topics=[TOPIC_MESSAGES])
    t1.wait_for(lambda evs: len(evs) >= 10, WAIT, "the first 10 messages")
    assert t1.stop() is not None
    assert t1.clean_exit(), f"the tail did not stop cleanly on SIGTERM: {t1.exit_code}\n{t1.log_tail()}"
    run1 = _dicts(t1.events())
    assert [e["message_id"] for e in run1] == first, run1

    second = [api.send(user, ch["id"], f"second {i}")["id"] for i in range(10)]
    t2 = start_tail(env.server, group=group, topics=[TOPIC_MESSAGES])
    t2.wait_for(lambda evs: len(evs) >= 10, WAIT, "the next 10 messages")
    time.sleep(GRACE)
    run2 = _dicts(t2.events())
    # The restarted member starts after its group's commit: nothing twice, nothing missing.
    assert [e["message_id"] for e in run2] == second, \
        f"after a restart the group printed {[e['message_id'] for e in run2]}\nexpected {second}"
    seqs = [e["seq"] for e in run1 + run2]
    assert seqs == list(range(1, 21)), seqs

    # Two other groups each see everything, in order.
    g2 = start_tail(env.server, topics=[TOPIC_MESSAGES])
    g3 = start_tail(env.server, topics=[TOPIC_MESSAGES])
    for t in (g2, g3):
        t.wait_for(lambda evs: len(evs) >= 20, WAIT, "all 20 messages")
    time.sleep(GRACE)
    for t in (g2, g3):
        assert [e["message_id"] for e in _dicts(t.events())] == first + second, t.name

    # The restarted group still sees new events (and only those).
    last = api.send(user, ch["id"], "last")["id"]
    t2.wait_for(lambda evs: len(evs) >= 11, WAIT, "the last message")
    time.sleep(GRACE)
    assert [e["message_id"] for e in t2.events()] == second + [last]


def test_poison_event_is_dead_lettered_and_the_consumer_goes_on(start_ws_server, fresh_db_env,
                                                                start_tail):
    env = _start(start_ws_server, fresh_db_env)
    api = env.api
    db_url = env.server.env["DATABASE_URL"]
    user = api.new_user("evp")
    ch = api.create_channel(user)
    before = api.send(user, ch["id"], "before the poison")

    # A row the relay will publish like any other: topic signalink.messages,
    # a payload that is not JSON.
    poison_id = str(uuid.uuid4())
    poison = "this is {not json"
    if is_postgres_url(db_url):
        created = "now()"
    else:
        created = str(int(time.time() * 1_000_000))
    sql_rows(db_url, "INSERT INTO outbox (event_id, topic, event_key, event_type, payload, created_at)"
                     f" VALUES ({sql_quote(poison_id)}, {sql_quote(TOPIC_MESSAGES)},"
                     f" {sql_quote(ch['id'])}, 'message.created', {sql_quote(poison)}, {created})")
    after = api.send(user, ch["id"], "after the poison")

    tail = start_tail(env.server, topics=[TOPIC_MESSAGES], CONSUMER_MAX_ATTEMPTS=2,
                      CONSUMER_BACKOFF_MS=50)
    tail.wait_for(lambda evs: any(isinstance(e, dict) and e.get("message_id") == after["id"]
                                  for e in evs), WAIT, "the message after the poison")
    time.sleep(GRACE)
    printed = _dicts(tail.events())
    assert [e["message_id"] for e in printed] == [before["id"], after["id"]], printed

    logs = tail.logs()
    retries = [o for o in logs if o.get("msg") == "event handler failed, will retry"]
    assert [o.get("attempt") for o in retries] == [1], f"expected one retry (2 attempts): {retries}"
    assert retries[0].get("event_id") == poison_id, retries
    dead = [o for o in logs if o.get("msg") == "event dead-lettered after its retries"]
    assert len(dead) == 1, f"expected one dead-letter log line: {dead}"
    assert dead[0].get("event_id") == poison_id and \
        dead[0].get("topic") == TOPIC_MESSAGES + ".dlq", dead

    # The dead letter is in the log, on signalink.messages.dlq, with its event id,
    # key and payload, and it gets published (a position) like any event.
    def dlq_rows():
        return sql_rows(db_url, "SELECT event_id, event_key, payload,"
                                " CASE WHEN position IS NULL THEN 0 ELSE 1 END FROM outbox"
                                f" WHERE topic = {sql_quote(TOPIC_MESSAGES + '.dlq')}")
    deadline = time.monotonic() + WAIT
    while True:
        rows = dlq_rows()
        if rows and all(r[3] == "1" for r in rows):
            break
        assert time.monotonic() < deadline, f"dead letter not published: {rows}"
        time.sleep(0.1)
    assert rows == [(poison_id, ch["id"], poison, "1")], rows

    # The consumer goes on with new events, and does not see the poison again.
    later = api.send(user, ch["id"], "later")
    tail.wait_for(lambda evs: len(evs) >= 3, WAIT, "a later message")
    time.sleep(GRACE)
    assert [e["message_id"] for e in _dicts(tail.events())] == \
        [before["id"], after["id"], later["id"]]
    assert sum(o.get("msg") == "event dead-lettered after its retries" for o in tail.logs()) == 1


def test_presence_online_then_offline(start_ws_server, fresh_db_env, start_tail):
    env = _start(start_ws_server, fresh_db_env)
    user = env.api.new_user("evo")
    tail = start_tail(env.server, topics=[TOPIC_PRESENCE])

    def presence_of(evs):
        return [e for e in evs if isinstance(e, dict) and e.get("user_id") == user.id]

    async def body():
        ws = await env.open(user)
        t0 = time.monotonic()
        tail.wait_for(lambda evs: len(presence_of(evs)) >= 1, 5.0, "presence.online")
        online_after = time.monotonic() - t0
        await ws.close()
        tail.wait_for(lambda evs: len(presence_of(evs)) >= 2, 5.0, "presence.offline")
        return online_after

    arun(body())
    time.sleep(GRACE)
    evs = presence_of(_dicts(tail.events()))
    assert [e["event_type"] for e in evs] == ["presence.online", "presence.offline"], evs
    for e in evs:
        check_event(e)
    assert all(isinstance(e, dict) for e in tail.events())
    assert evs[0]["timestamp"] <= evs[1]["timestamp"], evs


def test_rejected_and_repeated_writes_emit_no_event(start_ws_server, fresh_db_env, start_tail):
    """No event without its row: a refused write and an idempotent repeat
    (client_msg_id, REST and WebSocket) emit nothing."""
    env = _start(start_ws_server, fresh_db_env)
    api = env.api
    alice = api.new_user("evx")
    outsider = api.new_user("evy")
    cid = api.create_channel(alice)["id"]

    r = api.post("/api/v1/messages/", outsider, json={"channel_id": cid, "content": "not a member"})
    assert r.status_code == 403, r.text
    r = api.post("/api/v1/messages/", alice, json={"channel_id": cid, "content": "   "})
    assert r.status_code == 422, r.text
    once = api.send(alice, cid, "once", client_msg_id="rest-1")
    r = api.post("/api/v1/messages/", alice,
                 json={"channel_id": cid, "content": "once", "client_msg_id": "rest-1"})
    assert r.status_code == 200 and r.json()["id"] == once["id"], r.text
    r = api.put(f"/api/v1/messages/{once['id']}", outsider, json={"content": "hijack"})
    assert r.status_code == 403, r.text
    r = api.delete(f"/api/v1/messages/{once['id']}", outsider)
    assert r.status_code == 403, r.text

    async def ws_sends():
        ws = await env.open(alice)
        a1 = await ws.send_acked(cid, "ws once", client_msg_id="ws-1")
        a2 = await ws.send_acked(cid, "ws once", client_msg_id="ws-1")
        assert a2["message_id"] == a1["message_id"], (a1, a2)
        await ws.close()
        return a1

    ack = arun(ws_sends())
    marker = api.send(alice, cid, "marker")

    tail = start_tail(env.server, topics=[TOPIC_MESSAGES])
    tail.wait_for(lambda evs: any(isinstance(e, dict) and e.get("message_id") == marker["id"]
                                  for e in evs), WAIT, "the marker message")
    time.sleep(GRACE)
    got = [(e["event_type"], e["message_id"]) for e in _dicts(tail.events())]
    assert got == [("message.created", once["id"]), ("message.created", ack["message_id"]),
                   ("message.created", marker["id"])], got


def test_channel_and_member_changes_emit_events(start_ws_server, fresh_db_env, start_tail):
    env = _start(start_ws_server, fresh_db_env)
    api = env.api
    alice = api.new_user("evc")
    bob = api.new_user("evd")
    carol = api.new_user("eve")
    ch = api.create_channel(alice)
    cid = ch["id"]
    expect(api.post(f"/api/v1/channels/{cid}/join", bob), 201)
    api.add_member(cid, alice, carol, role="admin")
    new_name = unique("evren")
    expect(api.put(f"/api/v1/channels/{cid}", alice, json={"name": new_name}), 200)
    expect(api.delete(f"/api/v1/channels/{cid}/members/{bob.id}", alice), 204)
    expect(api.delete(f"/api/v1/channels/{cid}/members/{carol.id}", carol), 204)
    expect(api.delete(f"/api/v1/channels/{cid}", alice), 204)

    tail = start_tail(env.server, topics=[TOPIC_ANALYTICS, TOPIC_NOTIFICATIONS])
    tail.wait_for(lambda evs: any(isinstance(e, dict) and e.get("event_type") == "channel.deleted"
                                  for e in evs), WAIT, "channel.deleted")
    time.sleep(GRACE)
    evs = [e for e in _dicts(tail.events()) if e.get("channel_id") == cid]
    for e in evs:
        check_event(e)
    # The creator may or may not get a member.added of its own (role owner) right
    # after channel.created: the contract leaves it open.
    if len(evs) > 1 and evs[1].get("event_type") == "member.added" and \
            evs[1].get("member_id") == alice.id:
        assert evs[1].get("role") == "owner", evs[1]
        del evs[1]
    want = [
        {"event_type": "channel.created", "user_id": alice.id, "name": ch["name"]},
        {"event_type": "member.added", "user_id": bob.id, "member_id": bob.id, "role": "member"},
        {"event_type": "member.added", "user_id": alice.id, "member_id": carol.id, "role": "admin"},
        {"event_type": "channel.updated", "user_id": alice.id, "name": new_name},
        {"event_type": "member.removed", "user_id": alice.id, "member_id": bob.id},
        {"event_type": "member.removed", "user_id": carol.id, "member_id": carol.id},
        {"event_type": "channel.deleted", "user_id": alice.id},
    ]
    got = [{k: e.get(k) for k in w} for w, e in zip(want, evs)]
    assert len(evs) == len(want) and got == want, \
        "channel/member events:\n" + "\n".join(json.dumps(e) for e in evs)


def test_concurrent_writers_keep_per_channel_order(start_ws_server, fresh_db_env, start_tail):
    """Eight writers over four shared channels while a consumer reads live:
    each channel's events come in seq order, none missing, none twice."""
    env = _start(start_ws_server, fresh_db_env)
    api = env.api
    owner = api.new_user("evw")
    chans = [api.create_channel(owner)["id"] for _ in range(4)]
    users = [api.new_user("evw") for _ in range(8)]
    for u in users:
        for cid in chans:
            api.add_member(cid, owner, u)
    tail = start_tail(env.server, topics=[TOPIC_MESSAGES])
    per_writer = 25
    errors: list[str] = []

    def writer(u):
        client = Api(env.server)
        try:
            for i in range(per_writer):
                cid = chans[(i + users.index(u)) % len(chans)]
                r = client.post("/api/v1/messages/", u, json={"channel_id": cid, "content": f"c{i}"})
                if r.status_code != 201:
                    errors.append(f"{r.status_code} {r.text[:200]}")
        finally:
            client.close()

    threads = [threading.Thread(target=writer, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:5]
    total = per_writer * len(users)
    tail.wait_for(lambda evs: len(evs) >= total, WAIT, f"{total} message events")
    time.sleep(GRACE)
    evs = _dicts(tail.events())
    assert len(evs) == total, f"{len(evs)} events printed, {total} written"
    ids = [e["event_id"] for e in evs]
    assert len(set(ids)) == total, "an event printed twice"
    for cid in chans:
        seqs = [e["seq"] for e in evs if e["channel_id"] == cid]
        assert seqs == list(range(1, len(seqs) + 1)), f"channel {cid}: seqs in log order {seqs}"
    assert {e["channel_id"] for e in evs} == set(chans)


def test_one_relay_among_processes_and_failover_on_kill(start_role, fresh_db_env, start_tail):
    """Two `signalink serve` on one PostgreSQL database: one relay at a time
    (the lease) publishes each event once; when its process is killed, the
    other takes over and nothing is lost or published twice."""
    url = fresh_db_env.get("DATABASE_URL", "")
    if not is_postgres_url(url):
        pytest.skip("needs PostgreSQL (SIGNALINK_TEST_DATABASE_URL): two processes share one database")
    key = secrets.token_hex(32)
    s1 = start_role("lease1", "serve", LOG_LEVEL="info", DATABASE_URL=url, SECRET_KEY=key)
    s2 = start_role("lease2", "serve", LOG_LEVEL="info", DATABASE_URL=url, SECRET_KEY=key)
    a1, a2 = Api(s1), Api(s2)
    try:
        user = a1.new_user("evz")
        cid = a1.create_channel(user)["id"]
        first = [(a1 if i % 2 else a2).send(user, cid, f"m{i}")["id"] for i in range(10)]
        tail = start_tail(s1, topics=[TOPIC_MESSAGES])
        tail.wait_for(lambda evs: len(evs) >= 10, WAIT, "10 messages")

        def published_by(srv):
            return [m for m in log_msgs(server_logs(srv)) if m.startswith("Published message.")]

        def wait_published(ids, timeout):
            deadline = time.monotonic() + timeout
            while True:
                lines = published_by(s1) + published_by(s2)
                if all(f"Published message.created event for message {i}" in lines for i in ids):
                    return lines
                assert time.monotonic() < deadline, "relay log lines missing"
                time.sleep(0.1)

        lines = wait_published(first, WAIT)
        for i in first:
            assert lines.count(f"Published message.created event for message {i}") == 1, i
        leaders = [s for s in (s1, s2) if published_by(s)]
        assert len(leaders) == 1, "both processes published: the lease does not hold"
        leader = leaders[0]
        survivor, api = (s2, a2) if leader is s1 else (s1, a1)

        leader.proc.kill()
        leader.proc.wait()
        second = [api.send(user, cid, f"n{i}")["id"] for i in range(10)]
        # The survivor takes over once the dead holder's lease expires.
        tail.wait_for(lambda evs: len(evs) >= 20, 45.0, "the 10 messages after the failover")
        time.sleep(GRACE)
        evs = _dicts(tail.events())
        assert [e["message_id"] for e in evs] == first + second
        assert [e["seq"] for e in evs] == list(range(1, 21))
        lines = published_by(survivor)
        for i in second:
            assert lines.count(f"Published message.created event for message {i}") == 1, i
    finally:
        a1.close()
        a2.close()
