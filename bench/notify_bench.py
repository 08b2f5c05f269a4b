"""The notification benchmarks of docs/benchmarks.md (issue 7), on the embedded
default (SQLite, database log, `signalink serve` with the notifier in the
process), side by side in one run, RUNS times each, then the medians. Driven by
scripts/bench-notify; stdlib only.

Every measurement gets a fresh server and data directory, 16 senders and 200
recipients who never open a socket (away: every mention of them is an in-app
notification), all members of 8 public channels. Message i goes to channel
(i // 200) % 8 and, when it mentions, mentions recipient i % 200, so each
recipient is mentioned in every channel in turn and a burst folds (coalescing,
NOTIFY_COALESCE_MS 10 s) into one notification per recipient and channel.

- write: REST write throughput, closed loop (--senders threads, one keep-alive
  connection and one user each), of plain messages and of messages mentioning
  one recipient (`@name`: a user lookup at write time, then a notification).
  The two contents have the same length.
- drain: --messages mention messages posted as fast as the senders go; the time
  from the last 201 until signalink_notifications_total{outcome=created|folded}
  on the notifier port has grown by that many, and the events/s handled.
- latency: a single mention on an idle server, posted until the recipient's
  GET /api/v1/notifications/ shows it (its notifications are marked read
  between probes, so each probe creates one). Median of --probes.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from http_probe import get, wait_up

BASE_ENV = {"PASSWORD_HASH_COST": "fast", "RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "warning",
            "HOST": "127.0.0.1"}
CHANNELS = 8
RECIPIENTS = 200
PASSWORD = "bench-password-1"
# Same length with and without the mention: only the `@` differs.
FILLER = "x" * 70




def port_free(port: int) -> bool:
    with socket.socket() as s:
        # As the server binds: a port in TIME_WAIT from the previous server is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Client:
    """One keep-alive connection to the API; one per thread."""

    def __init__(self, port: int, token: str = ""):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = token

    def call(self, method: str, path: str, body=None) -> tuple[int, dict]:
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = "Bearer " + self.token
        self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else {})

    def close(self) -> None:
        self.conn.close()


class Server:
    def __init__(self, binary: str, workdir: str, port: int):
        ports = [port, port + 1, port + 2, port + 3]
        busy = [p for p in ports if not port_free(p)]
        if busy:
            raise SystemExit(f"notify_bench: ports {busy} are in use (choose another --port)")
        env = dict(os.environ, **BASE_ENV, SIGNALINK_DATA_DIR=workdir, API_PORT=str(ports[0]),
                   WS_PORT=str(ports[1]), ANALYTICS_PORT=str(ports[2]), NOTIFIER_PORT=str(ports[3]))
        self.log = open(os.path.join(workdir, "serve.log"), "ab")
        self.proc = subprocess.Popen([binary, "serve"], env=env, stdout=self.log, stderr=self.log)
        self.api_port = port
        self.notifier = f"http://127.0.0.1:{ports[3]}"
        try:
            wait_up(f"http://127.0.0.1:{port}/health", "notify_bench")
            wait_up(self.notifier + "/health", "notify_bench")
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *_) -> None:
        self.stop()

    def notifications(self) -> dict:
        """signalink_notifications_total summed over types, by outcome."""
        out = {"created": 0.0, "folded": 0.0, "duplicate": 0.0}
        for line in get(self.notifier + "/metrics").decode().splitlines():
            if line.startswith("signalink_notifications_total{"):
                for outcome in out:
                    if f'outcome="{outcome}"' in line:
                        out[outcome] += float(line.rsplit(" ", 1)[1])
        return out

    def handled(self) -> float:
        n = self.notifications()
        return n["created"] + n["folded"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Fixture:
    """Senders with tokens, recipients, channels: everyone a member of every channel."""

    def __init__(self, srv: Server, senders: int):
        port = srv.api_port
        local = threading.local()

        def client(token: str = "") -> Client:
            if not hasattr(local, "c"):
                local.c = Client(port)
            local.c.token = token
            return local.c

        def register(name: str) -> str:
            st, body = client().call("POST", "/api/v1/users/register",
                                     {"username": name, "email": f"{name}@bench.test", "password": PASSWORD})
            if st != 201:
                raise SystemExit(f"notify_bench: register {name}: {st} {body}")
            return body["id"]

        def login(name: str) -> str:
            st, body = client().call("POST", "/api/v1/users/login", {"username": name, "password": PASSWORD})
            if st != 200:
                raise SystemExit(f"notify_bench: login {name}: {st} {body}")
            return body["access_token"]

        def ok(st: int, body: dict, what: str) -> dict:
            if st not in (200, 201):
                raise SystemExit(f"notify_bench: {what}: {st} {body}")
            return body

        self.sender_names = [f"sender{i:02d}" for i in range(senders)]
        self.recipient_names = [f"rcpt{i:03d}" for i in range(RECIPIENTS)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(register, self.sender_names))
            self.recipient_ids = list(pool.map(register, self.recipient_names))
            self.tokens = list(pool.map(login, self.sender_names))
            self.channels = []
            for c in range(CHANNELS):
                st, body = client(self.tokens[0]).call("POST", "/api/v1/channels/",
                                                       {"name": f"bench-{c}", "is_private": False})
                self.channels.append(ok(st, body, "create channel")["id"])
            joins = [(t, ch) for t in self.tokens[1:] for ch in self.channels]
            list(pool.map(lambda a: ok(*client(a[0]).call("POST", f"/api/v1/channels/{a[1]}/join"), "join"), joins))
            adds = [(ch, uid) for ch in self.channels for uid in self.recipient_ids]
            list(pool.map(lambda a: ok(*client(self.tokens[0]).call(
                "POST", f"/api/v1/channels/{a[0]}/members", {"user_id": a[1]}), "add member"), adds))
        self.login = login

    def message(self, i: int, mention: bool) -> dict:
        name = self.recipient_names[i % RECIPIENTS]
        return {"channel_id": self.channels[(i // RECIPIENTS) % CHANNELS],
                "content": f"{'@' if mention else ' '}{name} {FILLER}", "message_type": "text"}


def send_loop(port: int, fx: Fixture, mention: bool, stop_at=None, count: int = 0) -> dict:
    """len(fx.tokens) threads, closed loop; until stop_at (monotonic) or `count` messages in all.

    Returns 201s, errors, latencies (s) and the times of the first and last 201."""
    n = len(fx.tokens)
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "errors": 0, "lat": [], "first": None, "last": 0.0}

    def worker(t: int) -> None:
        c = Client(port, fx.tokens[t])
        lat = []
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if count and i >= count:
                break
            if stop_at is not None and time.monotonic() >= stop_at:
                break
            t0 = time.monotonic()
            st, _ = c.call("POST", "/api/v1/messages/", fx.message(i, mention))
            t1 = time.monotonic()
            with lock:
                if st == 201:
                    state["ok"] += 1
                    state["first"] = t1 if state["first"] is None else min(state["first"], t1)
                    state["last"] = max(state["last"], t1)
                else:
                    state["errors"] += 1
            lat.append(t1 - t0)
        c.close()
        with lock:
            state["lat"].extend(lat)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return state


def pct(xs: list, q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0


def wait_handled(srv: Server, target: float, timeout: float = 300.0) -> float:
    """Monotonic time at which created+folded reached target."""
    t0 = time.monotonic()
    while srv.handled() < target:
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"notify_bench: the notifier handled {srv.handled()} of {target} in {timeout} s")
        time.sleep(0.01)
    return time.monotonic()


def write(args, mention: bool) -> dict:
    with tempfile.TemporaryDirectory() as work, Server(args.bin, work, args.port) as srv:
        fx = Fixture(srv, args.senders)
        before = srv.handled()
        warm = send_loop(srv.api_port, fx, mention, stop_at=time.monotonic() + args.warmup)
        cpu0, wall0, client0 = cpu_seconds(srv.proc.pid), time.monotonic(), time.process_time()
        r = send_loop(srv.api_port, fx, mention, stop_at=wall0 + args.duration)
        wall = time.monotonic() - wall0
        cpu, client = cpu_seconds(srv.proc.pid) - cpu0, time.process_time() - client0
        row = {"scenario": "notify_write", "mention": mention, "messages_per_s": round(r["ok"] / wall),
               "p50_ms": round(pct(r["lat"], 0.5) * 1e3, 2), "p99_ms": round(pct(r["lat"], 0.99) * 1e3, 2),
               "errors": r["errors"], "server_cores": round(cpu / wall, 2), "client_cores": round(client / wall, 2)}
        if mention:
            # Every mention of the warm-up and the window is one notification event: how far behind
            # the writers the notifier ended.
            row["notifier_behind_s"] = round(wait_handled(srv, before + warm["ok"] + r["ok"]) - r["last"], 2)
            row.update({k: int(v) for k, v in srv.notifications().items()})
        return row


def drain(args) -> dict:
    with tempfile.TemporaryDirectory() as work, Server(args.bin, work, args.port) as srv:
        fx = Fixture(srv, args.senders)
        base = srv.notifications()
        target = base["created"] + base["folded"] + args.messages
        t0 = time.monotonic()
        r = send_loop(srv.api_port, fx, True, count=args.messages)
        if r["ok"] != args.messages:
            raise SystemExit(f"notify_bench: {args.messages - r['ok']} mention writes failed")
        # What the notifier still had to do when the writers stopped, and how fast it did it alone.
        t_end, backlog = time.monotonic(), target - srv.handled()
        done = wait_handled(srv, target)
        n = srv.notifications()
        row = {"scenario": "notify_drain", "messages": args.messages,
               "post_s": round(r["last"] - t0, 2), "posted_per_s": round(args.messages / (r["last"] - t0)),
               "after_last_201_s": round(done - r["last"], 3), "total_s": round(done - t0, 2),
               "events_per_s": round(args.messages / (done - t0)), "backlog_at_last_201": int(backlog),
               "backlog_per_s": round(backlog / (done - t_end)) if backlog else None,
               "created": int(n["created"] - base["created"]), "folded": int(n["folded"] - base["folded"]),
               "duplicate": int(n["duplicate"] - base["duplicate"])}
        return row


def latency(args) -> dict:
    with tempfile.TemporaryDirectory() as work, Server(args.bin, work, args.port) as srv:
        fx = Fixture(srv, args.senders)
        sender = Client(srv.api_port, fx.tokens[0])
        reader = Client(srv.api_port, fx.login(fx.recipient_names[0]))
        body = fx.message(0, True)
        samples = []
        for _ in range(args.probes):
            st, _ = reader.call("POST", "/api/v1/notifications/read-all")
            time.sleep(0.2)
            t0 = time.monotonic()
            st, msg = sender.call("POST", "/api/v1/messages/", body)
            if st != 201:
                raise SystemExit(f"notify_bench: probe write: {st} {msg}")
            while True:
                st, page = reader.call("GET", "/api/v1/notifications/?limit=5")
                if any(it["message_id"] == msg["id"] and not it["is_read"] for it in page["items"]):
                    break
                if time.monotonic() - t0 > 10:
                    raise SystemExit("notify_bench: a probe's notification never appeared")
                time.sleep(0.001)
            samples.append(time.monotonic() - t0)
        return {"scenario": "notify_latency", "probes": len(samples),
                "p50_ms": round(statistics.median(samples) * 1e3, 1),
                "min_ms": round(min(samples) * 1e3, 1), "max_ms": round(max(samples) * 1e3, 1)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--senders", type=int, default=16)
    p.add_argument("--duration", type=float, default=8.0, help="seconds of each write measurement")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--messages", type=int, default=5000, help="mention messages of the drain")
    p.add_argument("--probes", type=int, default=20, help="single mentions of the latency measurement")
    p.add_argument("--port", type=int, default=18600, help="API port; WS, analytics and notifier the next three")
    args = p.parse_args()
    rows = []
    for _ in range(args.runs):
        for measure in (lambda: write(args, False), lambda: write(args, True), lambda: drain(args),
                        lambda: latency(args)):
            row = measure()
            print(json.dumps(row), flush=True)
            rows.append(row)
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    for mention in (False, True):
        w = [r for r in rows if r["scenario"] == "notify_write" and r["mention"] == mention]
        print(f"REST writes, {'mention' if mention else 'plain':7}: {med(w, 'messages_per_s'):.0f} msg/s, "
              f"p50 {med(w, 'p50_ms'):.2f} ms, p99 {med(w, 'p99_ms'):.2f} ms, server {med(w, 'server_cores'):.2f} "
              f"cores, client {med(w, 'client_cores'):.2f}, errors {sum(r['errors'] for r in w)}"
              + (f", notifier done {med(w, 'notifier_behind_s'):.2f} s after the last write" if mention else ""))
    d = [r for r in rows if r["scenario"] == "notify_drain"]
    print(f"drain: {args.messages} mentions posted in {med(d, 'post_s'):.2f} s ({med(d, 'posted_per_s'):.0f}/s), "
          f"all handled {med(d, 'after_last_201_s'):.3f} s after the last 201 ({med(d, 'events_per_s'):.0f} "
          f"events/s; backlog when the writers stopped {med(d, 'backlog_at_last_201'):.0f}); created {med(d, 'created'):.0f}, folded {med(d, 'folded'):.0f}, "
          f"duplicate {med(d, 'duplicate'):.0f}")
    lt = [r for r in rows if r["scenario"] == "notify_latency"]
    print(f"idle mention to in-app: p50 {med(lt, 'p50_ms'):.1f} ms (min {min(r['min_ms'] for r in lt):.1f}, "
          f"max {max(r['max_ms'] for r in lt):.1f}) over {sum(r['probes'] for r in lt)} probes")


if __name__ == "__main__":
    sys.exit(main())
