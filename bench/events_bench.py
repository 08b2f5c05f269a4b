"""The event pipeline benchmark of docs/benchmarks.md (run by scripts/bench-events).

Two measurements against a running `signalink api` (API on --api):

drain   outbox-to-log throughput: the server was started with an event log it
        could not reach while `signalink-bench write` filled the outbox; once
        the log is reachable, the time for signalink_outbox_published_total to
        grow by --expect events gives events/s.
latency write-to-consumer: messages are sent over REST at a fixed rate (open
        loop) while `signalink events tail` consumes signalink.messages; each
        event's latency is the time its line reaches us minus the envelope's
        `timestamp` (the write's own time, same machine clock). Prints p50,
        p99 and max, and how many events arrived.

Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
import time
from datetime import datetime, timezone

import httpx


def published(api: str) -> float:
    text = httpx.get(api + "/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith("signalink_outbox_published_total"):
            return float(line.split()[-1])
    return 0.0


def drain(args) -> dict:
    start_count = published(args.api)
    t0 = time.monotonic()
    target = start_count + args.expect
    # The caller starts the log right after launching us: wait for the first event to move.
    while published(args.api) == start_count:
        if time.monotonic() - t0 > args.timeout:
            raise SystemExit("drain: nothing was published")
        time.sleep(0.02)
    t1 = time.monotonic()
    while published(args.api) < target:
        if time.monotonic() - t1 > args.timeout:
            raise SystemExit("drain: timed out")
        time.sleep(0.02)
    seconds = time.monotonic() - t1
    return {"scenario": "events_drain", "label": args.label, "events": args.expect,
            "seconds": round(seconds, 3), "events_per_s": round(args.expect / seconds)}


def user(api: str, name: str) -> str:
    httpx.post(api + "/api/v1/users/register",
               json={"username": name, "email": name + "@bench.io", "password": "password123"}, timeout=10)
    r = httpx.post(api + "/api/v1/users/login", json={"username": name, "password": "password123"}, timeout=10)
    return r.json()["access_token"]


def latency(args) -> dict:
    name = f"evb{int(time.time() * 1000) % 10**9}"
    token = user(args.api, name)
    headers = {"Authorization": "Bearer " + token}
    channel = httpx.post(args.api + "/api/v1/channels/", json={"name": name}, headers=headers, timeout=10).json()["id"]
    env = dict(os.environ)
    tail = subprocess.Popen([args.bin, "events", "tail", "--group", name, "--topic", "signalink.messages"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
    lines: queue.Queue = queue.Queue()

    def reader():
        for line in tail.stdout:
            lines.put((time.time(), line))

    threading.Thread(target=reader, daemon=True).start()
    # The consumer has joined its group once a warm-up event reaches it.
    httpx.post(args.api + "/api/v1/messages/", json={"channel_id": channel, "content": "warm-up"},
               headers=headers, timeout=10).raise_for_status()
    deadline = time.time() + args.timeout
    while True:
        try:
            _, line = lines.get(timeout=max(0.1, deadline - time.time()))
        except queue.Empty:
            raise SystemExit("latency: the consumer never received the warm-up event")
        if json.loads(line).get("channel_id") == channel:
            break
    # Open loop: each send is due at its slot, whatever the previous ones do.
    local = threading.local()

    def post(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(headers=headers, timeout=10)
        local.client.post(args.api + "/api/v1/messages/",
                          json={"channel_id": channel, "content": f"m{i}"}).raise_for_status()

    total = int(args.rate * args.duration)
    interval = 1.0 / args.rate
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = []
        for i in range(total):
            due = t0 + i * interval
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            futures.append(pool.submit(post, i))
        for f in futures:
            f.result()
    sent = total
    latencies = []
    deadline = time.time() + args.timeout
    while len(latencies) < sent and time.time() < deadline:
        try:
            at, line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        event = json.loads(line)
        if event.get("channel_id") != channel:
            continue
        written = datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        latencies.append((at - written.timestamp()) * 1000)
    tail.terminate()
    tail.wait(timeout=10)
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else None
    return {"scenario": "events_latency", "label": args.label, "rate": args.rate, "sent": sent,
            "received": len(latencies), "p50_ms": round(q(0.50), 2), "p99_ms": round(q(0.99), 2),
            "max_ms": round(latencies[-1], 2) if latencies else None}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["drain", "latency"])
    p.add_argument("--api", required=True)
    p.add_argument("--bin", default="build/release/signalink")
    p.add_argument("--label", default="")
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--timeout", type=float, default=120)
    args = p.parse_args()
    print(json.dumps(drain(args) if args.mode == "drain" else latency(args)), flush=True)


if __name__ == "__main__":
    main()
