"""The web app (/app/) in a real browser.

`signalink serve` serves the built app next to its executable
(share/signalink/app). tests/browser/chat.mjs drives two users in two browser
contexts of /usr/bin/chromium (playwright-core, which downloads no browser):
registration, a channel created by one and joined by the other, live messages
and typing, a thread, members with presence, a notification, a private channel
that never shows to the other user, and a server restart in the middle of the
conversation. This module does the restart when the script asks for it (a
"STOP" line on its stdout: stop the server, answer "STOPPED" on its stdin;
"START": start it again on the same ports and database, answer "STARTED").
Screenshots of the main views are checked to be non-blank and copied to
build/screenshots/app-*.png.

tests/browser/scroll_bench.mjs with 500 messages checks that the message list
is windowed (timings are scripts/bench-app's business, not asserted here).

Needs /usr/bin/chromium, node and `npm ci` in tests/browser; skipped, saying
which is missing, only when one of those is absent.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import BROWSER_DIR, REPO_ROOT, RoleServer, browser_tools_missing, describe, expect, unique

SCREENSHOT_DIR = REPO_ROOT / "build" / "screenshots"

CHAT_TIMEOUT_S = 150    # the whole chat.mjs run, restart included
STEP_TIMEOUT_S = 15     # one wait inside chat.mjs (chat.mjs --timeout-s)
VIEWS = ("login", "channel", "typing", "thread", "members", "notifications", "reconnecting",
         "dark", "phone", "phone-drawer")

# A SIGTERMed gateway closes its sockets with 1012 and waits for the close
# handshake at most this long, so the restart is quick.
SERVER_ENV = {"WS_CLOSE_TIMEOUT_MS": "1000"}


pytestmark = pytest.mark.skipif(browser_tools_missing() is not None, reason=browser_tools_missing() or "")


def check_app_served(srv: RoleServer) -> None:
    """The server has the built app (a build without the web app has no /app/)."""
    page = httpx.get(srv.base_url + "/app/", timeout=5.0)
    assert page.status_code == 200, f"no /app/ (is the web app built next to the binary?): {describe(page)}"
    assert page.headers["content-type"].startswith("text/html"), describe(page)
    config = expect(httpx.get(srv.base_url + "/app/config.json", timeout=5.0), 200).json()
    assert config.get("gateway_port") == srv.ws_port, config


class NodeScript:
    """A node script whose stdout is read line by line in a thread, so that the
    test can answer its control lines and time out on a hung run."""

    def __init__(self, args: list[str], stderr_path: Path):
        self.stderr = open(stderr_path, "w")
        self.stderr_path = stderr_path
        self.proc = subprocess.Popen(["node", *args], cwd=BROWSER_DIR, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True,
                                     bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, deadline: float) -> str | None:
        """The next stdout line; None at the end of the output."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"node {self.proc.args[1]} still running after its deadline\n"
                                 f"{self.describe()}")
        try:
            line = self.lines.get(timeout=left)
        except queue.Empty:
            raise AssertionError(f"node {self.proc.args[1]} still running after its deadline\n"
                                 f"{self.describe()}") from None
        if line is not None:
            self.output.append(line)
        return line

    def answer(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def summary(self) -> dict:
        """The JSON summary (the last line) once the script has exited."""
        code = self.proc.wait(timeout=30)
        last = self.output[-1] if self.output else ""
        try:
            summary = json.loads(last)
        except ValueError:
            raise AssertionError(f"node exited {code} without a JSON summary\n{self.describe()}") from None
        assert code == 0 and summary.get("ok") is True, \
            f"node {self.proc.args[1]} failed ({code}): {summary.get('errors')}\n{self.describe()}"
        return summary

    def describe(self) -> str:
        self.stderr.flush()
        err = self.stderr_path.read_text(errors="replace")[-3000:]
        return "stdout:\n" + "\n".join(self.output)[-6000:] + f"\nstderr:\n{err}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def copy_screenshots(shots: dict) -> None:
    try:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        for name, stats in shots.items():
            shutil.copyfile(stats["path"], SCREENSHOT_DIR / f"app-{name}.png")
    except OSError:
        pass  # a read-only checkout: the screenshots stay in the test's tmp dir


def test_two_users_chat_across_a_server_restart(start_role, fresh_db_env, tmp_path):
    srv = start_role("app", "serve", **SERVER_ENV, **fresh_db_env)
    check_app_served(srv)
    shots = tmp_path / "shots"
    script = NodeScript(["chat.mjs", srv.base_url, str(shots), "--tag", unique("ab"),
                         "--timeout-s", str(STEP_TIMEOUT_S), "--restart", "stdio"],
                        tmp_path / "chat.stderr")
    restarts = []
    try:
        deadline = time.monotonic() + CHAT_TIMEOUT_S
        while (line := script.next_line(deadline)) is not None:
            if line == "STOP":
                srv.stop()
                assert srv.clean_exit(), f"serve did not stop cleanly: {srv.exit_code}\n{srv.log_tail()}"
                script.answer("STOPPED")
            elif line == "START":
                t0 = time.monotonic()
                srv.restart()  # same ports, database and key
                restarts.append(round(time.monotonic() - t0, 2))
                script.answer("STARTED")
        summary = script.summary()
    finally:
        script.close()
    (tmp_path / "chat-summary.json").write_text(json.dumps(summary, indent=2))

    assert restarts, "chat.mjs never asked for the restart"
    assert set(summary["screenshots"]) == set(VIEWS), summary["screenshots"]
    for name, stats in summary["screenshots"].items():
        path = Path(stats["path"])
        assert path.is_file() and path.resolve().is_relative_to(tmp_path.resolve()), stats
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stats
        assert stats["distinct_colours"] >= 32 and stats["foreground_fraction"] >= 0.01, (name, stats)
    # The pages were still reconnecting when the REST messages went in, and every
    # message is on both pages once, in the server's seq order (chat.mjs checks each).
    seqs = sorted(summary["server_seqs"])
    assert len(set(seqs)) == len(seqs), seqs
    for side in ("alice", "bob"):
        shown = [s for s, _ in summary[f"rows_{side}"]]
        assert [s for s in shown if s in seqs] == seqs, (side, shown, seqs)
    copy_screenshots(summary["screenshots"])


def test_long_channel_list_is_windowed(start_role, fresh_db_env, tmp_path):
    srv = start_role("appwin", "serve", **fresh_db_env)
    check_app_served(srv)
    script = NodeScript(["scroll_bench.mjs", srv.base_url, "--messages", "500", "--runs", "1",
                         "--duration-s", "3", "--timeout-s", "90"], tmp_path / "bench.stderr")
    try:
        deadline = time.monotonic() + 150
        while script.next_line(deadline) is not None:
            pass
        summary = script.summary()
    finally:
        script.close()
    history = summary["history"]
    assert history["history_start"] and history["loaded"] == 500, history
    run = summary["runs"][0]
    assert run["reached_bottom"] and run["total"] == 500, run
    # Windowed: a few screens of rows, never the whole list.
    assert 0 < run["max_rendered"] <= 120 and run["max_dom_rows"] <= 120, run
    assert run["blank_samples"] <= run["samples"] // 10, run
