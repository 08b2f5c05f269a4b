"""deploy/prometheus and deploy/grafana: promtool accepts the configuration and
the rules, the rule unit tests pass and cover every alert both ways, every
alert says how bad it is and where its runbook is, and every metric a rule or
a dashboard names is one a real `signalink serve` exports.

Run from the repository root:
    /usr/bin/python3 -m pytest tests/deploy/test_prometheus_config.py
Needs Debian's `prometheus` package (promtool) and python3-yaml; the metric
name check starts the binary at $SIGNALINK_BIN (default build/release/signalink).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

try:
    import yaml  # Debian: python3-yaml
except ImportError:
    yaml = None

REPO = Path(__file__).resolve().parents[2]
PROM_DIR = REPO / "deploy" / "prometheus"
RULES = sorted((PROM_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROM_DIR / "tests").glob("*.yml"))
DASHBOARDS_DIR = REPO / "deploy" / "grafana" / "dashboards"
DASHBOARD_NAMES = ["overview", "gateway", "events", "analytics"]
PROVISIONING = REPO / "deploy" / "grafana" / "provisioning"

JOBS = {"signalink-api": "api:8000", "signalink-gateway": "gateway:8001",
        "signalink-analytics": "analytics:8002", "signalink-notifier": "notifier:8003"}
SEVERITIES = {"page", "ticket"}
RUNBOOK_PREFIX = "docs/operations.md#"
ALLOWED_DATASOURCE_UIDS = {"${DS_PROMETHEUS}", "prometheus"}
READY_TIMEOUT = 30.0


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #

def promtool() -> str:
    path = shutil.which("promtool") or "/usr/bin/promtool"
    if not Path(path).is_file():
        pytest.fail("promtool is missing (apt-get install prometheus)", pytrace=False)
    return path


def load_yaml(path: Path):
    if yaml is None:
        pytest.fail("python3-yaml is not installed (apt-get install python3-yaml)", pytrace=False)
    return yaml.safe_load(path.read_text())


def run_promtool(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([promtool(), *args], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, f"promtool {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


def rules_of(kind: str) -> list[dict]:
    """Every rule of the rule files with a `kind` key ("alert" or "record")."""
    out = []
    for path in RULES:
        for group in load_yaml(path)["groups"]:
            out.extend(rule for rule in group["rules"] if kind in rule)
    return out


def dashboards() -> dict[str, dict]:
    return {name: json.loads((DASHBOARDS_DIR / f"{name}.json").read_text()) for name in DASHBOARD_NAMES}


def panels_of(board: dict) -> list[dict]:
    """Every panel, those inside collapsed rows included."""
    out = []
    for panel in board.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$", re.S)
_QUERY_RESULT = re.compile(r"^\s*query_result\((.*)\)\s*$", re.S)


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and query variable."""
    out = []
    for name, board in dashboards().items():
        for panel in panels_of(board):
            for t in panel.get("targets", []):
                if t.get("expr"):
                    out.append((f"{name}.json panel {panel.get('title')!r}", t["expr"]))
        for var in board.get("templating", {}).get("list", []):
            if var.get("type") != "query":
                continue
            q = var.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            m = _LABEL_VALUES.match(q) or _QUERY_RESULT.match(q)
            if m:
                out.append((f"{name}.json variable {var['name']!r}", m.group(1)))
    return out


def rule_queries() -> list[tuple[str, str]]:
    out = []
    for path in RULES:
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                out.append((f"{path.name} {rule.get('alert') or rule.get('record')}", rule["expr"]))
    return out


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_VARIABLE = re.compile(r"\$\{?\w+\}?")
# A number or a duration (0.99, 1e3, 5m, 1h30m), or a name (a function when "(" follows).
_TOKEN = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:[a-z]+\d*)*|[A-Za-z_:][A-Za-z0-9_:]*(?:\s*\()?")
_PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                 "group_left", "group_right", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (labels, functions,
    keywords, numbers and Grafana variables left out)."""
    text = _STRING.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _VARIABLE.sub(" ", text)
    names = set()
    for tok in _TOKEN.findall(text):
        if tok[0].isdigit() or tok.endswith("(") or tok.lower() in _PROMQL_WORDS:
            continue
        names.add(tok)
    return names


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def fetch(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def exported_names(exposition: str) -> set[str]:
    """Metric names of a /metrics text: each # HELP / # TYPE family, with the
    _bucket/_sum/_count series of histograms and summaries."""
    names = set()
    for line in exposition.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "#" and parts[1] in ("HELP", "TYPE"):
            names.add(parts[2])
            if parts[1] == "TYPE" and len(parts) >= 4 and parts[3] in ("histogram", "summary"):
                names.update({parts[2] + "_sum", parts[2] + "_count"})
                if parts[3] == "histogram":
                    names.add(parts[2] + "_bucket")
    return names


# --------------------------------------------------------------------------- #
# promtool
# --------------------------------------------------------------------------- #

def test_promtool_check_config():
    r = run_promtool("check", "config", str(PROM_DIR / "prometheus.yml"))
    assert "SUCCESS" in r.stdout, r.stdout


def test_promtool_check_rules():
    assert RULES, "no rule files in deploy/prometheus/rules"
    r = run_promtool("check", "rules", *map(str, RULES))
    assert r.stdout.count("SUCCESS") == len(RULES), r.stdout


def test_promtool_test_rules():
    assert RULE_TESTS, "no rule tests in deploy/prometheus/tests"
    r = run_promtool("test", "rules", *map(str, RULE_TESTS))
    assert r.stdout.count("SUCCESS") == len(RULE_TESTS), r.stdout
    assert "FAILED" not in r.stdout, r.stdout


def test_dashboard_queries_parse(tmp_path):
    """promtool has no query parser of its own: each dashboard query becomes a
    recording rule that `promtool check rules` parses. Grafana's variables get
    values of the right kind first."""
    substitutions = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
    rules = []
    for i, (where, expr) in enumerate(dashboard_queries()):
        for var, value in substitutions.items():
            expr = expr.replace(var, value)
        expr = _VARIABLE.sub(".+", expr)
        rules.append({"record": f"dashboard_query_{i}", "expr": expr, "labels": {"where": where}})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboards", "rules": rules}]}))
    run_promtool("check", "rules", str(path))


# --------------------------------------------------------------------------- #
# The configuration and the rules
# --------------------------------------------------------------------------- #

def test_scrape_jobs_cover_every_role():
    cfg = load_yaml(PROM_DIR / "prometheus.yml")
    jobs = {}
    for job in cfg["scrape_configs"]:
        targets = [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        jobs[job["job_name"]] = targets
        assert job.get("metrics_path", "/metrics") == "/metrics", job
    assert jobs == {name: [target] for name, target in JOBS.items()}
    assert cfg["rule_files"] == ["rules/*.yml"]


def test_every_alert_has_a_severity_annotations_and_a_runbook():
    alerts = rules_of("alert")
    names = [a["alert"] for a in alerts]
    assert len(names) == len(set(names)), f"alert names repeat: {names}"
    for a in alerts:
        name = a["alert"]
        assert a.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity page or ticket"
        notes = a.get("annotations", {})
        for key in ("summary", "description"):
            assert isinstance(notes.get(key), str) and notes[key].strip(), f"{name}: no {key}"
        assert "$labels" in notes["description"] or "$value" in notes["description"], \
            f"{name}: the description should say what was measured ($labels/$value)"
        assert notes.get("runbook_url") == RUNBOOK_PREFIX + name.lower(), \
            f"{name}: runbook_url must be {RUNBOOK_PREFIX}{name.lower()}, not {notes.get('runbook_url')!r}"
        assert a.get("for"), f"{name}: no `for:`, so one bad sample fires it"


def test_issue_alerts_are_present():
    names = {a["alert"] for a in rules_of("alert")}
    required = {"SignalinkRoleDown", "SignalinkHighErrorRate", "SignalinkFanoutLatencyHigh",
                "SignalinkOutboxLag", "SignalinkConsumerLag", "SignalinkSlowConsumerStorm",
                "SignalinkBrokerDegraded", "SignalinkDiskLow"}
    assert required <= names, f"missing alerts: {sorted(required - names)}"


def test_every_alert_is_tested_firing_and_quiet():
    alerts = {a["alert"] for a in rules_of("alert")}
    fires, quiet = set(), set()
    for path in RULE_TESTS:
        doc = load_yaml(path)
        assert doc.get("rule_files") == ["../rules/*.yml"], \
            f"{path.name}: load every rule file (../rules/*.yml), so the tests see the real set"
        for case in doc["tests"]:
            for check in case.get("alert_rule_test", []):
                name = check["alertname"]
                assert name in alerts, f"{path.name}: {name} is not an alert of the rules"
                (fires if check.get("exp_alerts") else quiet).add(name)
    assert not alerts - fires, f"alerts no test fires: {sorted(alerts - fires)}"
    assert not alerts - quiet, f"alerts no test keeps quiet: {sorted(alerts - quiet)}"


# --------------------------------------------------------------------------- #
# Grafana
# --------------------------------------------------------------------------- #

def test_dashboards_are_grafana_dashboards_on_the_prometheus_datasource():
    boards = dashboards()
    uids = [b["uid"] for b in boards.values()]
    assert len(set(uids)) == len(uids), uids
    for name, board in boards.items():
        assert board.get("title") and board.get("schemaVersion"), name
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables.get("DS_PROMETHEUS", {}).get("type") == "datasource", \
            f"{name}: needs the DS_PROMETHEUS data source variable"
        ids = [p["id"] for p in panels_of(board)]
        assert len(set(ids)) == len(ids), f"{name}: panel ids repeat"
        queried = 0
        for panel in panels_of(board):
            if panel["type"] == "row":
                continue
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24, f"{name}: {panel['title']} is wider than the grid"
            assert panel["targets"], f"{name}: {panel['title']} has no query"
            for t in [panel] + panel["targets"]:
                assert t["datasource"]["uid"] in ALLOWED_DATASOURCE_UIDS, (name, panel["title"])
            queried += 1
        assert queried >= 6, f"{name}: only {queried} panels"


def test_grafana_provisioning_points_at_compose_prometheus_and_the_dashboards():
    sources = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    assert [(s["type"], s["uid"], s["url"]) for s in sources] == \
        [("prometheus", "prometheus", "http://prometheus:9090")]
    providers = load_yaml(PROVISIONING / "dashboards" / "signalink.yml")["providers"]
    assert len(providers) == 1 and providers[0]["type"] == "file"
    assert providers[0]["options"]["path"].startswith("/"), providers


# --------------------------------------------------------------------------- #
# Metric names: what the rules and dashboards ask for exists
# --------------------------------------------------------------------------- #

@pytest.fixture(scope="module")
def served_metric_names(tmp_path_factory) -> set[str]:
    """Names on /metrics of every port of a fresh `signalink serve` (SQLite)."""
    binary = Path(os.environ.get("SIGNALINK_BIN", str(REPO / "build" / "release" / "signalink")))
    if not binary.is_file():
        pytest.fail(f"signalink binary not found at {binary} (build it, or set SIGNALINK_BIN)",
                    pytrace=False)
    work = tmp_path_factory.mktemp("signalink-metrics")
    ports = free_ports(4)
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update({
        "API_PORT": str(ports[0]), "WS_PORT": str(ports[1]),
        "ANALYTICS_PORT": str(ports[2]), "NOTIFIER_PORT": str(ports[3]),
        "HOST": "127.0.0.1", "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": "sqlite:///" + str(work / "signalink.db").lstrip("/"),
        "SIGNALINK_DATA_DIR": str(work), "PASSWORD_HASH_COST": "fast", "LOG_LEVEL": "warning",
    })
    log = work / "signalink.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(binary), "serve"], env=env, cwd=work,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        names: set[str] = set()
        pending = list(ports)
        deadline = time.monotonic() + READY_TIMEOUT
        while pending:
            if proc.poll() is not None:
                pytest.fail(f"signalink serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}",
                            pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"/metrics of ports {pending} not answering within {READY_TIMEOUT} s:\n"
                            f"{log.read_text()[-3000:]}", pytrace=False)
            try:
                status, text = fetch(f"http://127.0.0.1:{pending[0]}/metrics")
            except OSError:
                time.sleep(0.1)
                continue
            if status == 200:
                names |= exported_names(text)
                pending.pop(0)
            else:
                time.sleep(0.1)
        return names
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_metric_name_parser():
    expr = ('histogram_quantile(0.99, sum by (job, le) (rate(a_seconds_bucket{x="y{z}", i=~"$instance"}'
            '[$__rate_interval]))) > 0.25 and on (job) b:rec:rate5m > 1e3 or vector(0) * 24 * 3600'
            ' unless ignoring(path) time() - c_total offset 5m')
    assert metric_names(expr) == {"a_seconds_bucket", "b:rec:rate5m", "c_total"}


def test_every_queried_metric_is_exported(served_metric_names):
    known = served_metric_names | {r["record"] for r in rules_of("record")} | {"up"}
    missing: dict[str, list[str]] = {}
    for where, expr in rule_queries() + dashboard_queries():
        for name in metric_names(expr):
            if name not in known:
                missing.setdefault(name, []).append(where)
    assert not missing, "metrics used but not exported by `signalink serve`:\n" + "\n".join(
        f"  {name}: {', '.join(sorted(set(places))[:4])}" for name, places in sorted(missing.items()))
