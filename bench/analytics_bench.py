"""The analytics benchmarks of docs/benchmarks.md (issue 6), on the embedded
default (SQLite, database log), side by side in one run, RUNS times each, then
the medians. Driven by scripts/bench-analytics; stdlib only.

- catch-up: `signalink api` takes a write load alone (no analytics), then
  stops; `signalink analytics` starts on that database and we time how fast it
  stores the backlog as facts (signalink_analytics_events_total{outcome="new"})
  and then writes the windows (system/stats totals).
- overhead: the same REST write load against `signalink api` (no analytics)
  and against `signalink serve` (analytics consuming live in the same
  process): messages/s and p99 of each.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from http_probe import get, wait_up

BASE_ENV = {"PASSWORD_HASH_COST": "fast", "RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "warning",
            "HOST": "127.0.0.1"}




def counter(base: str, name: str, label: str) -> float:
    for line in get(base + "/metrics").decode().splitlines():
        if line.startswith(name + "{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class Server:
    def __init__(self, binary: str, command: str, workdir: str, port: int, **env):
        self.base = {"api": port, "analytics": port + 2, "serve": port}[command]
        full = dict(os.environ, **BASE_ENV, SIGNALINK_DATA_DIR=workdir, API_PORT=str(port),
                    WS_PORT=str(port + 1), ANALYTICS_PORT=str(port + 2), NOTIFIER_PORT=str(port + 3),
                    **{k: str(v) for k, v in env.items()})
        self.log = open(os.path.join(workdir, f"{command}.log"), "ab")
        self.proc = subprocess.Popen([binary, command], env=full, stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.base}"
        wait_up(self.url + ("/health" if command != "analytics" else "/"), "analytics_bench")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def write_load(bench: str, api: str, seconds: int, label: str) -> dict:
    out = subprocess.run([bench, "write", "--api", api, "--transport", "rest", "--clients", "64",
                          "--channels", "8", "--duration", str(seconds), "--label", label],
                         capture_output=True, text=True, check=True).stdout
    return json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])


def sqlite_count(db: str, sql: str) -> int:
    import sqlite3
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def catch_up(args) -> dict:
    with tempfile.TemporaryDirectory() as work:
        api = Server(args.bin, "api", work, args.port)
        write_load(args.bench, api.url, args.fill, "fill")
        db = os.path.join(work, "signalink.db")
        deadline = time.time() + 120
        while sqlite_count(db, "SELECT count(*) FROM outbox WHERE published_at IS NULL") and time.time() < deadline:
            time.sleep(0.2)
        api.stop()
        events = sqlite_count(db, "SELECT count(*) FROM outbox WHERE topic = 'signalink.messages'")
        created = sqlite_count(db, "SELECT count(*) FROM messages")
        # Every window of the backlog has ended by now (windows of --window
        # seconds, no grace): the time to write them is computing, not waiting.
        time.sleep(args.window)
        t0 = time.monotonic()
        an = Server(args.bin, "analytics", work, args.port, METRICS_WINDOW_SECONDS=args.window,
                    METRICS_GRACE_MS=0, METRICS_WRITE_INTERVAL_MS=100)
        while counter(an.url, "signalink_analytics_events_total", 'outcome="new"') < events:
            if time.monotonic() - t0 > 600:
                raise SystemExit("analytics_bench: the backlog was not consumed in 600 s")
            time.sleep(0.05)
        stored = time.monotonic() - t0
        while json.loads(get(an.url + "/metrics/system/stats?hours=24"))["total_messages_last_hour"] < created:
            if time.monotonic() - t0 > 600:
                raise SystemExit("analytics_bench: the windows were not written in 600 s")
            time.sleep(0.05)
        written = time.monotonic() - t0
        an.stop()
        return {"scenario": "analytics_catch_up", "events": events, "window_seconds": args.window,
                "stored_s": round(stored, 2), "events_per_s": round(events / stored),
                "windows_written_s": round(written, 2)}


def overhead(args, command: str) -> dict:
    with tempfile.TemporaryDirectory() as work:
        srv = Server(args.bin, command, work, args.port)
        r = write_load(args.bench, srv.url, args.duration, command)
        srv.stop()
        return {"scenario": "analytics_overhead", "command": command, "messages_per_s": r["messages_per_s"],
                "p99_ms": r["p99_ms"], "errors": r["errors"]}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--bench", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--fill", type=int, default=10, help="seconds of writes before the catch-up")
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--port", type=int, default=18500)
    p.add_argument("--window", type=int, default=5, help="METRICS_WINDOW_SECONDS of the catch-up")
    args = p.parse_args()
    rows = []
    for _ in range(args.runs):
        for row in (catch_up(args), overhead(args, "api"), overhead(args, "serve")):
            print(json.dumps(row), flush=True)
            rows.append(row)
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    c = [r for r in rows if r["scenario"] == "analytics_catch_up"]
    print(f"catch-up: {med(c, 'events'):.0f} events stored in {med(c, 'stored_s'):.2f} s "
          f"({med(c, 'events_per_s'):.0f} events/s), every {args.window} s window written after "
          f"{med(c, 'windows_written_s'):.2f} s")
    for command in ("api", "serve"):
        o = [r for r in rows if r.get("command") == command]
        print(f"REST writes, {command:5}: {med(o, 'messages_per_s'):.0f} msg/s, p99 {med(o, 'p99_ms'):.1f} ms, "
              f"errors {sum(r['errors'] for r in o)}")


if __name__ == "__main__":
    sys.exit(main())
