"""The gateway benchmarks of docs/benchmarks.md (issue 5), side by side in one
run: each scenario RUNS times against a freshly started server (a new process
and a new SQLite file each time, so its memory is measured from empty), then
the medians. Driven by scripts/bench-gateway; stdlib only.

Backends: `sqlite` (the embedded default: SQLite + in-process broker) and
`pg` (PostgreSQL with its durable defaults + Redis, both started by the
project's scripts). The `connections-3gw` scenario needs `pg`: three gateway
processes share Redis and PostgreSQL behind one API process.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SCENARIOS = {
    # name: (signalink-bench arguments, topology)
    "fanout-1x1000-20k": (["fanout", "--channels", "1", "--subscribers", "1000", "--rate", "20"], "serve"),
    "fanout-1x1000-100k": (["fanout", "--channels", "1", "--subscribers", "1000", "--rate", "100"], "serve"),
    "fanout-1x1000-200k": (["fanout", "--channels", "1", "--subscribers", "1000", "--rate", "200"], "serve"),
    "fanout-1000x10": (["fanout", "--channels", "1000", "--subscribers", "10", "--rate", "5000"], "serve"),
    "write-rest": (["write", "--transport", "rest", "--clients", "64", "--channels", "8"], "serve"),
    "write-ws": (["write", "--transport", "ws", "--clients", "64", "--channels", "8"], "serve"),
    "connections-19k": (["connections", "--connections", "19000", "--procs", "2", "--hold", "5"], "serve"),
    "connections-3gw": (["connections", "--connections", "50000", "--procs", "3", "--hold", "5"], "3gw"),
    "storm-15k": (["storm", "--clients", "15000", "--channels", "100", "--rate", "500", "--before", "3",
                   "--after", "2", "--timeout", "60"], "serve"),
}

# Columns of the summary, per scenario kind: (JSON key, heading, format).
COLUMNS = {
    "fanout": [("deliveries_per_s", "deliveries/s", "{:.0f}"), ("p50_ms", "p50 ms", "{:.2f}"),
               ("p99_ms", "p99 ms", "{:.2f}"), ("p999_ms", "p99.9 ms", "{:.2f}"), ("lost", "lost", "{:.0f}"),
               ("duplicated", "dup", "{:.0f}"), ("server_cpu_cores", "server cores", "{:.2f}"),
               ("generator_cpu_cores", "gen cores", "{:.2f}")],
    "write": [("messages_per_s", "messages/s", "{:.0f}"), ("p50_ms", "p50 ms", "{:.2f}"),
              ("p99_ms", "p99 ms", "{:.2f}"), ("errors", "errors", "{:.0f}"),
              ("server_cpu_cores", "server cores", "{:.2f}")],
    "connections": [("connected", "held", "{:.0f}"), ("alive", "alive", "{:.0f}"),
                    ("connects_per_s", "connects/s", "{:.0f}"), ("rss_per_socket_bytes", "RSS/socket KiB", "{}"),
                    ("connect_p99_ms", "connect p99 ms", "{:.1f}")],
    "storm": [("recovered", "recovered", "{:.0f}"), ("full_recovery_s", "full recovery s", "{:.2f}"),
              ("recovery_p50_ms", "p50 ms", "{:.0f}"), ("lost", "lost", "{:.0f}"),
              ("duplicated", "dup", "{:.0f}"), ("told_not_recovered", "not recovered", "{:.0f}")],
}

BASE_ENV = {"PASSWORD_HASH_COST": "fast", "RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "warning",
            "HOST": "127.0.0.1"}


def wait_healthy(url, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


class Servers:
    """The server processes of one run, in a scratch directory."""

    def __init__(self, args, topology, extra_env):
        self.dir = tempfile.mkdtemp(prefix="signalink-gwbench-")
        self.procs = []
        env = dict(os.environ, **BASE_ENV, SIGNALINK_DATA_DIR=self.dir, **extra_env)
        port = args.port
        self.api = f"http://127.0.0.1:{port}"
        if topology == "serve":
            self.start(args, "serve", env, API_PORT=port, WS_PORT=port + 1, ANALYTICS_PORT=port + 2,
                       NOTIFIER_PORT=port + 3)
            wait_healthy(self.api + "/health")
            wait_healthy(f"http://127.0.0.1:{port + 1}/health")
            self.ws = [f"ws://127.0.0.1:{port + 1}/ws"]
        else:
            self.start(args, "api", env, API_PORT=port)
            wait_healthy(self.api + "/health")
            self.ws = []
            for i in range(3):
                wp = port + 10 + i
                self.start(args, "gateway", env, WS_PORT=wp, NODE_ID=f"bench-gw{i}")
                wait_healthy(f"http://127.0.0.1:{wp}/health")
                self.ws.append(f"ws://127.0.0.1:{wp}/ws")

    def start(self, args, role, env, **ports):
        log = open(os.path.join(self.dir, f"{role}-{len(self.procs)}.log"), "w")
        e = dict(env, **{k: str(v) for k, v in ports.items()})
        server = args.server_bin or os.path.join(args.bin, "signalink")
        self.procs.append(subprocess.Popen([server, role], env=e, stdout=log, stderr=subprocess.STDOUT))

    @property
    def pids(self):
        return ",".join(str(p.pid) for p in self.procs)

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def one_run(args, name, backend_env):
    bench_args, topology = SCENARIOS[name]
    servers = Servers(args, topology, backend_env)
    try:
        cmd = [os.path.join(args.bin, "signalink-bench"), *bench_args, "--api", servers.api,
               "--ws", ",".join(servers.ws), "--server-pid", servers.pids, "--label", f"{name}/{args.backend}{args.label}"]
        if bench_args[0] in ("fanout", "write"):
            cmd += ["--duration", str(args.duration)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        lines = [ln for ln in out.stdout.splitlines() if '"scenario"' in ln]
        if not lines:
            raise RuntimeError(f"{name}: no result (exit {out.returncode})\n{out.stdout}\n{out.stderr}")
        sys.stdout.write(out.stdout)
        sys.stdout.flush()
        return json.loads(lines[-1])
    finally:
        servers.stop()


def summary(name, rows):
    kind = rows[0]["scenario"]
    cols = COLUMNS[kind]
    head = f"| {name} ({len(rows)} runs) | " + " | ".join(h for _, h, _ in cols) + " |"
    cells = []
    for key, _, fmt in cols:
        med = statistics.median(r[key] for r in rows)
        cells.append(f"{med / 1024:.2f}" if key == "rss_per_socket_bytes" else fmt.format(med))
    return head, "| median | " + " | ".join(cells) + " |"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default="build/release")
    p.add_argument("--server-bin", default="", help="another `signalink` to measure (default: the one in --bin)")
    p.add_argument("--label", default="", help="added to each result's label (e.g. before/after)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--port", type=int, default=18500)
    p.add_argument("--backend", choices=["sqlite", "pg"], default="sqlite")
    p.add_argument("--database-url", default="", help="PostgreSQL URL (backend pg)")
    p.add_argument("--redis-url", default="", help="Redis URL (backend pg)")
    p.add_argument("--results", default="", help="append every JSON line to this file")
    p.add_argument("scenarios", nargs="*", help=f"default: all of {', '.join(SCENARIOS)}")
    args = p.parse_args()
    names = args.scenarios or [n for n in SCENARIOS if args.backend == "pg" or SCENARIOS[n][1] == "serve"]
    backend_env = {}
    if args.backend == "pg":
        backend_env = {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url}
    tables = []
    for name in names:
        rows = []
        for i in range(args.runs):
            print(f"== {name} run {i + 1}/{args.runs} ({args.backend})", file=sys.stderr, flush=True)
            r = one_run(args, name, backend_env)
            rows.append(r)
            if args.results:
                with open(args.results, "a") as f:
                    f.write(json.dumps(r) + "\n")
        tables.append(summary(name, rows))
    print()
    for head, row in tables:
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        print(row)
        print()


if __name__ == "__main__":
    main()
