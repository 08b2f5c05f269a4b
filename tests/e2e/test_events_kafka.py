"""The event pipeline on Apache Kafka (contract.md section 4): with
KAFKA_BOOTSTRAP_SERVERS the relay appends the outbox to Kafka (idempotent
producer, acks=all; key = channel id for messages, user id otherwise; headers
event_id and event_type), then marks the rows published. Read back with kcat, a
client we did not write, and with `signalink events tail` (a consumer group,
idempotent on event_id, dead-lettering poison to `<topic>.dlq`).

A session fixture (conftest `kafka`) starts one Kafka (scripts/kafka-up) on a free port with a
scratch directory of its own and removes it at the end (scripts/kafka-down).
Every test starts its own `signalink serve` on a database of its own (fixture
fresh_db_env: a fresh SQLite file, or a fresh PostgreSQL database when
SIGNALINK_TEST_DATABASE_URL names one) and filters the shared topics by the
ids it created.

Skipped (saying why) only when Java or kcat is missing.
"""

import signal
import subprocess
import threading
import time
from collections import Counter

import httpx
import pytest

from conftest import (TOPIC_ANALYTICS, TOPIC_MESSAGES, TOPIC_PRESENCE, Api, KafkaBroker, arun,
                      check_event, check_message_events_per_channel, check_other_events, free_port,
                      kafka_tools_missing, log_msgs, record_headers, record_payload,
                      run_write_scenario, server_logs, signalink_bin, sql_rows)

WAIT = 60.0
GRACE = 2.0


def _serve(start_ws_server, kafka, fresh_db_env, name, **env):
    return start_ws_server(name, LOG_LEVEL="info", KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap,
                           **fresh_db_env, **env)


def _check_headers(rec):
    """Every record of Signalink's: headers event_id and event_type equal to the payload's."""
    ev = record_payload(rec)
    h = record_headers(rec)
    assert isinstance(ev, dict), f"record payload is not a JSON object: {rec}"
    assert h.get("event_id") == ev.get("event_id"), f"event_id header: {rec}"
    assert h.get("event_type") == ev.get("event_type"), f"event_type header: {rec}"
    return ev


def _first_occurrences(recs):
    seen, out = set(), []
    for r in recs:
        ev = record_payload(r)
        if ev["event_id"] not in seen:
            seen.add(ev["event_id"])
            out.append(ev)
    return out


def _channel_records(recs, channel_ids):
    """Records keyed by one of the channels, each channel on exactly one partition."""
    mine = [r for r in recs if r.get("key") in channel_ids]
    for cid in channel_ids:
        parts = {r["partition"] for r in mine if r["key"] == cid}
        assert len(parts) <= 1, f"channel {cid} spread over partitions {parts}"
    return mine  # sorted by (partition, offset): per-channel log order


def _n_channel_records(channel_ids):
    return lambda recs: sum(r.get("key") in channel_ids for r in recs)


# --------------------------------------------------------------------------- #

def test_writes_reach_kafka_keyed_ordered_with_headers(kafka, start_ws_server, fresh_db_env,
                                                       start_tail):
    env = _serve(start_ws_server, kafka, fresh_db_env, "kev")
    scn = arun(run_write_scenario(env))
    expected = scn.all_message_events()

    recs = kafka.consume_until(TOPIC_MESSAGES,
                               lambda rs: _n_channel_records(scn.channel_ids)(rs) >= len(expected),
                               WAIT, f"{len(expected)} message events")
    time.sleep(GRACE)
    recs = kafka.consume(TOPIC_MESSAGES)
    mine = _channel_records(recs, scn.channel_ids)
    events = []
    for r in mine:
        ev = _check_headers(r)
        assert r["key"] == ev["channel_id"], f"key is not the channel id: {r}"
        events.append(ev)
    # Exactly the expected events, per channel in order (one partition each), once.
    check_message_events_per_channel(scn, events, f"kcat {TOPIC_MESSAGES}")

    # User, channel and member events: on signalink.analytics, keyed by a user id.
    ana = kafka.consume_until(
        TOPIC_ANALYTICS,
        lambda rs: sum(any(all(record_payload(r).get(k) == v for k, v in w.items())
                           for w in scn.others) for r in rs if r["payload"].startswith("{"))
        >= len(scn.others), WAIT, "user/channel/member events")
    users = {scn.alice.id, scn.bob.id}
    ana_events = []
    for r in ana:
        ev = record_payload(r)
        if not isinstance(ev, dict) or not (users & {ev.get("user_id"), ev.get("member_id")}):
            continue
        _check_headers(r)
        check_event(ev)
        assert r["key"] in users and r["key"] in (ev.get("user_id"), ev.get("member_id")), \
            f"analytics record not keyed by its user: {r}"
        ana_events.append(ev)
    check_other_events(scn, ana_events, f"kcat {TOPIC_ANALYTICS}")

    # Presence (the scenario's WebSockets): online then offline per user, keyed by user id.
    pres = kafka.consume_until(
        TOPIC_PRESENCE,
        lambda rs: sum(record_payload(r).get("user_id") in users for r in rs
                       if r["payload"].startswith("{")) >= 4, WAIT, "presence events")
    for uid in users:
        own = [r for r in pres if r["payload"].startswith("{") and
               record_payload(r).get("user_id") == uid]
        assert [record_payload(r)["event_type"] for r in own] == \
            ["presence.online", "presence.offline"], own
        for r in own:
            assert r["key"] == uid, r
            check_event(_check_headers(r))

    # The relay logged each publication.
    published = log_msgs(server_logs(env.server))
    for want in expected:
        line = f"Published {want.event_type} event for message {want.message_id}"
        assert line in published, f"{line!r} not in the server log"

    # And Signalink's own consumer reads the same from Kafka.
    tail = start_tail(env.server, topics=[TOPIC_MESSAGES])
    tail.wait_for(lambda evs: sum(isinstance(e, dict) and e.get("channel_id") in scn.channel_ids
                                  for e in evs) >= len(expected), WAIT, "the scenario's events")
    time.sleep(GRACE)
    printed = [e for e in tail.events() if isinstance(e, dict)
               and e.get("channel_id") in scn.channel_ids]
    check_message_events_per_channel(scn, printed, "events tail on Kafka")


def _run_until_killed(srv, timeout: float = 90.0) -> int:
    """Start srv's process again (same env, port, database) without waiting for
    readiness, and wait for it to end by itself; returns its exit status."""
    srv.restarts += 1
    srv.stdout_path = srv.workdir / f"signalink.stdout.{srv.restarts}.log"
    srv.stderr_path = srv.workdir / f"signalink.stderr.{srv.restarts}.log"
    with open(srv.stdout_path, "wb") as out, open(srv.stderr_path, "wb") as err:
        proc = subprocess.Popen([str(signalink_bin()), srv.command], env=srv.env, cwd=srv.workdir,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    srv.proc = proc
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"the server did not crash within {timeout} s after its first "
                             f"append\n{srv.log_tail()}") from None


def _outbox(srv):
    """(event_id, topic, published?) of every outbox row, in id order."""
    return sql_rows(srv.env["DATABASE_URL"],
                    "SELECT event_id, topic, CASE WHEN published_at IS NULL THEN 0 ELSE 1 END"
                    " FROM outbox ORDER BY id")


def test_crash_between_append_and_mark_duplicates_but_consumers_see_each_event_once(
        kafka, start_ws_server, fresh_db_env, start_tail):
    # 1. The writes, with Kafka unreachable: every event waits in the outbox.
    dead = free_port()
    env = start_ws_server("kcrash", LOG_LEVEL="info", KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{dead}",
                          KAFKA_DELIVERY_TIMEOUT_MS=2000, RELAY_BATCH=1000, **fresh_db_env)
    srv = env.server
    scn = arun(run_write_scenario(env))
    srv.stop()
    assert srv.clean_exit(), f"SIGTERM with Kafka unreachable: exit {srv.exit_code}, " \
        f"killed={srv.killed}\n{srv.log_tail()}"
    rows = _outbox(srv)
    assert rows and all(r[2] == "0" for r in rows), f"rows published without Kafka: {rows}"
    outbox_ids = [r[0] for r in rows]
    topics = sorted({r[1] for r in rows})
    assert TOPIC_MESSAGES in topics and TOPIC_ANALYTICS in topics, topics

    # 2. Kafka reachable, crash right after the relay's first append (one batch: all rows).
    srv.env["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap
    srv.env["SIGNALINK_TEST_RELAY_CRASH_AFTER_APPEND"] = "true"
    rc = _run_until_killed(srv)
    assert rc == -signal.SIGKILL, f"expected death by SIGKILL, got {rc}\n{srv.log_tail()}"
    assert any("crashing after an append" in m for m in log_msgs(server_logs(srv))), srv.log_tail()
    assert all(r[2] == "0" for r in _outbox(srv)), "rows marked published before the crash"

    def counts():
        c = Counter()
        for t in topics:
            for r in kafka.consume(t):
                ev = record_payload(r)
                if isinstance(ev, dict) and ev.get("event_id") in outbox_ids:
                    c[ev["event_id"]] += 1
        return c

    first = counts()
    assert set(first) == set(outbox_ids) and set(first.values()) == {1}, \
        f"after the first append every event should be in Kafka once: {first}"

    # 3. Restart without the knob on the same database: the same rows are appended again.
    del srv.env["SIGNALINK_TEST_RELAY_CRASH_AFTER_APPEND"]
    srv.restart()
    deadline = time.monotonic() + WAIT
    while not all(r[2] == "1" for r in _outbox(srv)):
        assert time.monotonic() < deadline, f"outbox not published after the restart\n{srv.log_tail()}"
        time.sleep(0.2)
    again = counts()
    assert set(again) == set(outbox_ids) and set(again.values()) == {2}, \
        f"every event should now be in Kafka twice (at-least-once): {again}"
    # Per channel, the first copies are in order, on one partition, keyed by the channel.
    msgs = _channel_records(kafka.consume(TOPIC_MESSAGES), scn.channel_ids)
    for r in msgs:
        _check_headers(r)
    check_message_events_per_channel(scn, _first_occurrences(msgs), "first copies")

    # 4. A consumer prints each event once, none missing (duplicates skipped on event_id).
    # Sentinels after the duplicates in each channel's partition: once they are
    # printed, the consumer has read past every duplicate there.
    sentinels = [env.api.send(scn.alice, ch["id"], "sentinel")["id"]
                 for ch in scn.channels.values()]
    tail = start_tail(srv, topics=[TOPIC_MESSAGES, TOPIC_ANALYTICS])
    wanted = {i for i, r in zip(outbox_ids, rows) if r[1] in (TOPIC_MESSAGES, TOPIC_ANALYTICS)}
    tail.wait_for(lambda evs: wanted <= {e.get("event_id") for e in evs if isinstance(e, dict)}
                  and set(sentinels) <= {e.get("message_id") for e in evs if isinstance(e, dict)},
                  WAIT, "every event and the sentinels")
    time.sleep(GRACE)
    printed = [e for e in tail.events() if isinstance(e, dict)]
    dup = [i for i, n in Counter(e["event_id"] for e in printed).items() if n > 1]
    assert not dup, f"the consumer printed events twice: {dup}"
    scenario_msgs = [e for e in printed if e.get("channel_id") in scn.channel_ids
                     and e.get("event_type", "").startswith("message.")
                     and e.get("message_id") not in sentinels]
    check_message_events_per_channel(scn, scenario_msgs, "events tail after the crash")


def test_kafka_outage_under_write_load_loses_nothing(kafka, start_ws_server, fresh_db_env,
                                                     start_tail):
    env = _serve(start_ws_server, kafka, fresh_db_env, "kout", KAFKA_DELIVERY_TIMEOUT_MS=3000)
    api = env.api
    user = api.new_user("evk")
    chans = [api.create_channel(user)["id"] for _ in range(2)]
    results: list[tuple] = []  # (channel id, status, message or error text)
    stop = threading.Event()

    def writer():
        client = Api(env.server)
        i = 0
        next_at = time.monotonic()
        try:
            while not stop.is_set():
                cid = chans[i % 2]
                try:
                    r = client.post("/api/v1/messages/", user,
                                    json={"channel_id": cid, "content": f"load {i}"})
                    results.append((cid, r.status_code,
                                    r.json() if r.status_code == 201 else r.text[:300]))
                except httpx.HTTPError as exc:
                    results.append((cid, None, repr(exc)))
                i += 1
                next_at += 0.1
                time.sleep(max(0.0, next_at - time.monotonic()))
        finally:
            client.close()

    th = threading.Thread(target=writer, name="writer", daemon=True)
    th.start()
    try:
        time.sleep(2.0)            # writes with Kafka up
        kafka.down(keep_data=True)
        before_outage = len(results)
        time.sleep(30.0)           # the outage (specified: 30 s)
        during_outage = len(results) - before_outage
    finally:
        kafka.up()                 # same data, same port (idempotent if already up)
    try:
        time.sleep(3.0)            # writes with Kafka back
    finally:
        stop.set()
        th.join(30)
    assert not th.is_alive(), "the writer thread did not stop"

    failures = [r for r in results if r[1] != 201]
    assert not failures, f"{len(failures)} of {len(results)} writes failed: {failures[:5]}"
    assert during_outage >= 150, f"only {during_outage} writes during the outage"
    sent = {cid: [r[2] for r in results if r[0] == cid] for cid in chans}
    for cid in chans:
        assert [m["seq"] for m in sent[cid]] == list(range(1, len(sent[cid]) + 1)), cid
    want_ids = {cid: [m["id"] for m in sent[cid]] for cid in chans}
    total = sum(len(v) for v in want_ids.values())

    def have_all(recs):
        got = {record_payload(r).get("message_id") for r in recs if r.get("key") in chans}
        return all(set(v) <= got for v in want_ids.values())

    recs = kafka.consume_until(TOPIC_MESSAGES, have_all, 120.0, f"all {total} message events")
    mine = _channel_records(recs, set(chans))
    for r in mine:
        ev = _check_headers(r)
        assert r["key"] == ev["channel_id"], r
    firsts = _first_occurrences(mine)
    for cid in chans:
        got = [e["message_id"] for e in firsts if e["channel_id"] == cid]
        assert got == want_ids[cid], \
            f"channel {cid}: Kafka order (first copies) differs from seq order " \
            f"({len(got)} vs {len(want_ids[cid])} events)"
    dups = len(mine) - len(firsts)

    # A consumer sees every event once, in order per channel.
    tail = start_tail(env.server, topics=[TOPIC_MESSAGES])
    every = set(want_ids[chans[0]]) | set(want_ids[chans[1]])
    tail.wait_for(lambda evs: every <= {e.get("message_id") for e in evs if isinstance(e, dict)},
                  WAIT, f"all {total} messages")
    time.sleep(GRACE)
    printed = [e for e in tail.events() if isinstance(e, dict) and e.get("channel_id") in chans]
    ids = [e["event_id"] for e in printed]
    assert len(ids) == len(set(ids)), f"the consumer printed events twice ({dups} duplicates in Kafka)"
    for cid in chans:
        assert [e["message_id"] for e in printed if e["channel_id"] == cid] == want_ids[cid], cid


def test_poison_record_is_dead_lettered_with_headers(kafka, start_ws_server, fresh_db_env,
                                                     start_tail):
    env = _serve(start_ws_server, kafka, fresh_db_env, "kpoison")
    api = env.api
    user = api.new_user("evq")
    cid = api.create_channel(user)["id"]
    before = api.send(user, cid, "before the poison")
    recs = kafka.consume_until(
        TOPIC_MESSAGES, lambda rs: any(r.get("key") == cid for r in rs), WAIT, "the first message")
    partition = next(r["partition"] for r in recs if r.get("key") == cid)

    # Another producer (kcat) writes a record that is not JSON into the channel's partition.
    poison = f"not json {{ {cid}"
    kafka.produce(TOPIC_MESSAGES, poison, key=cid, partition=partition)
    after = api.send(user, cid, "after the poison")
    kafka.consume_until(TOPIC_MESSAGES,
                        lambda rs: any(record_payload(r) == poison for r in rs) and any(
                            isinstance(record_payload(r), dict) and
                            record_payload(r).get("message_id") == after["id"] for r in rs),
                        WAIT, "the poison and the next message")

    tail = start_tail(env.server, topics=[TOPIC_MESSAGES], CONSUMER_MAX_ATTEMPTS=2,
                      CONSUMER_BACKOFF_MS=50)
    tail.wait_for(lambda evs: any(isinstance(e, dict) and e.get("message_id") == after["id"]
                                  for e in evs), WAIT, "the message after the poison")
    printed = tail.events()
    assert all(isinstance(e, dict) for e in printed), \
        f"the tail printed something that is not an event: {[e for e in printed if not isinstance(e, dict)]}"
    own = [e["message_id"] for e in printed if e.get("channel_id") == cid]
    assert own == [before["id"], after["id"]], own

    logs = tail.logs()
    retries = [o for o in logs if o.get("msg") == "event handler failed, will retry"]
    assert len(retries) == 1 and retries[0].get("attempt") == 1, \
        f"expected one retry (CONSUMER_MAX_ATTEMPTS=2): {retries}"
    dead = [o for o in logs if o.get("msg") == "event dead-lettered after its retries"]
    assert len(dead) == 1 and dead[0].get("topic") == TOPIC_MESSAGES + ".dlq", dead

    dlq = kafka.consume_until(
        TOPIC_MESSAGES + ".dlq",
        lambda rs: any(record_headers(r).get("consumer_group") == tail.group for r in rs),
        WAIT, "the dead letter")
    mine = [r for r in dlq if record_headers(r).get("consumer_group") == tail.group]
    assert len(mine) == 1, mine
    r = mine[0]
    h = record_headers(r)
    assert r["payload"] == poison, r
    assert r["key"] == cid, r
    assert h.get("original_topic") == TOPIC_MESSAGES, h
    assert h.get("attempts") == "2", h
    assert h.get("error"), h
    assert h.get("consumer_group") == tail.group, h

    # It goes on: a later message is printed too, the poison is not retried again.
    later = api.send(user, cid, "later")
    tail.wait_for(lambda evs: any(isinstance(e, dict) and e.get("message_id") == later["id"]
                                  for e in evs), WAIT, "a later message")
    time.sleep(GRACE)
    assert sum(o.get("msg") == "event dead-lettered after its retries" for o in tail.logs()) == 1
    assert len([r for r in kafka.consume(TOPIC_MESSAGES + ".dlq")
                if record_headers(r).get("consumer_group") == tail.group]) == 1


def test_crash_knob_on_a_live_server_loses_no_acknowledged_write(kafka, start_ws_server,
                                                                  fresh_db_env, start_tail):
    """The knob on a running server: registrations (one event each) until the
    relay's first append kills the process. Every acknowledged write has its
    event in Kafka after a restart; what the crashed relay had appended is there
    twice; a consumer prints each event once."""
    env = _serve(start_ws_server, kafka, fresh_db_env, "klive",
                 SIGNALINK_TEST_RELAY_CRASH_AFTER_APPEND="true")
    srv = env.server
    acked: list[str] = []
    deadline = time.monotonic() + 30
    while srv.alive():
        assert time.monotonic() < deadline, "the server did not crash after its first append"
        try:
            acked.append(env.api.register("evl").id)
        except (httpx.HTTPError, AssertionError):
            pass  # the server is dying: refused, reset, or an answer cut short
    assert srv.proc.wait(10) == -signal.SIGKILL, srv.log_tail()
    assert acked, "no write was acknowledged before the crash"
    assert any("crashing after an append" in m for m in log_msgs(server_logs(srv))), srv.log_tail()

    def registered():
        c = Counter()
        for r in kafka.consume(TOPIC_ANALYTICS):
            ev = record_payload(r)
            if isinstance(ev, dict) and ev.get("event_type") == "user.registered" \
                    and r.get("key") in rows_by_user:
                c[ev["event_id"]] += 1
        return c

    rows = sql_rows(srv.env["DATABASE_URL"],
                    "SELECT event_id, event_key, CASE WHEN published_at IS NULL THEN 0 ELSE 1 END"
                    " FROM outbox WHERE event_type = 'user.registered' ORDER BY id")
    rows_by_user = {r[1]: r[0] for r in rows}
    assert set(acked) <= set(rows_by_user), "an acknowledged registration has no outbox row"
    assert all(r[2] == "0" for r in rows), f"rows marked published before the crash: {rows}"
    crashed_batch = registered()
    assert crashed_batch and set(crashed_batch.values()) == {1}, crashed_batch

    del srv.env["SIGNALINK_TEST_RELAY_CRASH_AFTER_APPEND"]
    srv.restart()
    deadline = time.monotonic() + WAIT
    while not all(r[0] == "1" for r in sql_rows(
            srv.env["DATABASE_URL"],
            "SELECT CASE WHEN published_at IS NULL THEN 0 ELSE 1 END FROM outbox")):
        assert time.monotonic() < deadline, f"outbox not published after the restart\n{srv.log_tail()}"
        time.sleep(0.2)
    after = registered()
    assert set(after) == set(rows_by_user.values()), "events missing from Kafka after the restart"
    for eid, n in after.items():
        assert n == (2 if eid in crashed_batch else 1), (eid, n, crashed_batch)

    tail = start_tail(srv, topics=[TOPIC_ANALYTICS])
    tail.wait_for_ids(rows_by_user.values(), WAIT)
    time.sleep(GRACE)
    printed = Counter(e["event_id"] for e in tail.events()
                      if isinstance(e, dict) and e.get("event_id") in after)
    assert set(printed) == set(after) and set(printed.values()) == {1}, printed


def test_kafka_group_resumes_after_its_commit(kafka, start_ws_server, fresh_db_env, start_tail):
    env = _serve(start_ws_server, kafka, fresh_db_env, "kresume")
    api = env.api
    user = api.new_user("evg")
    cid = api.create_channel(user)["id"]
    first = [api.send(user, cid, f"first {i}")["id"] for i in range(5)]

    def own(t):
        return [e["message_id"] for e in t.events() if isinstance(e, dict) and e.get("channel_id") == cid]

    group = "resume-" + cid[-12:]
    t1 = start_tail(env.server, group=group, topics=[TOPIC_MESSAGES])
    t1.wait_for(lambda evs: len(own(t1)) >= 5, WAIT, "the first 5 messages")
    time.sleep(GRACE)
    t1.stop()
    assert t1.clean_exit(), f"the tail did not stop cleanly on SIGTERM: {t1.exit_code}\n{t1.log_tail()}"
    assert own(t1) == first
    run1 = {e["event_id"] for e in t1.events() if isinstance(e, dict)}

    second = [api.send(user, cid, f"second {i}")["id"] for i in range(5)]
    t2 = start_tail(env.server, group=group, topics=[TOPIC_MESSAGES])
    t2.wait_for(lambda evs: len(own(t2)) >= 5, WAIT, "the next 5 messages")
    time.sleep(GRACE)
    assert own(t2) == second, f"after a restart the group printed {own(t2)}, expected {second}"
    again = run1 & {e["event_id"] for e in t2.events() if isinstance(e, dict)}
    assert not again, f"{len(again)} events printed again after the group's commit"
