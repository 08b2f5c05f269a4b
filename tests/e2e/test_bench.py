"""signalink-bench, the load generator (README "Benchmarks"): each scenario
runs briefly against a real `signalink serve` and its JSON line is checked
against itself and against what the server counted. These tests check that
the instrument tells the truth, not how fast anything is (numbers live in
docs/benchmarks.md)."""

import json
import re
import subprocess

import pytest

from conftest import REPO_ROOT, signalink_bin


def bench_bin():
    """The generator is a client: beside the server under test if built there,
    else the release build's (an ASan server is measured by the release bench)."""
    candidates = [signalink_bin().parent / "signalink-bench", REPO_ROOT / "build" / "release" / "signalink-bench"]
    for path in candidates:
        if path.exists():
            return path
    pytest.fail(f"signalink-bench is missing (looked for {', '.join(map(str, candidates))}; "
                "build the release preset)", pytrace=False)


def run_bench(*args, timeout=120):
    proc = subprocess.run([str(bench_bin()), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return proc


def result_line(proc):
    """The last stdout line containing "scenario", as JSON (the documented interface)."""
    lines = [ln for ln in proc.stdout.splitlines() if '"scenario"' in ln]
    assert lines, f"no result line; exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return json.loads(lines[-1])


def counter(env, name):
    """A counter of the gateway's /metrics (summed over labels)."""
    text = env.gw.get("/metrics").text
    total = 0.0
    for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M):
        total += float(m.group(1))
    return total


@pytest.fixture
def bench_env(start_ws_server):
    return start_ws_server("bench")


def urls(env):
    return ["--api", env.server.base_url, "--ws", env.server.ws_url, "--server-pid", env.server.proc.pid]


def test_help_lists_all_four_scenarios():
    proc = run_bench("--help")
    assert proc.returncode == 0, proc.stderr
    for scenario in ("fanout", "connections", "write", "storm"):
        assert re.search(rf"^\s+{scenario}\b", proc.stdout, re.M), proc.stdout


def test_fanout_counts_every_delivery_once(bench_env):
    sent0 = counter(bench_env, "signalink_ws_frames_sent_total")
    proc = run_bench("fanout", *urls(bench_env), "--channels", 2, "--subscribers", 15, "--rate", 60,
                     "--duration", 2, "--warmup", 0.5, "--label", "e2e")
    r = result_line(proc)
    assert proc.returncode == 0, proc.stderr
    assert r["scenario"] == "fanout" and r["label"] == "e2e"
    assert r["channels"] == 2 and r["subscribers"] == 15
    # About 120 messages are published in the 2 s window at 60/s.
    assert 90 <= r["published"] <= 150, r
    assert r["expected_deliveries"] == r["published"] * 15
    assert r["deliveries"] == r["expected_deliveries"] and r["lost"] == 0 and r["duplicated"] == 0
    assert r["deliveries_per_s"] == pytest.approx(r["deliveries"] / 2)
    assert 0 < r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] <= r["max_ms"]
    assert r["server_cpu_cores"] > 0 and r["generator_cpu_cores"] > 0
    for key in ("machine", "build", "commit"):
        assert r[key], key
    # The server wrote at least that many frames (deliveries plus acks).
    assert counter(bench_env, "signalink_ws_frames_sent_total") - sent0 >= r["deliveries"] + r["published"]


def test_fanout_reports_loss_when_subscribers_are_cut_off(start_ws_server):
    # A send queue smaller than one message frame (about 880 bytes here) but
    # larger than an ack (about 180): every subscriber is closed as a slow
    # consumer (4008) at its first delivery, whatever the backend's speed,
    # while the publisher, one ack at a time, is not. The bench must count
    # what the subscribers never got.
    env = start_ws_server("benchloss", WS_SEND_QUEUE_BYTES="450")
    proc = run_bench("fanout", *urls(env), "--channels", 1, "--subscribers", 5, "--publishers", 1,
                     "--rate", 50, "--duration", 1, "--warmup", 0, "--drain", 1, "--content-bytes", 400)
    r = result_line(proc)
    assert r["errors"] == 0 and r["published"] >= 20, r
    assert r["lost"] > 0, r
    assert r["deliveries"] + r["lost"] == r["expected_deliveries"]
    assert proc.returncode == 1


def test_connections_over_two_processes_hold_every_socket(bench_env):
    proc = run_bench("connections", *urls(bench_env), "--connections", 300, "--procs", 2, "--sources", 3,
                     "--sockets-per-user", 20, "--hold", 0.5)
    r = result_line(proc)
    assert proc.returncode == 0, proc.stderr
    assert r["scenario"] == "connections" and r["procs"] == 2
    assert r["connected"] == 300 and r["failed"] == 0 and r["alive"] == 300
    assert r["connects_per_s"] > 0 and r["connect_p50_ms"] > 0
    assert r["server_rss_bytes"] > 0 and r["server_rss_empty_bytes"] > 0
    # Every socket answered the bench's ping: the gateway saw those frames.
    assert counter(bench_env, "signalink_ws_frames_received_total") >= 300


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_write_counts_committed_messages(bench_env, transport):
    proc = run_bench("write", *urls(bench_env), "--transport", transport, "--clients", 4, "--channels", 2,
                     "--pipeline", 4, "--duration", 1, "--warmup", 0.3)
    r = result_line(proc)
    assert proc.returncode == 0, proc.stderr
    assert r["scenario"] == "write" and r["transport"] == transport
    assert r["messages"] > 0 and r["errors"] == 0
    assert r["messages_per_s"] == pytest.approx(r["messages"] / 1)
    # What the bench counted is in the database: its channels hold at least
    # that many messages (the warm-up's too).
    api = bench_env.api
    viewer = api.new_user("bview")
    assert len(r["channel_ids"]) == 2
    total = sum(api.get_channel(cid, viewer)["message_count"] for cid in r["channel_ids"])
    assert total >= r["messages"], (total, r)


def test_storm_everyone_recovers_without_loss(bench_env):
    proc = run_bench("storm", *urls(bench_env), "--clients", 60, "--channels", 6, "--rate", 100,
                     "--before", 1, "--after", 0.5, "--timeout", 20)
    r = result_line(proc)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert r["scenario"] == "storm" and r["clients"] == 60
    assert r["recovered"] == 60 and r["reconnects_failed"] == 0 and r["told_not_recovered"] == 0
    assert r["lost"] == 0 and r["duplicated"] == 0
    assert 0 < r["full_recovery_s"] < 20


def test_bad_arguments_and_unreachable_server_fail_clearly():
    bad = run_bench("fanout", "--channels", 0)
    assert bad.returncode == 2 and "channels" in bad.stderr
    down = run_bench("fanout", "--api", "http://127.0.0.1:9", "--ws", "ws://127.0.0.1:9/ws", "--duration", 1)
    assert down.returncode == 1 and "signalink-bench:" in down.stderr
    unknown = run_bench("nonsense")
    assert unknown.returncode != 0
