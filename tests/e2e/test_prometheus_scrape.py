"""A real Prometheus (Debian's `prometheus`) scrapes running Signalink roles
with the project's scrape jobs and rule files (deploy/prometheus): every target
is up, the key series arrive through its HTTP API, and the rules load and
evaluate without error.

On SQLite (the default) one `signalink serve` answers all four jobs, one port
each. With SIGNALINK_TEST_DATABASE_URL and SIGNALINK_TEST_REDIS_URL set, the
roles run as four processes (`api`, `gateway`, `analytics`, `notifier`) on a
database of their own and the shared Redis, as deployed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from conftest import (REPO_ROOT, RUN_ID, Api, WsEnv, arun, expect, free_ports,
                      start_notifier_server, tail_of, terminate)

PROMETHEUS = Path("/usr/bin/prometheus")
PROM_DIR = REPO_ROOT / "deploy" / "prometheus"
DEADLINE = 60.0           # seconds to wait for Prometheus to see everything
POLL = 0.5


def distributed() -> bool:
    return bool(os.environ.get("SIGNALINK_TEST_DATABASE_URL")
                and os.environ.get("SIGNALINK_TEST_REDIS_URL"))


class Prometheus:
    """`prometheus` on a free loopback port with a temporary TSDB."""

    def __init__(self, workdir: Path, config: dict):
        self.workdir = workdir
        self.port = free_ports(1)[0]
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.log_path = workdir / "prometheus.log"
        self.proc: subprocess.Popen | None = None
        self.exit_code: int | None = None
        self.killed = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Prometheus":
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(PROMETHEUS), f"--config.file={self.config_path}",
                 f"--storage.tsdb.path={self.workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"prometheus exited with {self.proc.returncode}\n{self.log_tail()}",
                            pytrace=False)
            try:
                if httpx.get(self.url + "/-/ready", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"prometheus not ready within {DEADLINE} s\n{self.log_tail()}", pytrace=False)

    def api(self, path: str, **params) -> dict:
        r = httpx.get(self.url + path, params=params, timeout=5.0)
        assert r.status_code == 200, f"{path} {params}: {r.status_code} {r.text[:500]}"
        body = r.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("/api/v1/query", query=expr)["result"]

    def stop(self) -> None:
        terminate(self, 10.0)

    def log_tail(self, lines: int = 40) -> str:
        return tail_of([self.log_path], lines)


def scrape_config(targets: dict[str, str]) -> dict:
    """deploy/prometheus/prometheus.yml with the test's targets, a 1 s scrape
    and evaluation interval, and the rule files by absolute path."""
    config = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    assert sorted(jobs) == sorted(targets), f"scrape jobs {jobs} != roles started {sorted(targets)}"
    config["global"].update({"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"})
    config["rule_files"] = [str(PROM_DIR / pattern) for pattern in config["rule_files"]]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@pytest.fixture
def roles(start_role, tmp_path_factory, fresh_db_env):
    """(WsEnv for REST + WebSocket, {job: host:port}) of the running roles."""
    if not distributed():
        srv = start_role("prom-serve", "serve")
        notifier_port = srv.env["NOTIFIER_PORT"]
        targets = {"signalink-api": f"127.0.0.1:{srv.port}",
                   "signalink-gateway": f"127.0.0.1:{srv.ws_port}",
                   "signalink-analytics": f"127.0.0.1:{srv.analytics_port}",
                   "signalink-notifier": f"127.0.0.1:{notifier_port}"}
        env = WsEnv(srv, Api(srv))
        yield env, targets
        env.api.close()
        env.close()
        return
    common = {"SECRET_KEY": secrets.token_hex(32), **fresh_db_env}
    api_srv = start_role("prom-api", "api", **common)
    gw_srv = start_role("prom-gateway", "gateway", **common)
    analytics_srv = start_role("prom-analytics", "analytics", **common)
    notifier_srv = start_notifier_server(tmp_path_factory, "prom-notifier", "notifier", **common)
    targets = {"signalink-api": f"127.0.0.1:{api_srv.port}",
               "signalink-gateway": f"127.0.0.1:{gw_srv.ws_port}",
               "signalink-analytics": f"127.0.0.1:{analytics_srv.analytics_port}",
               "signalink-notifier": f"127.0.0.1:{notifier_srv.notifier_port}"}
    # REST goes to the API process, sockets to the gateway process.
    env = WsEnv(gw_srv, Api(api_srv))
    try:
        yield env, targets
    finally:
        env.api.close()
        env.close()
        notifier_srv.stop()


@pytest.fixture
def prometheus(tmp_path_factory):
    if not PROMETHEUS.is_file():
        pytest.fail(f"{PROMETHEUS} is missing (apt-get install prometheus)", pytrace=False)
    started: list[Prometheus] = []

    def _start(targets: dict[str, str]) -> Prometheus:
        prom = Prometheus(tmp_path_factory.mktemp("prometheus"), scrape_config(targets))
        started.append(prom)
        return prom.start()

    yield _start
    for prom in started:
        prom.stop()


def alert_and_record_names() -> tuple[set[str], set[str]]:
    alerts, records = set(), set()
    for path in (PROM_DIR / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                (alerts if "alert" in rule else records).add(rule.get("alert") or rule.get("record"))
    return alerts, records


def values(result: list[dict]) -> list[float]:
    return [float(s["value"][1]) for s in result]


async def wait_for(what: str, check, state: dict) -> None:
    """Poll check() (returns None when satisfied, else why not) until the
    deadline, sleeping on the event loop so open sockets keep answering pings."""
    deadline = time.monotonic() + DEADLINE
    while True:
        why = check()
        if why is None:
            return
        state["last"] = f"{what}: {why}"
        if time.monotonic() >= deadline:
            raise AssertionError(f"within {DEADLINE} s, {state['last']}")
        await asyncio.sleep(POLL)


def test_prometheus_scrapes_every_role_and_loads_the_rules(roles, prometheus):
    env, targets = roles
    prom = prometheus(targets)
    alerts, records = alert_and_record_names()
    jobs = set(targets)

    alice = env.api.new_user("pa")
    bob = env.api.new_user("pb")
    channel = env.api.create_channel(alice, name=f"prom_{RUN_ID}_{uuid.uuid4().hex[:6]}")
    env.api.add_member(channel["id"], alice, bob)

    async def scenario():
        ws = await env.open(bob)
        await ws.subscribe(channel["id"])
        sent = env.api.send(alice, channel["id"], "scraped by prometheus")
        frame = await ws.recv_type("message.receive", message_id=sent["id"])
        assert frame["content"] == "scraped by prometheus"
        await ws.send_acked(channel["id"], "and over the socket")
        expect(env.api.get(f"/api/v1/messages/channels/{channel['id']}", alice), 200)

        state: dict = {}

        def targets_up():
            active = prom.api("/api/v1/targets")["activeTargets"]
            seen = {t["labels"]["job"]: t["health"] for t in active}
            if set(seen) != jobs:
                return f"jobs {sorted(seen)} != {sorted(jobs)}"
            down = {j: h for j, h in seen.items() if h != "up"}
            if down:
                errors = {t["labels"]["job"]: t.get("lastError") for t in active}
                return f"not up: {down} ({errors})"
            return None

        def up_per_job():
            result = prom.query('up{job=~"signalink-.+"}')
            got = {s["metric"]["job"]: float(s["value"][1]) for s in result}
            return None if got == {j: 1.0 for j in jobs} else f"up = {got}"

        def series(expr: str, ok=lambda vs: bool(vs)):
            def check():
                vs = values(prom.query(expr))
                return None if ok(vs) else f"{expr} = {vs}"
            return check

        def rules_loaded():
            groups = prom.api("/api/v1/rules")["groups"]
            rules = [r for g in groups for r in g["rules"]]
            names = {r["name"] for r in rules}
            if not (alerts | records) <= names:
                return f"rules missing: {sorted((alerts | records) - names)}"
            bad = {r["name"]: (r.get("health"), r.get("lastError")) for r in rules if r.get("health") != "ok"}
            return f"rules not evaluated ok: {bad}" if bad else None

        await wait_for("every target up", targets_up, state)
        await wait_for("up per job", up_per_job, state)
        await wait_for("requests", series("signalink_http_requests_total", lambda vs: sum(vs) > 0), state)
        # Bob's socket is still open.
        await wait_for("open sockets", series("signalink_ws_connections", lambda vs: max(vs, default=0) >= 1),
                       state)
        await wait_for("fan-out observed",
                       series("signalink_ws_fanout_latency_seconds_count", lambda vs: max(vs, default=0) >= 1),
                       state)
        # The messages went through the outbox and reached both consumer groups.
        await wait_for("outbox published",
                       series("sum(signalink_outbox_published_total)", lambda vs: sum(vs) >= 1), state)
        await wait_for("events consumed by both groups",
                       series('sum by (group) (signalink_consumer_events_total{outcome="processed"}) > 0',
                              lambda vs: len(vs) >= 2), state)
        await wait_for("process memory of every job",
                       series('process_resident_memory_bytes{job=~"signalink-.+"}',
                              lambda vs: len(vs) == len(jobs) and min(vs) > 0), state)
        await wait_for("a recording rule over real data", series("role:signalink_http_requests:rate5m"), state)
        await wait_for("rules loaded and evaluated", rules_loaded, state)
        await ws.close()

    try:
        arun(scenario(), timeout=DEADLINE * 10)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{prom.log_tail()}") from None
