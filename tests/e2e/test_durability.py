"""What was acknowledged survives a crash, and /health tells the truth about the database."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import expect

REPO = Path(__file__).resolve().parents[2]


def test_acknowledged_messages_survive_kill_9(start_server):
    srv, api = start_server("crash")
    user = api.new_user("crash")
    ch = api.create_channel(user)
    sent = [api.send(user, ch["id"], f"m{i}")["id"] for i in range(50)]
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    srv.restart()
    history = expect(api.get(f"/api/v1/messages/channels/{ch['id']}?limit=100", user), 200).json()
    assert [m["id"] for m in history] == sent
    assert [m["seq"] for m in history] == list(range(1, 51))
    assert expect(api.get(f"/api/v1/channels/{ch['id']}", user), 200).json()["last_seq"] == 50
    # The next message continues the sequence: nothing half-written was left behind.
    assert api.send(user, ch["id"], "after")["seq"] == 51


@pytest.fixture
def private_postgres(tmp_path):
    """A PostgreSQL of this test's own (scripts/pg-start), to stop and start at will."""
    if not Path("/usr/lib/postgresql/15/bin/postgres").exists():
        pytest.fail("PostgreSQL 15 is not installed (scripts/install-deps --test)")
    env = dict(os.environ, SIGNALINK_SCRATCH=str(Path("/tmp") / f"sl-e2e-pg-{os.getpid()}"), PGPORT="55471")
    out = subprocess.run([str(REPO / "scripts/pg-start")], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip().splitlines()[-1].split("=", 1)[1]
    data = Path(env["SIGNALINK_SCRATCH"]) / "data"

    def ctl(action: str) -> None:
        # The server must not inherit our pipes (pg_ctl start would never look finished): it logs to a file.
        extra = ["-m", "fast"] if action == "stop" else ["-l", str(data.parent / "postgres.log")]
        subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", str(data),
                        "-w", *extra, action], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)

    yield url, ctl
    subprocess.run([str(REPO / "scripts/pg-stop")], env=env, capture_output=True, timeout=60)


def test_health_degrades_while_postgres_is_down_and_recovers(start_server, private_postgres):
    url, ctl = private_postgres
    srv, api = start_server("pgdown", DATABASE_URL=url)
    assert expect(api.get("/health"), 200).json()["database"] == "connected"
    ctl("stop")
    deadline = time.monotonic() + 30
    while True:
        r = api.get("/health")
        if r.status_code == 503:
            break
        assert time.monotonic() < deadline, f"/health still {r.status_code} with the database down"
        time.sleep(0.2)
    body = r.json()
    assert body["status"] == "degraded" and body["database"] == "disconnected"
    # Requests that need the database fail cleanly, and the server stays up.
    r = api.post("/api/v1/users/register", json={"username": "nodb_user", "email": "nodb@example.com",
                                                  "password": "password123"})
    assert r.status_code == 503, r.text
    assert r.json() == {"detail": "Service temporarily unavailable"}
    assert r.headers["retry-after"] == "1"
    ctl("start")
    deadline = time.monotonic() + 30
    while api.get("/health").status_code != 200:
        assert time.monotonic() < deadline, "/health did not recover after the database came back"
        time.sleep(0.2)
    user = api.new_user("back")
    assert expect(api.get("/api/v1/users/me", user), 200).json()["username"] == user.username


def test_logout_still_holds_after_a_restart(start_server):
    srv, api = start_server("revoked")
    user = api.new_user("gone")
    expect(api.post("/api/v1/users/logout", user), 204)
    srv.restart()
    r = api.get("/api/v1/users/me", user)
    expect(r, 401)
    assert r.json() == {"detail": "Could not validate credentials"}
