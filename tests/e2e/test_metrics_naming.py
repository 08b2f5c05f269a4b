"""Every role's /metrics follows the metric catalog (docs/metrics.md, issue 9).

A fresh `signalink serve` (all four roles in one process, on SQLite or the
suite's PostgreSQL, in-process broker, database event log) is scraped on its four ports: the output passes
`promtool check metrics` (Prometheus's own linter: `_total` on counters only,
base units, help on every family), lists every family of the catalog before
any traffic, and the key series move once a user has sent a message over the
REST API and a WebSocket.

promtool comes from Debian's `prometheus` package (scripts/install-deps); the
test fails, rather than skips, where it is missing.
"""

import os
import shutil
import subprocess

from conftest import arun, expect, make_client, metric_sum, poll_until

WAIT = 20.0
# The e2e suite runs on SQLite, and on PostgreSQL when SIGNALINK_TEST_DATABASE_URL is set.
BACKEND = "postgresql" if os.environ.get("SIGNALINK_TEST_DATABASE_URL") else "sqlite"

# docs/metrics.md, the families a default `serve` exports (Kafka's own
# producer-queue and commit counters exist only with KAFKA_BOOTSTRAP_SERVERS).
CATALOG = [
    "signalink_build_info",
    "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
    "process_open_fds", "process_max_fds", "process_start_time_seconds",
    "signalink_http_requests_total", "signalink_http_request_duration_seconds",
    "signalink_ws_connections", "signalink_ws_subscriptions",
    "signalink_ws_frames_received_total", "signalink_ws_frames_sent_total", "signalink_ws_sent_bytes_total",
    "signalink_ws_closes_total", "signalink_ws_slow_consumer_closes_total", "signalink_ws_refused_upgrades_total",
    "signalink_ws_fanout_latency_seconds", "signalink_ws_duplicates_dropped_total", "signalink_ws_gap_fills_total",
    "signalink_ws_replayed_messages_total", "signalink_ws_idle_drops_total",
    "signalink_db_query_duration_seconds", "signalink_db_pool_connections", "signalink_db_pool_max_connections",
    "signalink_db_failed_transactions_total", "signalink_db_write_batch_size",
    "signalink_outbox_pending_events", "signalink_outbox_oldest_pending_age_seconds",
    "signalink_outbox_published_total", "signalink_outbox_relay_errors_total", "signalink_outbox_relay_leader",
    "signalink_outbox_publish_delay_seconds",
    "signalink_events_produced_total", "signalink_events_produce_errors_total", "signalink_events_consumed_total",
    "signalink_consumer_events_total", "signalink_consumer_retries_total", "signalink_consumer_lag_events",
    "signalink_broker_connected", "signalink_broker_published_total", "signalink_broker_received_total",
    "signalink_broker_dropped_total", "signalink_broker_reconnects_total",
    "signalink_notifications_total", "signalink_notification_deliveries_total",
    "signalink_analytics_events_total", "signalink_analytics_windows_written_total",
    "signalink_analytics_write_errors_total",
    "signalink_disk_free_bytes", "signalink_disk_total_bytes",
]


def promtool_path() -> str:
    path = shutil.which("promtool")
    assert path, ("promtool is missing: install Debian's `prometheus` package "
                  "(apt-get install prometheus; scripts/install-deps does)")
    return path


def promtool_check(text: str, role: str) -> None:
    run = subprocess.run([promtool_path(), "check", "metrics"], input=text.encode(),
                         capture_output=True, timeout=60)
    said = (run.stdout + run.stderr).decode().strip()
    assert run.returncode == 0 and not said, f"promtool check metrics on the {role} port:\n{said}"


def scrape(url: str) -> str:
    with make_client(url) as c:
        resp = expect(c.get("/metrics"), 200)
    assert resp.headers["content-type"].startswith("text/plain"), resp.headers
    return resp.text


def value(text: str, series: str) -> float | None:
    """The sample of one exact series line (name and labels as printed)."""
    for line in text.splitlines():
        if not line.startswith("#") and line.rpartition(" ")[0] == series:
            return float(line.rpartition(" ")[2])
    return None


def ports(env) -> dict[str, str]:
    s = env.server
    return {"api": s.base_url, "gateway": s.gw_url, "analytics": s.analytics_url, "notifier": s.notifier_url}


def test_every_port_lists_the_catalog_and_passes_promtool(start_notify_server, fresh_db_env):
    promtool_path()  # before starting anything: a missing tool is the first thing said
    env = start_notify_server("metrics", **fresh_db_env)
    for role, url in ports(env).items():
        text = scrape(url)
        promtool_check(text, role)
        missing = [name for name in CATALOG if f"# HELP {name} " not in text]
        assert not missing, f"{role} /metrics lacks {missing}"
        assert value(text, "signalink_broker_connected") == 1, role
        assert metric_sum(text, "signalink_build_info") == 1, role
        assert value(text, "signalink_outbox_pending_events") is not None, role
        assert value(text, f'signalink_db_pool_max_connections{{backend="{BACKEND}"}}') >= 1, role
        lags = [line for line in text.splitlines() if line.startswith("signalink_consumer_lag_events{group=")]
        assert len(lags) == 2, f"{role}: one lag series per consumer group (analytics, notifier): {lags}"


def test_key_series_move_with_traffic(start_notify_server, fresh_db_env):
    promtool_path()
    # A database of its own: on a shared one another process may hold the relay lease.
    env = start_notify_server("metrics-traffic", **fresh_db_env)
    before = scrape(env.server.base_url)
    alice = env.api.new_user("metrics")
    channel = env.api.create_channel(alice)
    env.api.send(alice, channel["id"], "over REST")

    async def talk():
        ws = await env.open(alice)
        await ws.subscribe(channel["id"])
        await ws.send_acked(channel["id"], "over the socket")
        await ws.expect("message.receive", content="over the socket")
        await ws.close()
    arun(talk())

    def fanned_out() -> bool:
        return metric_sum(scrape(env.server.gw_url), "signalink_ws_fanout_latency_seconds_count") > 0
    poll_until(fanned_out, WAIT, what="a fan-out latency observation")
    after = {role: scrape(url) for role, url in ports(env).items()}
    for role, text in after.items():
        promtool_check(text, role)
    api = after["api"]

    def grew(name: str, **labels: str) -> bool:
        return metric_sum(api, name, **labels) > metric_sum(before, name, **labels)

    assert grew("signalink_http_requests_total", role="api", method="POST", status="201"), "REST writes not counted"
    assert grew("signalink_http_request_duration_seconds_count", role="api")
    assert grew("signalink_ws_frames_received_total") and grew("signalink_ws_frames_sent_total")
    assert grew("signalink_ws_sent_bytes_total")
    assert grew("signalink_broker_published_total") and grew("signalink_broker_received_total")
    assert grew("signalink_db_query_duration_seconds_count", backend=BACKEND)
    assert grew("signalink_db_write_batch_size_count", backend=BACKEND)
    assert metric_sum(api, "signalink_ws_fanout_latency_seconds_count") >= 1
    assert metric_sum(api, "process_open_fds") > 0
    assert metric_sum(api, "process_resident_memory_bytes") > 0
    assert metric_sum(api, "process_cpu_seconds_total") > 0
    assert metric_sum(api, "signalink_disk_total_bytes") >= metric_sum(api, "signalink_disk_free_bytes") > 0
    # The relay publishes both messages into the database log.
    poll_until(lambda: metric_sum(scrape(env.server.base_url), "signalink_events_produced_total",
                                  topic="signalink.messages") >= 2, WAIT, what="two message events produced")
