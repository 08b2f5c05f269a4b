"""Tracing and log levels (issue 9; docs/events.md "Trace context",
docs/architecture.md "Logs and traces"): a W3C `traceparent` on a REST request or on
the WebSocket upgrade names the trace of everything the request or frame
causes: the API's log line for the request, the outbox row (the database event
log) and Kafka record header of its event, and the consumers' (analytics,
notifier) log lines for that event. A malformed traceparent starts a fresh
trace. `GET`/`PUT /admin/log-level` change LOG_LEVEL at run time, for loopback
peers whose request no proxy relayed.

Each test starts its own `signalink serve` on a database of its own
(fixture fresh_db_env: a fresh SQLite file, or a fresh PostgreSQL database
when SIGNALINK_TEST_DATABASE_URL names a server).
"""

import re
import secrets

import pytest

from conftest import (arun, expect, make_client, poll_until, server_logs,
                      sql_quote, sql_rows, record_headers, record_payload)

WAIT = 20.0
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
# Request lines are debug on `http`, frame lines debug on `gateway`; the
# consumers' "Processing ..." lines are info on `events`.
LEVELS = "warning,http=debug,gateway=debug,events=info"


def _traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


def _serve(start_ws_server, fresh_db_env, name, **env):
    return start_ws_server(name, LOG_LEVEL=LEVELS, **fresh_db_env, **env)


def _db_url(env) -> str:
    return env.server.env["DATABASE_URL"]


def _outbox_trace(env, message_id: str) -> str | None:
    """The traceparent column of the message.created row of `message_id`."""
    rows = sql_rows(_db_url(env),
                    "SELECT traceparent FROM outbox WHERE event_type = 'message.created' "
                    f"AND payload LIKE {sql_quote('%' + message_id + '%')}")
    assert len(rows) == 1, f"{len(rows)} outbox rows for message {message_id}"
    return rows[0][0]


def _lines(env, pred):
    return [o for o in server_logs(env.server) if pred(o)]


def _consumer_lines(env, message_id: str):
    """The consumers' 'Processing message.created ...' lines of the message, by group."""
    return {o.get("group"): o for o in _lines(
        env, lambda o: str(o.get("msg", "")).startswith("Processing message.created")
        and message_id in str(o.get("msg", "")))}


def _wait_consumers(env, message_id: str) -> dict:
    groups = {}

    def both():
        groups.update(_consumer_lines(env, message_id))
        return any("analytics" in str(g) for g in groups) and any("notif" in str(g) for g in groups)

    poll_until(both, WAIT, what=f"analytics and notifier lines for message {message_id}")
    return groups


def _check_trace_reaches_the_consumers(env, message_id: str, trace_id: str):
    tp = _outbox_trace(env, message_id)
    assert tp is not None and tp.split("-")[1] == trace_id, f"outbox traceparent {tp!r}, trace {trace_id}"
    for group, line in _wait_consumers(env, message_id).items():
        assert line.get("trace_id") == trace_id, f"consumer {group}: {line}"
        assert HEX16.match(str(line.get("span_id"))), f"consumer {group}: {line}"
        assert line.get("component") == "events", line
    published = _lines(env, lambda o: str(o.get("msg", "")) ==
                       f"Published message.created event for message {message_id}")
    assert published and all(o.get("trace_id") == trace_id for o in published), published


def test_a_rest_request_s_trace_reaches_the_outbox_and_the_consumers(start_ws_server, fresh_db_env):
    env = _serve(start_ws_server, fresh_db_env, "trace-rest")
    api = env.api
    owner = api.new_user("tr")
    channel = api.create_channel(owner)
    trace_id, traceparent = _traceparent()
    resp = expect(api.post("/api/v1/messages/", owner, headers={"traceparent": traceparent},
                           json={"channel_id": channel["id"], "content": "traced hello"}), 201)
    message_id = resp.json()["id"]
    # The server's span answers as `traceresponse`: same trace, its own span.
    answer = resp.headers.get("traceresponse", "")
    assert answer.split("-")[1] == trace_id and answer != traceparent, answer

    request_lines = _lines(env, lambda o: o.get("msg") == "request" and o.get("path") == "/api/v1/messages/"
                           and o.get("method") == "POST")
    assert len(request_lines) == 1, request_lines
    line = request_lines[0]
    assert line["trace_id"] == trace_id and line["span_id"] == answer.split("-")[2], line
    assert line["component"] == "http", line
    _check_trace_reaches_the_consumers(env, message_id, trace_id)


def test_a_websocket_upgrade_s_trace_covers_its_frames(start_ws_server, fresh_db_env):
    env = _serve(start_ws_server, fresh_db_env, "trace-ws")
    owner = env.api.new_user("tw")
    channel = env.api.create_channel(owner)
    trace_id, traceparent = _traceparent()

    async def body():
        ws = await env.open(owner, headers={"Authorization": f"Bearer {owner.token}",
                                            "traceparent": traceparent})
        await ws.subscribe(channel["id"])
        ack = await ws.send_acked(channel["id"], "traced over ws")
        await ws.close()
        return ack["message_id"]

    message_id = arun(body())
    frames = _lines(env, lambda o: o.get("msg") == "websocket frame")
    assert len(frames) >= 2, frames  # subscribe, send
    assert all(o.get("trace_id") == trace_id for o in frames), frames
    assert len({o.get("span_id") for o in frames}) == len(frames), "each frame is a span of its own"
    assert all(o.get("component") == "gateway" for o in frames), frames
    _check_trace_reaches_the_consumers(env, message_id, trace_id)


def test_a_malformed_traceparent_starts_a_fresh_trace(start_ws_server, fresh_db_env):
    env = _serve(start_ws_server, fresh_db_env, "trace-bad")
    owner = env.api.new_user("tb")
    channel = env.api.create_channel(owner)
    bad = "00-00000000000000000000000000000000-00f067aa0ba902b7-01"  # all-zero trace id
    resp = expect(env.api.post("/api/v1/messages/", owner, headers={"traceparent": bad},
                               json={"channel_id": channel["id"], "content": "x"}), 201)
    fresh = resp.headers["traceresponse"].split("-")[1]
    assert HEX32.match(fresh) and fresh != "0" * 32, resp.headers
    tp = _outbox_trace(env, resp.json()["id"])
    assert tp is not None and tp.split("-")[1] == fresh, tp
    # Two requests without a traceparent get two different traces.
    a = expect(env.api.get("/health"), 200).headers["traceresponse"].split("-")[1]
    b = expect(env.api.get("/health", headers={"traceparent": "garbage"}), 200).headers["traceresponse"]
    assert a != b.split("-")[1], (a, b)


def test_the_log_level_changes_at_run_time_from_loopback(start_ws_server, fresh_db_env):
    env = start_ws_server("trace-level", LOG_LEVEL="warning", **fresh_db_env)
    srv = env.server
    for base in (srv.base_url, srv.gw_url, srv.analytics_url,
                 f"http://127.0.0.1:{srv.env['NOTIFIER_PORT']}"):
        with make_client(base) as c:
            assert expect(c.get("/admin/log-level"), 200).json() == {"level": "warning"}, base
    api = env.api

    def requests_logged():
        return _lines(env, lambda o: o.get("msg") == "request" and o.get("path") == "/health")

    expect(api.get("/health"), 200)
    assert requests_logged() == [], "a debug line at level warning"
    resp = expect(api.put("/admin/log-level", json={"level": "warning,http=debug"}), 200)
    assert resp.json() == {"level": "warning,http=debug"}
    # Process-wide: the gateway port reads what the API port set.
    assert expect(env.gw.get("/admin/log-level"), 200).json() == {"level": "warning,http=debug"}
    expect(api.get("/health"), 200)
    poll_until(lambda: requests_logged(), WAIT, what="the debug request line after PUT")

    for bad in ({"level": "loud"}, {"level": "info,nosuch=debug"}, {"nope": 1}, "not json"):
        kw = {"json": bad} if not isinstance(bad, str) else {"content": bad}
        expect(api.put("/admin/log-level", **kw), 422)
    assert expect(api.get("/admin/log-level"), 200).json() == {"level": "warning,http=debug"}


def test_the_log_level_endpoint_refuses_other_peers(start_ws_server, fresh_db_env):
    """Served on every address (HOST=0.0.0.0), asked through a non-loopback
    address of this host: 403. Needs the host to have such an address."""
    import socket
    env = start_ws_server("trace-peer", LOG_LEVEL="warning", HOST="0.0.0.0", **fresh_db_env)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet leaves: this picks the outward address
        address = s.getsockname()[0]
    if address.startswith("127."):
        pytest.skip(f"this host has no non-loopback address ({address})")
    with make_client(f"http://{address}:{env.server.port}") as c:
        expect(c.get("/admin/log-level"), 403)
        expect(c.put("/admin/log-level", json={"level": "debug"}), 403)
    assert expect(env.api.get("/admin/log-level"), 200).json() == {"level": "warning"}


def test_the_log_level_endpoint_refuses_requests_relayed_by_a_proxy(start_ws_server, fresh_db_env):
    """A reverse proxy on the same host connects from loopback for every
    client: a request that names a client it was relayed for gets 403."""
    env = start_ws_server("trace-proxy", LOG_LEVEL="warning", **fresh_db_env)
    for api in (env.api, env.gw):
        for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9;proto=https"},
                       {"X-Real-IP": "203.0.113.9"}):
            expect(api.get("/admin/log-level", headers=header), 403)
            expect(api.put("/admin/log-level", headers=header, json={"level": "debug"}), 403)
    assert expect(env.api.get("/admin/log-level"), 200).json() == {"level": "warning"}


def test_kafka_records_carry_the_traceparent_header(start_ws_server, fresh_db_env, kafka):
    env = start_ws_server("trace-kafka", LOG_LEVEL=LEVELS, KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap,
                          **fresh_db_env)
    owner = env.api.new_user("tk")
    channel = env.api.create_channel(owner)
    trace_id, traceparent = _traceparent()
    resp = expect(env.api.post("/api/v1/messages/", owner, headers={"traceparent": traceparent},
                               json={"channel_id": channel["id"], "content": "traced to kafka"}), 201)
    message_id = resp.json()["id"]
    recs = kafka.consume_until(
        "signalink.messages",
        lambda rs: any(isinstance(record_payload(r), dict) and record_payload(r).get("message_id") == message_id
                       for r in rs), WAIT, f"message {message_id}")
    mine = [r for r in recs if isinstance(record_payload(r), dict)
            and record_payload(r).get("message_id") == message_id]
    header = record_headers(mine[0]).get("traceparent", "")
    assert header.split("-")[1] == trace_id, record_headers(mine[0])
    for group, line in _wait_consumers(env, message_id).items():
        assert line.get("trace_id") == trace_id, f"consumer {group}: {line}"
