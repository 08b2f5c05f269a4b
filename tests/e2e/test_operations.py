"""Operations: the CLI, configuration refusals and connection deadlines."""

import os
import socket
import subprocess
import time

from conftest import expect, signalink_bin


def run_cli(*args, env=None, timeout=20):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "DATABASE_", "SECRET_"))}
    full_env.update(env or {})
    return subprocess.run([str(signalink_bin()), *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def test_version_and_help():
    r = run_cli("version")
    assert r.returncode == 0
    assert r.stdout.startswith("signalink ")
    r = run_cli("--help")
    assert r.returncode == 0
    for sub in ("serve", "api", "migrate", "version"):
        assert sub in r.stdout
    r = run_cli("api", "--help")
    assert r.returncode == 0
    assert "DATABASE_URL" in r.stdout and "SECRET_KEY" in r.stdout


def test_migrate_creates_the_schema_and_is_idempotent(tmp_path):
    db = tmp_path / "m.db"
    env = {"DATABASE_URL": f"sqlite:///{str(db).lstrip('/')}", "SIGNALINK_DATA_DIR": str(tmp_path)}
    first = run_cli("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied migration" in first.stderr
    assert db.is_file()
    again = run_cli("migrate", env=env)
    assert again.returncode == 0, again.stderr
    assert "applied migration" not in again.stderr


def test_production_refuses_missing_short_or_example_secret(tmp_path):
    base = {"ENVIRONMENT": "production", "API_PORT": "0", "SIGNALINK_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{str(tmp_path / 'p.db').lstrip('/')}"}
    for secret in (None, "short", "your-secret-key-change-this-in-production"):
        env = dict(base)
        if secret is not None:
            env["SECRET_KEY"] = secret
        r = run_cli("api", env=env)
        assert r.returncode == 2, (secret, r.returncode, r.stderr)
        assert "SECRET_KEY" in r.stderr


def test_production_refuses_fast_password_hashing(tmp_path):
    env = {"ENVIRONMENT": "production", "SECRET_KEY": "k" * 40, "PASSWORD_HASH_COST": "fast",
           "SIGNALINK_DATA_DIR": str(tmp_path)}
    r = run_cli("api", env=env)
    assert r.returncode == 2
    assert "PASSWORD_HASH_COST" in r.stderr


def test_development_generates_and_keeps_a_secret(start_server):
    srv, api = start_server("devsecret", SECRET_KEY="")
    user = api.new_user("keep")
    key_file = srv.workdir / "secret_key"
    assert key_file.is_file()
    assert len(key_file.read_text().strip()) >= 32
    assert expect(api.get("/api/v1/users/me", user), 200)


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_incomplete_header_is_cut_off_at_the_header_deadline(start_server):
    srv, _ = start_server("hdrtimeout", HTTP_HEADER_TIMEOUT_MS="500")
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finished
        started = time.monotonic()
        assert _closed_within(s, 5), "a half-sent header kept the connection open"
        assert time.monotonic() - started < 4
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")


def test_idle_keep_alive_connection_is_closed(start_server):
    srv, _ = start_server("idletimeout", HTTP_IDLE_TIMEOUT_MS="500")
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        assert _closed_within(s, 5), "an idle keep-alive connection stayed open"


def test_time_based_settings_are_configurable(start_server):
    srv, api = start_server("timings", WS_TICKET_TTL_SECONDS="7", LAST_SEEN_INTERVAL_SECONDS="0",
                            USER_CACHE_SECONDS="0")
    user = api.new_user("timing")
    ticket = expect(api.post("/api/v1/users/ws-ticket", user), 201).json()
    assert ticket["expires_in"] == 7
    first = expect(api.get("/api/v1/users/me", user), 200).json()["last_seen_at"]
    time.sleep(0.01)
    second = expect(api.get("/api/v1/users/me", user), 200).json()["last_seen_at"]
    assert first is not None and second is not None and second > first
