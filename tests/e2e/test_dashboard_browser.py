"""The analytics dashboard in a real browser (contract.md 1 and 5).

`signalink serve` with 2-second metric windows; two users post messages over
REST; once the analytics API counts them, tests/browser/dashboard.mjs opens
`/dashboard` on the analytics port in /usr/bin/chromium (driven by
playwright-core, which downloads no browser), waits until the page has drawn
its charts with data, reads the numbers and tables it shows, and saves a
full-page screenshot that must not be blank.

Needs /usr/bin/chromium, node and `npm ci` in tests/browser (all installed by
`scripts/install-deps --test`); the tests are skipped, saying which is
missing, only when one of those is absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import (BROWSER_DIR, REPO_ROOT, Api, RoleServer, browser_tools_missing, describe, expect,
                      poll_until, unique)

SCRIPT = BROWSER_DIR / "dashboard.mjs"
SCREENSHOT_COPY = REPO_ROOT / "build" / "screenshots" / "dashboard.png"

WINDOW_ENV = {"METRICS_WINDOW_SECONDS": "2", "METRICS_GRACE_MS": "300"}
COUNT_TIMEOUT = 30.0   # seconds for posted messages to show in /metrics/system/stats
BROWSER_TIMEOUT_S = 30  # the page must be ready within this (dashboard.mjs --timeout-s)


pytestmark = pytest.mark.skipif(browser_tools_missing() is not None, reason=browser_tools_missing() or "")


def analytics_base(srv: RoleServer) -> str:
    """The analytics port of a started `serve` (ready: its /health answered)."""
    base = srv.analytics_url
    health = expect(httpx.get(base + "/health", timeout=5.0), 200).json()
    assert health.get("status") == "healthy" and health.get("service") == "analytics", health
    return base


def post_messages(api: Api, count: int, spread_s: float = 0.0) -> tuple[dict, list, dict]:
    """Two users in one channel, `count` messages alternating between them,
    over about `spread_s` seconds (so that they fall in several windows)."""
    alice = api.new_user("dsa")
    bob = api.new_user("dsb")
    channel = api.create_channel(alice, name=unique("dash"))
    api.add_member(channel["id"], alice, bob)
    sent = {alice.username: 0, bob.username: 0}
    for i in range(count):
        who = alice if i % 2 == 0 else bob
        api.send(who, channel["id"], f"dashboard message {i}")
        sent[who.username] += 1
        if spread_s:
            time.sleep(spread_s / count)
    return channel, [alice, bob], sent


def wait_counted(base: str, count: int, headers: dict | None = None) -> dict:
    """Polls /metrics/system/stats until it counts `count` messages; returns it."""
    seen = {"body": None}

    def counted() -> bool:
        r = httpx.get(base + "/metrics/system/stats", params={"hours": 1}, headers=headers,
                      timeout=5.0)
        expect(r, 200)
        seen["body"] = r.json()
        return seen["body"]["total_messages_last_hour"] >= count

    try:
        poll_until(counted, COUNT_TIMEOUT, 0.25, f"{count} messages in /metrics/system/stats")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last stats: {seen['body']}") from None
    assert seen["body"]["total_messages_last_hour"] == count, seen["body"]
    return seen["body"]


def run_browser(base: str, shot: Path, *extra: str) -> dict:
    cmd = ["node", str(SCRIPT), base, str(shot), "--timeout-s", str(BROWSER_TIMEOUT_S), *extra]
    proc = subprocess.run(cmd, cwd=BROWSER_DIR, capture_output=True, text=True, timeout=180)
    out = proc.stdout.strip()
    try:
        summary = json.loads(out)
    except ValueError:
        raise AssertionError(f"dashboard.mjs exited {proc.returncode} without a JSON summary\n"
                             f"stdout:\n{out[-3000:]}\nstderr:\n{proc.stderr[-3000:]}") from None
    assert proc.returncode == 0 and summary.get("ok") is True, \
        f"dashboard.mjs failed ({proc.returncode}): {summary.get('errors')}\n{out[-4000:]}\n" \
        f"stderr:\n{proc.stderr[-2000:]}"
    return summary


def check_screenshot(shot: Path, tmp_path: Path, summary: dict) -> None:
    assert shot.is_file() and shot.resolve().is_relative_to(tmp_path.resolve()), shot
    head = shot.read_bytes()[:8]
    assert head == b"\x89PNG\r\n\x1a\n", head
    png = summary["screenshot_png"]
    assert png["distinct_colours"] >= 64 and png["foreground_fraction"] >= 0.02, png
    assert summary["messages_chart"]["foreground_fraction"] >= 0.005, summary["messages_chart"]


def test_dashboard_draws_live_metrics(start_role, fresh_db_env, tmp_path):
    # A database of its own: the totals on the page are exactly this test's messages.
    srv = start_role("dash", "serve", **WINDOW_ENV, **fresh_db_env)
    base = analytics_base(srv)
    api = Api(srv)
    try:
        channel, users, sent = post_messages(api, 20, spread_s=5.0)
    finally:
        api.close()
    wait_counted(base, 20)

    page = httpx.get(base + "/dashboard", timeout=5.0)
    assert page.status_code == 200, \
        f"no dashboard page (a build with SL_WEB_ASSETS=OFF has none): {describe(page)}"
    assert page.headers["content-type"].startswith("text/html"), describe(page)
    assert "/dashboard/assets/dashboard.js" in page.text, describe(page)

    shot = tmp_path / "dashboard.png"
    summary = run_browser(base, shot)

    assert summary["state"] == "ready", summary
    assert summary["data_points"]["chart-messages"] > 0, summary["data_points"]
    assert summary["data_points"]["chart-activity"] > 0, summary["data_points"]
    assert summary["stats"]["messages"] == "20", summary["stats"]
    assert summary["stats"]["active_channels"] == "1", summary["stats"]
    assert summary["stats"]["active_users"] == "2", summary["stats"]
    # Top channels: our channel, by name, with its 20 messages and 2 senders.
    rows = {r[0]: r for r in summary["top_channels"]}
    assert channel["name"] in rows, summary["top_channels"]
    assert rows[channel["name"]][1:2] == ["20"], rows[channel["name"]]
    assert rows[channel["name"]][3] == "2", rows[channel["name"]]
    # Top users: both, by username, with what each sent.
    users_rows = {r[0]: r for r in summary["top_users"]}
    for name, n in sent.items():
        assert name in users_rows and users_rows[name][1] == str(n), (name, summary["top_users"])
    check_screenshot(shot, tmp_path, summary)

    try:
        SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT_COPY)
    except OSError:
        pass  # a read-only checkout: the screenshot stays in the test's tmp dir


def test_dashboard_with_analytics_token(start_role, fresh_db_env, tmp_path):
    """With ANALYTICS_TOKEN set, /dashboard stays public, the API wants the token,
    and the page (given the token as a user would enter it) draws its data."""
    token = "dash-" + unique("tok")
    srv = start_role("dashtok", "serve", ANALYTICS_TOKEN=token, **WINDOW_ENV, **fresh_db_env)
    base = analytics_base(srv)
    expect(httpx.get(base + "/dashboard", timeout=5.0), 200)
    expect(httpx.get(base + "/metrics/system/stats", timeout=5.0), 401)
    expect(httpx.get(base + "/metrics/system/stats", timeout=5.0,
                     headers={"Authorization": "Bearer not-" + token}), 401)

    api = Api(srv)
    try:
        post_messages(api, 4)
    finally:
        api.close()
    wait_counted(base, 4, headers={"Authorization": f"Bearer {token}"})

    shot = tmp_path / "dashboard-token.png"
    summary = run_browser(base, shot, "--token", token)
    assert summary["state"] == "ready", summary
    assert summary["stats"]["messages"] == "4", summary["stats"]
    check_screenshot(shot, tmp_path, summary)
