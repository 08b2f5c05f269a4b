"""Shared machinery for the end-to-end suite.

Starts the real `signalink api` binary on a free port, waits for /health, and
drives it over HTTP with httpx. Everything here follows docs/contract.md
(shared copy: /work/shared/docs/contract.md); the tests never look inside the
server.

Test modules import the constants and helpers below with `from conftest import
...` (pytest puts this directory on sys.path: there is no __init__.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BROWSER_DIR = REPO_ROOT / "tests" / "browser"  # node scripts driving Chromium with playwright-core
CHROMIUM = Path("/usr/bin/chromium")


def browser_tools_missing() -> str | None:
    """Why the browser tests cannot run here, or None: they need Debian's
    Chromium, node and `npm ci` in tests/browser (scripts/install-deps --test)."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (scripts/install-deps --test installs chromium)"
    if shutil.which("node") is None:
        return "node is missing (scripts/install-deps installs nodejs)"
    for pkg in ("playwright-core", "pngjs"):
        if not (BROWSER_DIR / "node_modules" / pkg / "package.json").is_file():
            return (f"tests/browser/node_modules/{pkg} is missing "
                    "(run `npm ci` in tests/browser, or scripts/install-deps --test)")
    return None
DEFAULT_BIN = REPO_ROOT / "build" / "release" / "signalink"
READY_TIMEOUT = float(os.environ.get("SIGNALINK_E2E_READY_TIMEOUT", "20"))
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 15.0

# One run id per pytest session: every user and channel name carries it, so a
# shared database (SIGNALINK_TEST_DATABASE_URL) never sees collisions between
# runs.
RUN_ID = secrets.token_hex(3)
_counter = itertools.count(1)

# Response shapes, keys in contract order (contract.md 2.1).
USER_KEYS = ["username", "email", "full_name", "id", "avatar_url", "is_active",
             "is_verified", "created_at", "last_seen_at"]
TOKEN_KEYS = ["access_token", "token_type", "expires_in"]
CHANNEL_KEYS = ["name", "description", "is_private", "id", "created_by", "created_at",
                "updated_at", "member_count", "message_count", "last_seq", "unread_count", "viewer_role"]
MEMBER_KEYS = ["channel_id", "user_id", "id", "role", "joined_at", "user"]
MESSAGE_KEYS = ["content", "message_type", "id", "channel_id", "user_id", "metadata",
                "is_edited", "is_deleted", "created_at", "updated_at", "user", "seq",
                "parent_id", "client_msg_id", "reply_count"]
VALIDATION_ERROR_KEYS = ["type", "loc", "msg", "input"]

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")

# Configuration variables the server reads: never inherited from the caller's
# environment, so the suite runs the same everywhere.
_SCRUBBED_PREFIXES = ("SIGNALINK_", "KAFKA_", "RATE_LIMIT_", "LOGIN_MAX_", "METRICS_")
_SCRUBBED = {
    "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALGORITHM", "ACCESS_TOKEN_EXPIRE_MINUTES",
    "API_PORT", "WS_PORT", "ANALYTICS_PORT", "NOTIFIER_PORT", "HOST", "CORS_ORIGINS",
    "LOG_LEVEL", "ENVIRONMENT", "APP_NAME", "PASSWORD_HASH_COST", "REVOCATION_POLL_MS",
    "MAX_BODY_BYTES",
}


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #

def unique(prefix: str) -> str:
    """A name unique to this run: `<prefix>_<run id>_<n>` (keep prefix short)."""
    return f"{prefix}_{RUN_ID}_{next(_counter)}"


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(UUID_RE.match(value))


def is_ts(value: Any) -> bool:
    return isinstance(value, str) and bool(TS_RE.match(value))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def describe(resp: httpx.Response) -> str:
    req = resp.request
    return f"{req.method} {req.url} -> {resp.status_code} {resp.text[:800]!r}"


_MISSING = object()


def expect(resp: httpx.Response, status: int | Iterable[int], detail: Any = _MISSING) -> httpx.Response:
    """Assert the status (one code or a set) and, if given, the exact error body."""
    allowed = {status} if isinstance(status, int) else set(status)
    assert resp.status_code in allowed, f"expected {sorted(allowed)}: {describe(resp)}"
    if detail is not _MISSING:
        assert resp.json() == {"detail": detail}, describe(resp)
    return resp


def expect_validation_error(resp: httpx.Response, *, type_: str | None = None,
                            loc: list | None = None, loc_prefix: list | None = None) -> dict:
    """422 in FastAPI's shape; returns the first error matching type_/loc."""
    expect(resp, 422)
    body = resp.json()
    assert list(body) == ["detail"], describe(resp)
    errors = body["detail"]
    assert isinstance(errors, list) and errors, describe(resp)
    for err in errors:
        assert isinstance(err, dict), describe(resp)
        assert list(err)[:4] == VALIDATION_ERROR_KEYS, describe(resp)
        assert isinstance(err["loc"], list) and err["loc"], describe(resp)
        assert isinstance(err["msg"], str) and err["msg"], describe(resp)

    def matches(err: dict) -> bool:
        if type_ is not None and err["type"] != type_:
            return False
        if loc is not None and err["loc"] != loc:
            return False
        if loc_prefix is not None and err["loc"][:len(loc_prefix)] != loc_prefix:
            return False
        return True

    found = [e for e in errors if matches(e)]
    assert found, f"no error with type={type_} loc={loc or loc_prefix}: {describe(resp)}"
    return found[0]


def poll_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05,
               what: str | Callable[[], str] = "condition") -> None:
    """Polls until predicate() holds; `what` (or what() at the deadline) names it."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what() if callable(what) else what} not reached within {timeout} s")
        time.sleep(interval)


# --------------------------------------------------------------------------- #
# JWT (HS256) helpers, for forging tokens with the SECRET_KEY we passed
# --------------------------------------------------------------------------- #

def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token: str) -> tuple[dict, dict, str]:
    head, payload, sig = token.split(".")
    return json.loads(b64url_decode(head)), json.loads(b64url_decode(payload)), sig


def forge_jwt(claims: dict, secret: str | None, alg: str = "HS256",
              header: dict | None = None) -> str:
    """Sign claims like python-jose does (the key is the SECRET_KEY string's bytes)."""
    hdr = header if header is not None else {"alg": alg, "typ": "JWT"}
    signing_input = (b64url_encode(json.dumps(hdr, separators=(",", ":")).encode()) + "." +
                     b64url_encode(json.dumps(claims, separators=(",", ":")).encode()))
    if alg == "none":
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    sig = hmac.new(secret.encode(), signing_input.encode("ascii"), digest).digest()
    return signing_input + "." + b64url_encode(sig)


# --------------------------------------------------------------------------- #
# The server process
# --------------------------------------------------------------------------- #

_LIVE_SERVERS: list["SignalinkServer"] = []


def signalink_bin() -> Path:
    return Path(os.environ.get("SIGNALINK_BIN", str(DEFAULT_BIN))).resolve()


def terminate(holder: Any, timeout: float) -> int | None:
    """Stops `holder.proc` (SIGTERM, then SIGKILL after `timeout`), records
    `exit_code` and `killed` on the holder, forgets it as a live server, and
    returns the exit status (None when it never started)."""
    proc = holder.proc
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            holder.killed = True
            proc.kill()
            proc.wait()
    holder.exit_code = proc.returncode
    if holder in _LIVE_SERVERS:
        _LIVE_SERVERS.remove(holder)
    return holder.exit_code


def tail_of(paths, lines: int = 60) -> str:
    """The last `lines` lines of each file, under a header naming it."""
    parts = []
    for path in paths:
        try:
            text = path.read_text(errors="replace").splitlines()
        except OSError:
            text = []
        parts.append(f"--- {path} (last {lines} lines of {len(text)}) ---")
        parts.extend(text[-lines:])
    return "\n".join(parts)


class SignalinkServer:
    """One `signalink api` process on a free port, its logs in `workdir`."""

    def __init__(self, name: str, workdir: Path, extra_env: dict[str, str] | None = None):
        self.name = name
        self.command = "api"  # the subcommand started (RoleServer changes it)
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.secret_key = secrets.token_hex(32)
        self.stdout_path = workdir / "signalink.stdout.log"
        self.stderr_path = workdir / "signalink.stderr.log"
        self.proc: subprocess.Popen | None = None
        self.exit_code: int | None = None
        self.killed = False
        self.restarts = 0

        env = {k: v for k, v in os.environ.items()
               if k not in _SCRUBBED and not k.startswith(_SCRUBBED_PREFIXES)}
        db_url = os.environ.get("SIGNALINK_TEST_DATABASE_URL")
        if not db_url:
            db_url = "sqlite:///" + str((workdir / "signalink.db").resolve()).lstrip("/")
        env.update({
            "API_PORT": str(self.port),
            "HOST": "127.0.0.1",
            "DATABASE_URL": db_url,
            "SECRET_KEY": self.secret_key,
            "PASSWORD_HASH_COST": "fast",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": os.environ.get("SIGNALINK_E2E_LOG_LEVEL", "warning"),
            "SIGNALINK_DATA_DIR": str(workdir),
        })
        if os.environ.get("SIGNALINK_TEST_REDIS_URL"):
            env["REDIS_URL"] = os.environ["SIGNALINK_TEST_REDIS_URL"]
        env.update(extra_env or {})
        if "SECRET_KEY" in (extra_env or {}):
            self.secret_key = extra_env["SECRET_KEY"]
        self.env = env

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "SignalinkServer":
        binary = signalink_bin()
        if not binary.is_file():
            pytest.fail(f"signalink binary not found at {binary} "
                        "(build it, or set SIGNALINK_BIN)", pytrace=False)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            # cwd is the scratch dir: the binary must not depend on where it starts.
            self.proc = subprocess.Popen([str(binary), self.command], env=self.env,
                                         cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err)
        _LIVE_SERVERS.append(self)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self) -> None:
        """Start again after a crash: same port, database and key; fresh log files."""
        self.stop()
        self.restarts += 1
        self.stdout_path = self.workdir / f"signalink.stdout.{self.restarts}.log"
        self.stderr_path = self.workdir / f"signalink.stderr.{self.restarts}.log"
        self.killed = False
        self.start()

    def ready_urls(self) -> list[str]:
        """The /health URLs that must answer 200 before the server is ready."""
        return [self.base_url + "/health"]

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer"
        pending = list(self.ready_urls())
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"signalink ({self.name}) exited with {self.proc.returncode} "
                            f"before becoming ready\n{self.log_tail()}", pytrace=False)
            try:
                r = httpx.get(pending[0], timeout=1.0)
                if r.status_code == 200:
                    pending.pop(0)
                    if not pending:
                        return
                    continue
                last = f"{pending[0]}: {r.status_code} {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{pending[0]}: {exc!r}"
            time.sleep(0.05)
        pytest.fail(f"signalink ({self.name}) not ready within {READY_TIMEOUT} s "
                    f"(last: {last})\n{self.log_tail()}", pytrace=False)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        terminate(self, STOP_TIMEOUT)

    def clean_exit(self) -> bool:
        """Exited by itself on SIGTERM, without a crash (0, or killed by SIGTERM)."""
        return not self.killed and self.exit_code in (0, -signal.SIGTERM)

    def log_tail(self, lines: int = 60) -> str:
        return tail_of((self.stderr_path, self.stdout_path), lines)


# --------------------------------------------------------------------------- #
# HTTP client and domain helpers
# --------------------------------------------------------------------------- #

@dataclass
class UserCtx:
    username: str
    email: str
    password: str
    id: str
    user: dict
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_client(base_url: str) -> httpx.Client:
    """An httpx client whose sockets have TCP_NODELAY.

    httpx 0.23 / httpcore 0.16 send a request's head and body in two send()
    calls without TCP_NODELAY: Nagle holds the body back until the head is
    ACKed, and the server's delayed ACK makes that ~40 ms for every request
    with a body. (urllib3 sets TCP_NODELAY; httpx only later grew
    socket_options.) The server is not at fault, so the client is fixed.
    """
    transport = httpx.HTTPTransport()
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        try:
            from httpcore.backends.sync import SyncBackend
        except ImportError:  # another httpcore layout: keep the default backend
            SyncBackend = None
        if SyncBackend is not None:
            class _NoDelayBackend(SyncBackend):
                def connect_tcp(self, *args, **kwargs):
                    stream = super().connect_tcp(*args, **kwargs)
                    sock = stream.get_extra_info("socket")
                    if sock is not None:
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    return stream

            pool._network_backend = _NoDelayBackend()
    return httpx.Client(base_url=base_url, timeout=HTTP_TIMEOUT, transport=transport)


@dataclass
class Api:
    server: SignalinkServer
    client: httpx.Client = field(init=False)

    def __post_init__(self):
        self.client = make_client(self.server.base_url)

    def close(self):
        self.client.close()

    # -- raw ---------------------------------------------------------------
    def request(self, method: str, path: str, token: str | UserCtx | None = None,
                headers: dict | None = None, **kw) -> httpx.Response:
        hdrs = dict(headers or {})
        if isinstance(token, UserCtx):
            token = token.token
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        return self.client.request(method, path, headers=hdrs, **kw)

    def get(self, path, token=None, **kw):
        return self.request("GET", path, token, **kw)

    def post(self, path, token=None, **kw):
        return self.request("POST", path, token, **kw)

    def put(self, path, token=None, **kw):
        return self.request("PUT", path, token, **kw)

    def delete(self, path, token=None, **kw):
        return self.request("DELETE", path, token, **kw)

    # -- users -------------------------------------------------------------
    def register(self, prefix: str = "u", password: str | None = None,
                 full_name: str | None = "E2E User", username: str | None = None) -> UserCtx:
        username = username or unique(prefix)
        email = f"{username.lower()}@example.com"
        password = password or "pw-" + secrets.token_hex(6)
        body = {"username": username, "email": email, "password": password}
        if full_name is not None:
            body["full_name"] = full_name
        r = expect(self.post("/api/v1/users/register", json=body), 201)
        user = r.json()
        return UserCtx(username=username, email=email, password=password, id=user["id"], user=user)

    def login(self, who: UserCtx | str, password: str | None = None) -> str:
        name = who.username if isinstance(who, UserCtx) else who
        pw = password if password is not None else who.password
        r = expect(self.post("/api/v1/users/login", json={"username": name, "password": pw}), 200)
        return r.json()["access_token"]

    def new_user(self, prefix: str = "u") -> UserCtx:
        u = self.register(prefix)
        u.token = self.login(u)
        return u

    # -- channels ----------------------------------------------------------
    def create_channel(self, owner: UserCtx, private: bool = False, name: str | None = None,
                       description: str | None = "e2e channel") -> dict:
        body = {"name": name or unique("ch"), "is_private": private}
        if description is not None:
            body["description"] = description
        return expect(self.post("/api/v1/channels/", owner, json=body), 201).json()

    def get_channel(self, channel_id: str, who: UserCtx) -> dict:
        return expect(self.get(f"/api/v1/channels/{channel_id}", who), 200).json()

    def add_member(self, channel_id: str, actor: UserCtx, user: UserCtx,
                   role: str | None = None) -> dict:
        body = {"user_id": user.id}
        if role is not None:
            body["role"] = role
        return expect(self.post(f"/api/v1/channels/{channel_id}/members", actor, json=body),
                      201).json()

    def members(self, channel_id: str, who: UserCtx) -> list[dict]:
        return expect(self.get(f"/api/v1/channels/{channel_id}/members", who), 200).json()

    # -- messages ----------------------------------------------------------
    def send(self, actor: UserCtx, channel_id: str, content: str = "hello", **extra) -> dict:
        body = {"channel_id": channel_id, "content": content, **extra}
        return expect(self.post("/api/v1/messages/", actor, json=body), 201).json()

    def history(self, channel_id: str, who: UserCtx, **params) -> list[dict]:
        return expect(self.get(f"/api/v1/messages/channels/{channel_id}", who, params=params),
                      200).json()

    def all_channels(self, who: UserCtx) -> list[dict]:
        """Every channel visible to `who`, paging with the maximum page size."""
        out: list[dict] = []
        while True:
            page = expect(self.get("/api/v1/channels/", who,
                                   params={"skip": len(out), "limit": 100}), 200).json()
            out.extend(page)
            if len(page) < 100:
                return out


def check_user(obj: dict, username: str | None = None) -> None:
    assert list(obj) == USER_KEYS, obj
    assert is_uuid(obj["id"]), obj
    assert "password" not in json.dumps(obj) and "hashed_password" not in obj
    assert obj["is_active"] is True and obj["is_verified"] is False, obj
    assert is_ts(obj["created_at"]), obj
    assert obj["last_seen_at"] is None or is_ts(obj["last_seen_at"]), obj
    if username is not None:
        assert obj["username"] == username, obj


def check_channel(obj: dict) -> None:
    assert list(obj) == CHANNEL_KEYS, obj
    assert is_uuid(obj["id"]) and is_uuid(obj["created_by"]), obj
    assert is_ts(obj["created_at"]) and is_ts(obj["updated_at"]), obj
    for k in ("member_count", "message_count", "last_seq", "unread_count"):
        assert isinstance(obj[k], int) and not isinstance(obj[k], bool) and obj[k] >= 0, (k, obj)


def check_member(obj: dict) -> None:
    assert list(obj) == MEMBER_KEYS, obj
    assert is_uuid(obj["id"]) and is_uuid(obj["channel_id"]) and is_uuid(obj["user_id"]), obj
    assert obj["role"] in ("owner", "admin", "member"), obj
    assert is_ts(obj["joined_at"]), obj
    check_user(obj["user"])
    assert obj["user"]["id"] == obj["user_id"], obj


def check_message(obj: dict) -> None:
    assert list(obj) == MESSAGE_KEYS, obj
    assert is_uuid(obj["id"]) and is_uuid(obj["channel_id"]), obj
    assert obj["user_id"] is None or is_uuid(obj["user_id"]), obj
    assert obj["message_type"] in ("text", "image", "file", "system"), obj
    assert is_ts(obj["created_at"]) and is_ts(obj["updated_at"]), obj
    assert isinstance(obj["seq"], int) and obj["seq"] >= 1, obj
    assert obj["parent_id"] is None or is_uuid(obj["parent_id"]), obj
    assert isinstance(obj["reply_count"], int) and obj["reply_count"] >= 0, obj
    if obj["user"] is not None:
        check_user(obj["user"])
        assert obj["user"]["id"] == obj["user_id"], obj


# --------------------------------------------------------------------------- #
# Fixtures
# --------------------------------------------------------------------------- #

@pytest.fixture(scope="session")
def server(tmp_path_factory) -> SignalinkServer:
    """The shared server for the session (default configuration)."""
    srv = SignalinkServer("main", tmp_path_factory.mktemp("signalink-main"))
    srv.start()
    _MAIN.append(srv)
    yield srv
    _MAIN.clear()
    srv.stop()
    if not srv.clean_exit():
        # test_basics.py::test_sigterm_stops_cleanly fails for this; here just say it.
        warnings.warn(f"signalink (main) did not stop cleanly on SIGTERM: exit {srv.exit_code}, "
                      f"killed={srv.killed}\n{srv.log_tail(20)}")


@pytest.fixture(scope="session")
def api(server) -> Api:
    client = Api(server)
    yield client
    client.close()


@pytest.fixture
def start_server(tmp_path_factory):
    """Factory: start an extra server with custom env; stopped after the test.

    Returns (server, Api)."""
    started: list[tuple[SignalinkServer, Api]] = []

    def _start(name: str = "extra", **env: str) -> tuple[SignalinkServer, Api]:
        srv = SignalinkServer(name, tmp_path_factory.mktemp(f"signalink-{name}"),
                              {k: str(v) for k, v in env.items()})
        srv.start()
        client = Api(srv)
        started.append((srv, client))
        return srv, client

    yield _start
    for srv, client in started:
        client.close()
        srv.stop()


_MAIN: list[SignalinkServer] = []


@pytest.fixture(autouse=True)
def _main_server_still_alive(request):
    """Fail the test during which the shared server died (with its log), and
    restart it before the next test so one crash does not hide later results."""
    if _MAIN and not _MAIN[0].alive():
        _MAIN[0].restart()
    yield
    if _MAIN and not _MAIN[0].alive():
        srv = _MAIN[0]
        pytest.fail(f"signalink (main) died during this test: exit {srv.proc.returncode}\n"
                    f"{srv.log_tail()}", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of every live server's logs to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _LIVE_SERVERS:
        for srv in list(_LIVE_SERVERS):
            report.sections.append((f"signalink ({srv.name}) logs", srv.log_tail(40)))


# =========================================================================== #
# WebSocket gateway (contract.md section 3): servers with every role's port,
# an asyncio client over Python `websockets` (Debian's 10.4), a raw client for
# what `websockets` will not do (never read, never answer pings), and shape
# checks applied to every frame the server sends.
#
# There is no pytest-asyncio on the machine: tests are plain functions that
# run one coroutine with `arun(...)`. Blocking httpx calls inside a coroutine
# are fine (frames wait in the socket buffers meanwhile).
# =========================================================================== #

import asyncio  # noqa: E402  (kept with the section that uses it)
import collections  # noqa: E402
import struct  # noqa: E402
import urllib.parse  # noqa: E402

try:
    import websockets  # Debian: python3-websockets
    import websockets.exceptions as ws_exc
except ImportError:  # the REST suite does not need it
    websockets = None
    ws_exc = None

WS_TIMEOUT = 5.0          # default wait for one expected frame
WS_SILENCE = 0.5          # default window for "no frame arrives"

# Variables of the gateway/broker roles: never inherited (the base class
# already scrubs the REST ones).
_ROLE_SCRUBBED_PREFIXES = ("WS_", "REDIS_", "ANALYTICS_", "NOTIFIER_")
_ROLE_SCRUBBED = {"NODE_ID"}

# Server frames: the exact key lists (contract.md 3 and the project's choices).
MSG_FRAME_KEYS = ["type", "timestamp", "message_id", "channel_id", "user_id", "username",
                  "content", "message_type", "metadata", "created_at", "seq", "parent_id",
                  "client_msg_id"]
WS_FRAME_KEYS = {
    "message.receive": MSG_FRAME_KEYS,
    "message.updated": MSG_FRAME_KEYS,
    "message.deleted": MSG_FRAME_KEYS,
    "message.ack": ["type", "timestamp", "client_msg_id", "message_id", "channel_id", "seq"],
    "success": ["type", "timestamp", "message", "data"],
    "typing.indicator": ["type", "timestamp", "channel_id", "user_id", "username", "is_typing"],
    "presence.update": ["type", "timestamp", "user_id", "status"],
    "channel.unsubscribed": ["type", "timestamp", "channel_id", "reason"],
    "channel.joined": ["type", "timestamp", "channel_id"],
    "pong": None,   # type and timestamp first; nothing else is specified
    "error": None,  # checked below (client_msg_id is optional)
}
WS_ERROR_CODES = {"bad_request", "unknown_type", "invalid", "forbidden", "not_found",
                  "rate_limited", "internal"}


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (held open together while choosing)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def check_ws_frame(frame: Any) -> None:
    """Every server frame: a JSON object starting with type and timestamp, of a
    listed type, with that type's keys in order (contract.md 3, "no unsolicited
    frames beyond those listed")."""
    assert isinstance(frame, dict), f"server frame is not an object: {frame!r}"
    keys = list(frame)
    assert keys[:2] == ["type", "timestamp"], f"frame must start with type, timestamp: {frame}"
    assert is_ts(frame["timestamp"]), f"bad timestamp: {frame}"
    t = frame["type"]
    assert t in WS_FRAME_KEYS, f"unknown server frame type: {frame}"
    expected = WS_FRAME_KEYS[t]
    if expected is not None:
        assert keys == expected, f"{t} keys {keys} != {expected}: {frame}"
    if t == "error":
        assert keys in (["type", "timestamp", "error", "code"],
                        ["type", "timestamp", "error", "code", "client_msg_id"]), frame
        assert isinstance(frame["error"], str) and frame["error"], frame
        assert frame["code"] in WS_ERROR_CODES, frame
    elif t in ("message.receive", "message.updated", "message.deleted"):
        assert is_uuid(frame["message_id"]) and is_uuid(frame["channel_id"]), frame
        assert frame["user_id"] is None or is_uuid(frame["user_id"]), frame
        assert isinstance(frame["seq"], int) and frame["seq"] >= 1, frame
        assert is_ts(frame["created_at"]), frame
        assert frame["message_type"] in ("text", "image", "file", "system"), frame
        assert frame["parent_id"] is None or is_uuid(frame["parent_id"]), frame
    elif t == "message.ack":
        assert is_uuid(frame["message_id"]) and is_uuid(frame["channel_id"]), frame
        assert isinstance(frame["seq"], int) and frame["seq"] >= 1, frame
    elif t == "success":
        assert isinstance(frame["message"], str) and isinstance(frame["data"], dict), frame
    elif t == "typing.indicator":
        assert is_uuid(frame["channel_id"]) and is_uuid(frame["user_id"]), frame
        assert isinstance(frame["is_typing"], bool), frame
    elif t == "presence.update":
        assert is_uuid(frame["user_id"]), frame
        assert frame["status"] in ("online", "offline", "away"), frame
    elif t == "channel.unsubscribed":
        assert is_uuid(frame["channel_id"]), frame
        assert frame["reason"] in ("removed", "deleted"), frame


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def check_compact(raw: str) -> None:
    """A server frame is compact JSON (contract.md 0): no whitespace outside strings."""
    outside = _JSON_STRING.sub('""', raw)
    assert not any(ch in outside for ch in " \t\r\n"), f"frame is not compact JSON: {raw[:300]!r}"


def check_msg_frame(frame: dict, msg: dict, type_: str = "message.receive") -> None:
    """A message.* frame carries the same values as the REST Message `msg`."""
    assert frame["type"] == type_, frame
    want = {
        "message_id": msg["id"], "channel_id": msg["channel_id"], "user_id": msg["user_id"],
        "username": (msg.get("user") or {}).get("username"), "content": msg["content"],
        "message_type": msg["message_type"], "metadata": msg["metadata"],
        "created_at": msg["created_at"], "seq": msg["seq"], "parent_id": msg["parent_id"],
        "client_msg_id": msg["client_msg_id"],
    }
    got = {k: frame[k] for k in want}
    assert got == want, f"frame {frame}\n!= message {msg}"


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


_OPEN_WS: list["WsConn"] = []


class WsConn:
    """One client socket (websockets 10.4 legacy client) with strict helpers.

    Frames read while looking for another type are kept in `pending` and come
    back first from the next recv(): nothing the server sends is lost, and
    `silence()` fails on anything left over."""

    def __init__(self, ws, label: str):
        self.ws = ws
        self.label = label
        self.pending: collections.deque = collections.deque()
        self.log: list[dict] = []  # every frame received, in order
        _OPEN_WS.append(self)

    # -- sending ----------------------------------------------------------------
    async def send(self, obj: Any) -> None:
        await self.ws.send(obj if isinstance(obj, (str, bytes)) else dumps(obj))

    # -- receiving --------------------------------------------------------------
    def _describe_log(self, n: int = 6) -> str:
        return "\n".join(dumps(f)[:300] for f in self.log[-n:]) or "(nothing)"

    async def _read(self, timeout: float) -> dict:
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.label}: no frame within {timeout:.2f} s; last frames:\n"
                                 f"{self._describe_log()}") from None
        except ws_exc.ConnectionClosed:
            raise AssertionError(f"{self.label}: connection closed (code {self.ws.close_code} "
                                 f"{self.ws.close_reason!r}) while waiting for a frame; last "
                                 f"frames:\n{self._describe_log()}") from None
        assert isinstance(raw, str), f"{self.label}: binary frame from the server: {raw[:100]!r}"
        try:
            frame = json.loads(raw)
        except ValueError:
            raise AssertionError(f"{self.label}: server frame is not JSON: {raw[:300]!r}") from None
        check_ws_frame(frame)
        check_compact(raw)
        self.log.append(frame)
        return frame

    async def recv(self, timeout: float = WS_TIMEOUT) -> dict:
        if self.pending:
            return self.pending.popleft()
        return await self._read(timeout)

    @staticmethod
    def _matches(frame: dict, type_: str, match: dict) -> bool:
        return frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items())

    async def recv_type(self, type_: str, timeout: float = WS_TIMEOUT, **match) -> dict:
        """The first frame of `type_` (with fields equal to `match`); frames
        before it stay pending."""
        for i, f in enumerate(self.pending):
            if self._matches(f, type_, match):
                del self.pending[i]
                return f
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.label}: no {type_} {match or ''} within {timeout} s;"
                                     f" last frames:\n{self._describe_log()}")
            try:
                f = await self._read(left)
            except AssertionError:
                if self.ws.closed:
                    raise
                raise AssertionError(f"{self.label}: no {type_} {match or ''} within {timeout} s;"
                                     f" last frames:\n{self._describe_log()}") from None
            if self._matches(f, type_, match):
                return f
            self.pending.append(f)

    async def expect(self, type_: str, timeout: float = WS_TIMEOUT, **match) -> dict:
        """The very next frame must be `type_` (with fields equal to `match`)."""
        f = await self.recv(timeout)
        assert self._matches(f, type_, match), \
            f"{self.label}: expected {type_} {match or ''}, got {f}"
        return f

    async def expect_error(self, code: str, timeout: float = WS_TIMEOUT,
                           client_msg_id: Any = _MISSING) -> dict:
        f = await self.expect("error", timeout)
        assert f["code"] == code, f"{self.label}: expected error {code}, got {f}"
        if client_msg_id is _MISSING:
            assert "client_msg_id" not in f, f
        else:
            assert f.get("client_msg_id") == client_msg_id, f
        return f

    async def silence(self, seconds: float = WS_SILENCE, what: str = "") -> None:
        """Nothing pending and no frame arrives within `seconds`."""
        assert not self.pending, f"{self.label}: unexpected frames {what}: {list(self.pending)}"
        try:
            raw = await asyncio.wait_for(self.ws.recv(), seconds)
        except asyncio.TimeoutError:
            return
        except ws_exc.ConnectionClosed:
            raise AssertionError(f"{self.label}: closed ({self.ws.close_code}) while expecting "
                                 f"silence {what}") from None
        raise AssertionError(f"{self.label}: unexpected frame {what}: {raw[:400]}")

    async def collect(self, seconds: float) -> list[dict]:
        """Every frame arriving within `seconds` (after the pending ones)."""
        out = list(self.pending)
        self.pending.clear()
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except asyncio.TimeoutError:
                return out
            frame = json.loads(raw)
            check_ws_frame(frame)
            self.log.append(frame)
            out.append(frame)

    async def closed(self, timeout: float = WS_TIMEOUT) -> int | None:
        """Read until the server closes; returns the close code it sent (None
        when the TCP connection ended without a close frame). Frames read on
        the way are appended to `pending`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.label}: still open after {timeout} s; last frames:\n"
                                     f"{self._describe_log()}")
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except asyncio.TimeoutError:
                continue
            except ws_exc.ConnectionClosed as exc:
                rcvd = getattr(exc, "rcvd", None)
                return rcvd.code if rcvd is not None else None
            if isinstance(raw, str):
                try:
                    frame = json.loads(raw)
                except ValueError:
                    frame = {"raw": raw}
                self.log.append(frame)
                self.pending.append(frame)

    # -- requests ---------------------------------------------------------------
    async def ping(self, timeout: float = WS_TIMEOUT) -> dict:
        await self.send({"type": "ping"})
        return await self.expect("pong", timeout)

    async def subscribe(self, channel_id: str, timeout: float = WS_TIMEOUT, **extra) -> dict:
        """channel.subscribe; the next frame must be its success."""
        await self.send({"type": "channel.subscribe", "channel_id": channel_id, **extra})
        f = await self.expect("success", timeout)
        assert f["message"] == f"Subscribed to channel {channel_id}", f
        assert f["data"].get("channel_id") == channel_id, f
        if "since_seq" in extra:
            assert list(f["data"]) == ["channel_id", "recovered"], f
            assert isinstance(f["data"]["recovered"], bool), f
        else:
            assert f["data"] == {"channel_id": channel_id}, f
        return f

    async def unsubscribe(self, channel_id: str, timeout: float = WS_TIMEOUT) -> dict:
        await self.send({"type": "channel.unsubscribe", "channel_id": channel_id})
        f = await self.expect("success", timeout)
        assert f["message"] == f"Unsubscribed from channel {channel_id}", f
        assert f["data"] == {"channel_id": channel_id}, f
        return f

    async def send_message(self, channel_id: str, content: str, client_msg_id: str | None = None,
                           **extra) -> None:
        body = {"type": "message.send", "channel_id": channel_id, "content": content, **extra}
        if client_msg_id is not None:
            body["client_msg_id"] = client_msg_id
        await self.send(body)

    async def send_acked(self, channel_id: str, content: str, timeout: float = WS_TIMEOUT,
                         **extra) -> dict:
        """message.send with a fresh client_msg_id; returns its message.ack (other
        frames, such as the sender's own message.receive, stay pending)."""
        cid = extra.pop("client_msg_id", None) or str(uuid.uuid4())
        await self.send_message(channel_id, content, client_msg_id=cid, **extra)
        ack = await self.recv_type("message.ack", timeout, client_msg_id=cid)
        assert ack["channel_id"] == channel_id, ack
        return ack

    # -- closing ----------------------------------------------------------------
    async def close(self, code: int = 1000) -> None:
        if self in _OPEN_WS:
            _OPEN_WS.remove(self)
        try:
            await asyncio.wait_for(self.ws.close(code), 3)
        except Exception:  # noqa: BLE001 - best effort
            self.abort()

    def abort(self) -> None:
        if self in _OPEN_WS:
            _OPEN_WS.remove(self)
        transport = getattr(self.ws, "transport", None)
        if transport is not None:
            transport.abort()

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code


def arun(coro, timeout: float = 120.0):
    """Run one test coroutine on a fresh event loop; every WsConn left open is
    closed afterwards."""
    async def main():
        try:
            return await asyncio.wait_for(coro, timeout)
        finally:
            for c in list(_OPEN_WS):
                await c.close()
            _OPEN_WS.clear()
    return asyncio.run(main())


class RoleServer(SignalinkServer):
    """`signalink serve|gateway|api` with every role's port set to a free one
    (API, WS, analytics, notifier: later roles also start under `serve`)."""

    def __init__(self, name: str, workdir: Path, command: str = "serve",
                 extra_env: dict[str, str] | None = None):
        super().__init__(name, workdir, extra_env)
        self.command = command
        ws_port, analytics_port, notifier_port = [p for p in free_ports(4) if p != self.port][:3]
        self.ws_port = ws_port
        self.analytics_port = analytics_port
        env = {k: v for k, v in self.env.items()
               if k not in _ROLE_SCRUBBED and not k.startswith(_ROLE_SCRUBBED_PREFIXES)}
        if os.environ.get("SIGNALINK_TEST_REDIS_URL"):
            env["REDIS_URL"] = os.environ["SIGNALINK_TEST_REDIS_URL"]
        env.update({
            "WS_PORT": str(ws_port),
            "ANALYTICS_PORT": str(analytics_port),
            "NOTIFIER_PORT": str(notifier_port),
            "REVOCATION_POLL_MS": "300",
        })
        env.update(extra_env or {})
        self.env = env

    @property
    def gw_url(self) -> str:
        return f"http://127.0.0.1:{self.ws_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/ws"

    @property
    def analytics_url(self) -> str:
        return f"http://127.0.0.1:{self.analytics_port}"

    def ready_urls(self) -> list[str]:
        if self.command == "gateway":
            return [self.gw_url + "/health"]
        if self.command == "analytics":
            return [self.analytics_url + "/health"]
        if self.command == "serve":
            # Analytics answers `/` once it listens; its /health also needs the
            # event log, which some tests start the server without.
            return [self.base_url + "/health", self.gw_url + "/health", self.analytics_url + "/"]
        return [self.base_url + "/health"]


@dataclass
class WsEnv:
    """A gateway to connect to (`server`), REST on `api` (the same process for
    `serve`), and plain HTTP to the gateway port (`gw`)."""
    server: RoleServer
    api: Api
    gw: httpx.Client = field(init=False)

    def __post_init__(self):
        if websockets is None:
            pytest.fail("python3-websockets is not installed (apt-get install python3-websockets)",
                        pytrace=False)
        self.gw = make_client(self.server.gw_url)

    def close(self):
        self.gw.close()

    def url(self, token: str | UserCtx | None = None, ticket: str | None = None,
            raw_query: str | None = None) -> str:
        if isinstance(token, UserCtx):
            token = token.token
        if raw_query is not None:
            return f"{self.server.ws_url}?{raw_query}"
        params = {}
        if token is not None:
            params["token"] = token
        if ticket is not None:
            params["ticket"] = ticket
        query = urllib.parse.urlencode(params)
        return self.server.ws_url + (f"?{query}" if query else "")

    async def open(self, who: UserCtx | str | None = None, *, ticket: str | None = None,
                   headers: dict | None = None, label: str | None = None, url: str | None = None,
                   **kw) -> WsConn:
        """Connect (token in the query by default); fails the test on refusal."""
        token = who.token if isinstance(who, UserCtx) else who
        target = url or self.url(token=token if headers is None else None, ticket=ticket)
        opts = dict(open_timeout=WS_TIMEOUT, close_timeout=2, ping_interval=None,
                    max_size=2 ** 22)
        opts.update(kw)
        try:
            ws = await websockets.connect(target, extra_headers=headers or {}, **opts)
        except ws_exc.InvalidStatusCode as exc:
            raise AssertionError(f"upgrade refused: HTTP {exc.status_code} for {target}") from None
        name = label or (who.username if isinstance(who, UserCtx) else "ws")
        return WsConn(ws, name)

    async def refused_status(self, url: str, headers: dict | None = None) -> int:
        """The HTTP status of a refused upgrade (101 when it was accepted)."""
        try:
            ws = await websockets.connect(url, extra_headers=headers or {},
                                          open_timeout=WS_TIMEOUT, close_timeout=1,
                                          ping_interval=None)
        except ws_exc.InvalidStatusCode as exc:
            return exc.status_code
        await ws.close()
        return 101

    def stats(self) -> dict:
        return expect(self.gw.get("/stats"), 200).json()

    def health(self) -> httpx.Response:
        return self.gw.get("/health")


class RawWs:
    """A blocking WebSocket client on a plain socket: for clients that must not
    read (slow consumers) or must not answer pings (dead peers)."""

    def __init__(self, url: str, rcvbuf: int | None = None, timeout: float = WS_TIMEOUT,
                 headers: dict | None = None):
        parsed = urllib.parse.urlsplit(url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect(), so the window is small from the start
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((parsed.hostname, parsed.port))
        key = base64.b64encode(os.urandom(16)).decode()
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        lines = [f"GET {path} HTTP/1.1", f"Host: {parsed.hostname}:{parsed.port}",
                 "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"connection closed during the handshake: {buf!r}")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ", 2)[1])
        if self.status == 101:
            accept = base64.b64encode(hashlib.sha1(
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            assert accept.encode() in head, f"bad Sec-WebSocket-Accept: {head!r}"
        self.pings = 0

    def send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_json(self, obj: Any) -> None:
        self.send_frame(0x1, dumps(obj).encode())

    def send_close(self, code: int = 1000) -> None:
        self.send_frame(0x8, struct.pack("!H", code))

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self, timeout: float = WS_TIMEOUT) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame (the server does not fragment
        JSON frames in practice; continuation frames are returned as is)."""
        self.sock.settimeout(timeout)
        b0, b1 = self._exact(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._exact(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._exact(8))
        if b1 & 0x80:
            self._exact(4)  # a server must not mask, but do not choke on it
        return b0 & 0x0F, self._exact(n)

    def read_json(self, timeout: float = WS_TIMEOUT) -> dict:
        """The next text frame as a checked JSON object (pings are counted, not answered)."""
        deadline = time.monotonic() + timeout
        while True:
            op, payload = self.read_frame(max(0.01, deadline - time.monotonic()))
            if op == 0x9:
                self.pings += 1
                continue
            assert op == 0x1, f"expected a text frame, got opcode {op}: {payload[:100]!r}"
            frame = json.loads(payload)
            check_ws_frame(frame)
            return frame

    def read_until_close(self, timeout: float = 30.0) -> tuple[int | None, list[dict]]:
        """Read everything up to the server's close frame: (close code or None
        when the connection ended without one, text frames read on the way)."""
        deadline = time.monotonic() + timeout
        frames: list[dict] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no close frame within {timeout} s ({len(frames)} frames)")
            try:
                op, payload = self.read_frame(left)
            except (EOFError, ConnectionResetError):
                return None, frames
            except socket.timeout:
                continue
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return code, frames
            if op == 0x9:
                self.pings += 1
            elif op == 0x1:
                frames.append(json.loads(payload))

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture(scope="session")
def _ws_session(tmp_path_factory) -> WsEnv:
    srv = RoleServer("ws", tmp_path_factory.mktemp("signalink-ws"), "serve")
    srv.start()
    env = WsEnv(srv, Api(srv))
    yield env
    env.api.close()
    env.close()
    srv.stop()


@pytest.fixture
def ws_env(_ws_session) -> WsEnv:
    """The shared `signalink serve` (API + gateway, in-process broker) for the
    WebSocket tests; restarted if an earlier test crashed it."""
    srv = _ws_session.server
    if not srv.alive():
        srv.restart()
    yield _ws_session
    if not srv.alive():
        pytest.fail(f"signalink (ws) died during this test: exit {srv.proc.returncode}\n"
                    f"{srv.log_tail()}", pytrace=False)


@pytest.fixture
def start_role(tmp_path_factory):
    """Factory: start(name, command="serve"|"gateway"|"api", **env) -> RoleServer,
    stopped (SIGTERM) after the test."""
    started: list[RoleServer] = []

    def _start(name: str, command: str = "serve", **env: Any) -> RoleServer:
        srv = RoleServer(name, tmp_path_factory.mktemp(f"signalink-{name}"), command,
                         {k: str(v) for k, v in env.items()})
        started.append(srv)
        srv.start()
        return srv

    yield _start
    for srv in reversed(started):
        srv.stop()


@pytest.fixture
def start_ws_server(start_role):
    """Factory: a `signalink serve` with a custom configuration -> WsEnv."""
    envs: list[WsEnv] = []

    def _start(name: str = "wsx", **env: Any) -> WsEnv:
        srv = start_role(name, "serve", **env)
        w = WsEnv(srv, Api(srv))
        envs.append(w)
        return w

    yield _start
    for w in envs:
        w.api.close()
        w.close()


# =========================================================================== #
# Event pipeline (contract.md section 4): the outbox relay, the database log,
# Kafka, and `signalink events tail` (a consumer group printing each event's
# payload on its own stdout line). Used by test_events_db.py and
# test_events_kafka.py.
# =========================================================================== #

import shutil  # noqa: E402
import sqlite3  # noqa: E402

TOPIC_MESSAGES = "signalink.messages"
TOPIC_NOTIFICATIONS = "signalink.notifications"
TOPIC_ANALYTICS = "signalink.analytics"
TOPIC_PRESENCE = "signalink.presence"
DLQ_SUFFIX = ".dlq"

# Envelope first, in this order; message events then carry these fields, in
# this order (contract.md 4; extra fields may follow).
EVENT_ENVELOPE_KEYS = ["event_id", "event_type", "timestamp", "user_id"]
MESSAGE_EVENT_KEYS = ["message_id", "channel_id", "content", "message_type", "metadata",
                      "is_edited", "is_deleted", "seq", "parent_id", "mentions"]
MESSAGE_EVENT_TYPES = ("message.created", "message.edited", "message.deleted")
TAIL_STOP_TIMEOUT = 20.0


def check_event(ev: Any) -> None:
    """An event payload: a JSON object starting with the envelope, message
    events with every message field (contract.md 4)."""
    assert isinstance(ev, dict), f"event is not a JSON object: {ev!r}"
    assert list(ev)[:4] == EVENT_ENVELOPE_KEYS, f"envelope keys {list(ev)[:4]}: {ev}"
    assert is_uuid(ev["event_id"]), ev
    assert isinstance(ev["event_type"], str) and ev["event_type"], ev
    assert is_ts(ev["timestamp"]), ev
    assert ev["user_id"] is None or is_uuid(ev["user_id"]), ev
    if ev["event_type"] in MESSAGE_EVENT_TYPES:
        rest = list(ev)[4:]
        present = [k for k in rest if k in MESSAGE_EVENT_KEYS]
        assert present == MESSAGE_EVENT_KEYS, \
            f"message event fields {present} != {MESSAGE_EVENT_KEYS}: {ev}"
        assert is_uuid(ev["message_id"]) and is_uuid(ev["channel_id"]), ev
        assert isinstance(ev["seq"], int) and not isinstance(ev["seq"], bool) and ev["seq"] >= 1, ev
        assert isinstance(ev["is_edited"], bool) and isinstance(ev["is_deleted"], bool), ev
        assert isinstance(ev["mentions"], list), ev
        assert ev["parent_id"] is None or is_uuid(ev["parent_id"]), ev


def read_json_lines(path: Path) -> list[dict]:
    """The JSON objects of a log file, one per line (other lines are skipped;
    a last line still being written is ignored)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    out = []
    for line in text.split("\n")[:-1]:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def server_logs(srv: SignalinkServer) -> list[dict]:
    """Every JSON log line the server wrote to stderr, across its restarts."""
    paths = sorted(srv.workdir.glob("signalink.stderr*.log"), key=lambda p: p.stat().st_mtime)
    out: list[dict] = []
    for p in paths:
        out.extend(read_json_lines(p))
    return out


def log_msgs(lines: list[dict]) -> list[str]:
    return [str(o.get("msg", "")) for o in lines]


# -- databases ----------------------------------------------------------------

def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> Path:
    """The file a `sqlite:///abs/path` (or `sqlite:////abs/path`) URL names."""
    assert url.startswith("sqlite:///"), url
    return Path("/" + url[len("sqlite:///"):].lstrip("/"))


def _psql(url: str, sql: str, timeout: float = 30) -> str:
    psql = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    r = subprocess.run([psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-F", "\x1f",
                        "-P", "null=\x01", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"psql failed ({r.returncode}) on {sql!r}: {r.stderr}"
    return r.stdout


def sql_rows(database_url: str, sql: str) -> list[tuple]:
    """Run one statement on the server's database (SQLite file or PostgreSQL
    through the psql client) and return its rows as tuples of str (None for
    NULL). Keep statements simple: the same text runs on both."""
    if is_postgres_url(database_url):
        out = _psql(database_url, sql)
        rows = []
        for line in out.split("\n"):
            if not line:
                continue
            rows.append(tuple(None if v == "\x01" else v for v in line.split("\x1f")))
        return rows
    con = sqlite3.connect(str(sqlite_path(database_url)), timeout=15, isolation_level=None)
    try:
        cur = con.execute(sql)
        return [tuple(None if v is None else str(v) for v in row) for row in cur.fetchall()]
    finally:
        con.close()


def sql_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_db_counter = itertools.count(1)


@pytest.fixture
def fresh_db_env() -> dict[str, str]:
    """Environment for a server with a database of its own: {} on SQLite (every
    server already gets a fresh file), a new PostgreSQL database (created on the
    server of SIGNALINK_TEST_DATABASE_URL, dropped afterwards) otherwise. Event
    tests need this: every process on one database competes for the relay
    lease, and a consumer group reads the whole log."""
    base = os.environ.get("SIGNALINK_TEST_DATABASE_URL", "")
    if not is_postgres_url(base):
        yield {}
        return
    name = f"sl_ev_{RUN_ID}_{os.getpid()}_{next(_db_counter)}"
    _psql(base, f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(base)
    url = urllib.parse.urlunsplit(parts._replace(path="/" + name))
    try:
        yield {"DATABASE_URL": url}
    finally:
        try:
            _psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except AssertionError as exc:  # noqa: PERF203 - best effort
            warnings.warn(f"could not drop {name}: {exc}")


# -- the consumer tool ----------------------------------------------------------

class EventTail:
    """`signalink events tail --group G [--topic T ...]` with the server's
    configuration (same database or Kafka); stdout and stderr in files."""

    _n = itertools.count(1)

    def __init__(self, srv: SignalinkServer, group: str, topics: Iterable[str] = (),
                 extra_env: dict[str, str] | None = None):
        self.group = group
        self.topics = list(topics)
        self.name = f"tail {group}"
        self.workdir = srv.workdir / f"tail-{next(self._n)}-{group}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.workdir / "tail.stdout.log"
        self.stderr_path = self.workdir / "tail.stderr.log"
        env = dict(srv.env)
        env["LOG_LEVEL"] = "info"
        env.update(extra_env or {})
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.exit_code: int | None = None
        self.killed = False

    def start(self) -> "EventTail":
        binary = signalink_bin()
        cmd = [str(binary), "events", "tail", "--group", self.group]
        for t in self.topics:
            cmd += ["--topic", t]
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.workdir,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _LIVE_SERVERS.append(self)  # its logs are attached to failure reports
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after TAIL_STOP_TIMEOUT; returns the exit status."""
        return terminate(self, TAIL_STOP_TIMEOUT)

    def clean_exit(self) -> bool:
        return not self.killed and self.exit_code in (0, -signal.SIGTERM)

    # -- output -----------------------------------------------------------------
    def lines(self) -> list[str]:
        """Complete stdout lines so far."""
        try:
            text = self.stdout_path.read_text(errors="replace")
        except OSError:
            return []
        return text.split("\n")[:-1]

    def events(self) -> list[Any]:
        """Every printed line parsed as JSON (a line that is not JSON comes back
        as the string itself, for the assertions to show)."""
        out = []
        for line in self.lines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append(line)
        return out

    def logs(self) -> list[dict]:
        return read_json_lines(self.stderr_path)

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float,
                 what: str = "events") -> list[Any]:
        """Poll the printed events until predicate(events) holds; fails with the
        tail's output otherwise (or when the tail exits)."""
        deadline = time.monotonic() + timeout
        while True:
            evs = self.events()
            if predicate(evs):
                return evs
            if not self.alive():
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}) before {what}\n"
                                     f"{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name}: {what} not printed within {timeout} s "
                                     f"({len(evs)} events printed)\n{self.log_tail()}")
            time.sleep(0.1)

    def wait_for_ids(self, event_ids: Iterable[str], timeout: float) -> list[Any]:
        want = set(event_ids)
        return self.wait_for(
            lambda evs: want <= {e.get("event_id") for e in evs if isinstance(e, dict)},
            timeout, f"{len(want)} expected event ids")

    def log_tail(self, lines: int = 60) -> str:
        return tail_of((self.stderr_path, self.stdout_path), lines)


@pytest.fixture
def start_tail():
    """Factory: start_tail(server, group=None, topics=(), **env) -> EventTail
    (group defaults to a fresh one); every tail is stopped after the test."""
    tails: list[EventTail] = []

    def _start(srv: SignalinkServer, group: str | None = None, topics: Iterable[str] = (),
               **env: Any) -> EventTail:
        t = EventTail(srv, group or unique("grp"), topics, {k: str(v) for k, v in env.items()})
        tails.append(t)
        return t.start()

    yield _start
    for t in tails:
        t.stop()


# -- a write scenario touching every message write path -------------------------

@dataclass
class ExpectedMessageEvent:
    event_type: str
    message_id: str
    channel_id: str
    user_id: str            # the actor: author, editor or deleter
    seq: int
    content: str | None     # None: not checked (message.deleted)
    message_type: str = "text"
    metadata: Any = None
    is_edited: bool = False
    is_deleted: bool = False
    parent_id: str | None = None
    mentions: list | None = None  # None: not checked

    def check(self, ev: dict) -> None:
        check_event(ev)
        want = {"event_type": self.event_type, "message_id": self.message_id,
                "channel_id": self.channel_id, "user_id": self.user_id, "seq": self.seq,
                "message_type": self.message_type, "metadata": self.metadata,
                "is_edited": self.is_edited, "is_deleted": self.is_deleted,
                "parent_id": self.parent_id}
        if self.content is not None:
            want["content"] = self.content
        if self.mentions is not None:
            want["mentions"] = self.mentions
        got = {k: ev.get(k) for k in want}
        assert got == want, f"event {ev}\n!= expected {want}"


@dataclass
class WriteScenario:
    """What `run_write_scenario` did, and the events it must produce."""
    alice: UserCtx
    bob: UserCtx
    channels: dict[str, dict]                      # "A", "B" -> Channel
    messages: dict[str, list[ExpectedMessageEvent]]  # channel id -> its message events, in order
    others: list[dict] = field(default_factory=list)  # expected non-message events (subset of fields)

    @property
    def channel_ids(self) -> set[str]:
        return set(self.messages)

    def all_message_events(self) -> list[ExpectedMessageEvent]:
        return [e for evs in self.messages.values() for e in evs]


async def run_write_scenario(env: WsEnv, sent_after: Callable[[], None] | None = None) -> WriteScenario:
    """Two users register, alice creates channels A and B and adds bob to A;
    messages over REST (one with metadata and a mention, one reply) and over
    the WebSocket (message.send), alice edits her first message and deletes
    bob's (as the channel owner)."""
    api = env.api
    alice = api.new_user("eva")
    bob = api.new_user("evb")
    ch_a = api.create_channel(alice, name=unique("evA"))
    ch_b = api.create_channel(alice, name=unique("evB"))
    a, b = ch_a["id"], ch_b["id"]
    api.add_member(a, alice, bob)

    m1 = api.send(alice, a, f"hello @{bob.username}", metadata={"k": 1, "s": "v"})
    m2 = api.send(bob, a, "second, from bob")
    m3 = api.send(alice, a, "a reply", parent_id=m1["id"], message_type="text")
    b1 = api.send(alice, b, "in channel B", message_type="system")
    ws_bob = await env.open(bob)
    ack_a = await ws_bob.send_acked(a, "over the websocket")
    ws_alice = await env.open(alice)
    ack_b = await ws_alice.send_acked(b, "websocket in B")
    edited = expect(api.put(f"/api/v1/messages/{m1['id']}", alice,
                            json={"content": "hello, edited"}), 200).json()
    assert edited["is_edited"] is True, edited
    expect(api.delete(f"/api/v1/messages/{m2['id']}", alice), 204)
    await ws_bob.close()
    await ws_alice.close()

    E = ExpectedMessageEvent
    messages = {
        a: [
            E("message.created", m1["id"], a, alice.id, m1["seq"], m1["content"],
              metadata={"k": 1, "s": "v"}, mentions=[bob.username.lower()]),
            E("message.created", m2["id"], a, bob.id, m2["seq"], "second, from bob", mentions=[]),
            E("message.created", m3["id"], a, alice.id, m3["seq"], "a reply",
              parent_id=m1["id"], mentions=[]),
            E("message.created", ack_a["message_id"], a, bob.id, ack_a["seq"], "over the websocket",
              mentions=[]),
            E("message.edited", m1["id"], a, alice.id, m1["seq"], "hello, edited",
              metadata={"k": 1, "s": "v"}, is_edited=True),
            # the deleter (alice, the owner) names the event, not the author (bob)
            E("message.deleted", m2["id"], a, alice.id, m2["seq"], None, is_deleted=True),
        ],
        b: [
            E("message.created", b1["id"], b, alice.id, b1["seq"], "in channel B",
              message_type="system", mentions=[]),
            E("message.created", ack_b["message_id"], b, alice.id, ack_b["seq"], "websocket in B",
              mentions=[]),
        ],
    }
    assert [e.seq for e in messages[a][:4]] == [1, 2, 3, 4], messages[a]
    assert [e.seq for e in messages[b]] == [1, 2], messages[b]
    others = [
        {"event_type": "user.registered", "user_id": alice.id, "username": alice.username},
        {"event_type": "user.registered", "user_id": bob.id, "username": bob.username},
        {"event_type": "channel.created", "user_id": alice.id, "channel_id": a,
         "name": ch_a["name"], "is_private": False},
        {"event_type": "channel.created", "user_id": alice.id, "channel_id": b,
         "name": ch_b["name"], "is_private": False},
        {"event_type": "member.added", "user_id": alice.id, "channel_id": a, "member_id": bob.id},
    ]
    return WriteScenario(alice, bob, {"A": ch_a, "B": ch_b}, messages, others)


def check_message_events_per_channel(scn: WriteScenario, events: list[dict], where: str) -> None:
    """`events` (in log order) are exactly the scenario's message events: per
    channel, the expected events in order, each once."""
    by_channel: dict[str, list[dict]] = {}
    for ev in events:
        by_channel.setdefault(ev.get("channel_id"), []).append(ev)
    assert set(by_channel) == scn.channel_ids, \
        f"{where}: channels {sorted(map(str, by_channel))} != {sorted(scn.channel_ids)}"
    for cid, want in scn.messages.items():
        got = by_channel[cid]
        summary = [(e.get("event_type"), e.get("message_id"), e.get("seq")) for e in got]
        expected = [(w.event_type, w.message_id, w.seq) for w in want]
        assert summary == expected, f"{where}: channel {cid} events\n{summary}\n!= {expected}"
        for w, ev in zip(want, got):
            w.check(ev)
    ids = [ev["event_id"] for ev in events]
    assert len(ids) == len(set(ids)), f"{where}: an event_id appears twice: {ids}"


def check_other_events(scn: WriteScenario, events: list[dict], where: str) -> None:
    """Each expected user/channel/member event appears exactly once, with its values."""
    for want in scn.others:
        found = [e for e in events if all(e.get(k) == v for k, v in want.items())]
        assert len(found) == 1, f"{where}: {want} found {len(found)} times in\n" + \
            "\n".join(dumps(e)[:300] for e in events)
        check_event(found[0])


# -- Kafka (scripts/kafka-up) and kcat --------------------------------------------

def kafka_tools_missing() -> str | None:
    """Why the Kafka tests cannot run here, or None."""
    if shutil.which("java") is None:
        return "java is not installed (scripts/kafka-up needs Java 17)"
    if shutil.which("kcat") is None:
        return "kcat is not installed (apt-get install kcat)"
    return None


class KafkaBroker:
    """A throwaway Kafka from scripts/kafka-up on a free port, with a scratch
    directory of its own."""

    def __init__(self):
        self.port = self._free_port_pair()
        self.scratch = f"/tmp/signalink-e2e-kafka-{RUN_ID}-{self.port}"
        self.env = {"KAFKA_PORT": str(self.port), "KAFKA_CONTROLLER_PORT": str(self.port + 1),
                    "SIGNALINK_SCRATCH": self.scratch}
        self.bootstrap = ""

    @staticmethod
    def _free_port_pair() -> int:
        for _ in range(50):
            p = free_port()
            if p + 1 >= 65536 or p in (59092, 59093):
                continue
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind(("127.0.0.1", p + 1))
            except OSError:
                continue
            return p
        raise AssertionError("no two consecutive free ports for Kafka")

    def _script(self, name: str, extra: dict | None = None, timeout: float = 240) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
        env.update(self.env)
        env.update(extra or {})
        r = subprocess.run([str(REPO_ROOT / "scripts" / name)], env=env, capture_output=True,
                           text=True, timeout=timeout, cwd=REPO_ROOT)
        assert r.returncode == 0, f"scripts/{name} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
        return r.stdout

    def up(self) -> "KafkaBroker":
        out = self._script("kafka-up")
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        assert lines and lines[-1].startswith("KAFKA_BOOTSTRAP_SERVERS="), out
        self.bootstrap = lines[-1].split("=", 1)[1]
        assert self.bootstrap.endswith(f":{self.port}"), (self.bootstrap, self.port)
        return self

    def down(self, keep_data: bool = False) -> None:
        self._script("kafka-down", {"KAFKA_KEEP_DATA": "1" if keep_data else "0"}, timeout=120)

    def consume(self, topic: str, timeout: float = 60) -> list[dict]:
        """Every record of `topic` from the beginning, as kcat's JSON envelopes
        ({"topic","partition","offset","headers":[k,v,...],"key","payload",...}),
        in partition then offset order."""
        r = subprocess.run(["kcat", "-b", self.bootstrap, "-C", "-t", topic, "-o", "beginning",
                            "-e", "-q", "-J"], capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, f"kcat -C -t {topic} failed ({r.returncode}): {r.stderr}"
        recs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        recs.sort(key=lambda x: (x["partition"], x["offset"]))
        return recs

    def consume_until(self, topic: str, predicate: Callable[[list[dict]], bool], timeout: float,
                      what: str = "records") -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                recs, error = self.consume(topic), ""
            except (AssertionError, subprocess.TimeoutExpired) as exc:  # e.g. just restarted
                recs, error = [], str(exc)
            if recs and predicate(recs):
                return recs
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what} not in {topic} within {timeout} s "
                                     f"({len(recs)} records there) {error}")
            time.sleep(0.3)

    def produce(self, topic: str, value: str, key: str | None = None,
                partition: int | None = None, headers: dict | None = None) -> None:
        cmd = ["kcat", "-b", self.bootstrap, "-P", "-t", topic]
        if key is not None:
            cmd += ["-k", key]
        if partition is not None:
            cmd += ["-p", str(partition)]
        for k, v in (headers or {}).items():
            cmd += ["-H", f"{k}={v}"]
        r = subprocess.run(cmd, input=value + "\n", capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"kcat -P -t {topic} failed ({r.returncode}): {r.stderr}"


@pytest.fixture(scope="session")
def kafka():
    """One Kafka for the session (the Kafka event and analytics tests share it;
    each test filters the topics by the ids it created, or uses its own group)."""
    why = kafka_tools_missing()
    if why:
        pytest.skip(why)
    broker = KafkaBroker()
    try:
        broker.up()
        yield broker
    finally:
        broker.down()


def record_headers(rec: dict) -> dict[str, str]:
    """kcat -J headers ([k1, v1, k2, v2, ...]) as a dict (the last value wins)."""
    h = rec.get("headers") or []
    return {h[i]: h[i + 1] for i in range(0, len(h) - 1, 2)}


def record_payload(rec: dict) -> Any:
    try:
        return json.loads(rec["payload"])
    except (TypeError, ValueError):
        return rec["payload"]


# =========================================================================== #
# BEGIN notifications (test_notifications.py): the notifier's HTTP port, a
# webhook receiver and a real SMTP server (Debian's aiosmtpd) in the test
# process, both on loopback. Additions only: nothing above is changed.
# =========================================================================== #

import email  # noqa: E402
import email.policy  # noqa: E402
import http.server  # noqa: E402
import threading  # noqa: E402

# Server frame of the notifier (docs/protocol.md once it lists it): the item is
# the REST notification shape.
WS_FRAME_KEYS["notification.new"] = ["type", "timestamp", "notification"]

NOTIFICATION_KEYS = ["id", "type", "channel_id", "message_id", "actor_id", "text", "count",
                     "is_read", "created_at", "updated_at"]
NOTIFICATION_TYPES = ("dm", "mention", "reply", "channel")
PREFERENCE_KEYS = ["email_notifications", "push_notifications", "mention_notifications",
                   "dm_notifications", "updated_at"]
WEBHOOK_KEYS = ["id", "url", "created_at"]
WEBHOOK_CREATED_KEYS = ["id", "url", "secret", "created_at"]
WEBHOOK_BODY_KEYS = ["event", "delivery_id", "sent_at", "notification", "recipient", "actor",
                     "channel"]
DELIVERY_FAILED_KEYS = ["event_id", "event_type", "timestamp", "user_id", "delivery_id",
                        "notification_id", "channel", "target", "attempts", "error"]
TOPIC_NOTIFICATIONS_DLQ = TOPIC_NOTIFICATIONS + DLQ_SUFFIX


def check_notification(obj: Any) -> None:
    """A notification item of the REST API, the webhook body and the
    notification.new frame."""
    assert isinstance(obj, dict) and list(obj) == NOTIFICATION_KEYS, f"notification keys: {obj}"
    assert is_uuid(obj["id"]) and is_uuid(obj["channel_id"]) and is_uuid(obj["message_id"]), obj
    assert obj["actor_id"] is None or is_uuid(obj["actor_id"]), obj
    assert obj["type"] in NOTIFICATION_TYPES, obj
    assert isinstance(obj["text"], str), obj
    assert isinstance(obj["count"], int) and not isinstance(obj["count"], bool) and obj["count"] >= 1, obj
    assert isinstance(obj["is_read"], bool), obj
    assert is_ts(obj["created_at"]) and is_ts(obj["updated_at"]), obj


def metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of series `name` (Prometheus text) whose labels
    include `labels` (0 when there is none)."""
    want = [f'{k}="{v}"' for k, v in labels.items()]
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if series == name or (series.startswith(name + "{") and all(w in series for w in want)):
            total += float(value)
    return total


class NotifierServer(RoleServer):
    """A RoleServer whose notifier port is known: `signalink notifier` alone,
    or `serve` (every role, the notifier included)."""

    @property
    def notifier_port(self) -> int:
        return int(self.env["NOTIFIER_PORT"])

    @property
    def notifier_url(self) -> str:
        return f"http://127.0.0.1:{self.notifier_port}"

    def ready_urls(self) -> list[str]:
        # `/` once it listens (its /health may also wait for the event log).
        if self.command == "notifier":
            return [self.notifier_url + "/"]
        if self.command == "serve":
            return super().ready_urls() + [self.notifier_url + "/"]
        return super().ready_urls()


@pytest.fixture(scope="module")
def module_db_env() -> dict[str, str]:
    """fresh_db_env for a module-scoped server: {} on SQLite, a database of its
    own on PostgreSQL (a notifier on a shared database would compete with every
    other `serve` of the session for the same consumer group)."""
    base = os.environ.get("SIGNALINK_TEST_DATABASE_URL", "")
    if not is_postgres_url(base):
        yield {}
        return
    name = f"sl_nt_{RUN_ID}_{os.getpid()}_{next(_db_counter)}"
    _psql(base, f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(base)
    try:
        yield {"DATABASE_URL": urllib.parse.urlunsplit(parts._replace(path="/" + name))}
    finally:
        try:
            _psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except AssertionError as exc:  # best effort
            warnings.warn(f"could not drop {name}: {exc}")


def start_notifier_server(tmp_path_factory, name: str, command: str = "serve",
                          **env: Any) -> NotifierServer:
    srv = NotifierServer(name, tmp_path_factory.mktemp(f"signalink-{name}"), command,
                         {k: str(v) for k, v in env.items()})
    srv.start()
    return srv


@pytest.fixture
def start_notify_server(tmp_path_factory):
    """Factory: start(name, command="serve", **env) -> WsEnv on a NotifierServer
    (the API is on the same process for `serve`); stopped after the test."""
    started: list[WsEnv] = []

    def _start(name: str, command: str = "serve", **env: Any) -> WsEnv:
        srv = start_notifier_server(tmp_path_factory, name, command, **env)
        w = WsEnv(srv, Api(srv))
        started.append(w)
        return w

    yield _start
    for w in reversed(started):
        w.api.close()
        w.close()
        w.server.stop()


# -- webhook receiver -------------------------------------------------------------

@dataclass
class WebhookCall:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    received_at: float       # time.monotonic() when the request was read
    answered_at: float | None = None
    status: int | None = None  # what the receiver answered (None: hung up / not yet)

    def json(self) -> Any:
        return json.loads(self.body)

    def signature_ok(self, secret: str) -> bool:
        """X-Signalink-Signature is sha256=<lowercase hex HMAC-SHA256 of the
        exact body bytes, keyed by the webhook's secret>."""
        want = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("x-signalink-signature", ""), want)


class WebhookReceiver:
    """A ThreadingHTTPServer on 127.0.0.1 (ephemeral port) recording every
    request. Each hook path answers per a plan of actions taken in order (an
    int status, or ("hang", seconds) then 200), then `default` (200)."""

    def __init__(self):
        self.calls: list[WebhookCall] = []
        self.plans: dict[str, list[Any]] = {}
        self.defaults: dict[str, Any] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _handle(self):
                call = WebhookCall(self.command, self.path,
                                   {k.lower(): v for k, v in self.headers.items()},
                                   self._body(), time.monotonic())
                action = receiver._record(call)
                status = 200
                if isinstance(action, tuple) and action[0] == "hang":
                    time.sleep(action[1])
                elif isinstance(action, int):
                    status = action
                try:
                    payload = b'{"ok":true}' if status < 300 else b'{"error":"planned failure"}'
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    call.status = status
                except OSError:  # the sender gave up (timeout): nothing to answer
                    pass
                call.answered_at = time.monotonic()

            do_POST = _handle
            do_GET = _handle
            do_PUT = _handle

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False  # hung handlers must not hold up the end of the session

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="webhooks", daemon=True)
        self.thread.start()

    def _record(self, call: WebhookCall) -> Any:
        with self.lock:
            self.calls.append(call)
            plan = self.plans.get(call.path)
            if plan:
                return plan.pop(0)
            return self.defaults.get(call.path, 200)

    def hook(self, *plan: Any, default: Any = 200) -> str:
        """A fresh hook URL answering `plan` then `default`."""
        path = f"/hook/{unique('wh')}"
        with self.lock:
            self.plans[path] = list(plan)
            self.defaults[path] = default
        return f"http://127.0.0.1:{self.port}{path}"

    def calls_to(self, url: str) -> list[WebhookCall]:
        path = urllib.parse.urlsplit(url).path
        with self.lock:
            return [c for c in self.calls if c.path == path]

    def wait_calls(self, url: str, n: int, timeout: float, answered: bool = False) -> list[WebhookCall]:
        """At least n calls to `url` (recorded when read, before the answer;
        answered=True also waits for the first n to have been answered)."""
        def done() -> bool:
            calls = self.calls_to(url)
            return len(calls) >= n and (not answered or all(c.answered_at is not None for c in calls[:n]))
        poll_until(done, timeout, 0.02,
                   lambda: f"{n} webhook call(s) to {url} (got {len(self.calls_to(url))})")
        return self.calls_to(url)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def webhook_receiver() -> WebhookReceiver:
    r = WebhookReceiver()
    yield r
    r.close()


# -- SMTP server ------------------------------------------------------------------

@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: Any  # email.message.EmailMessage (policy default: decoded headers)
    received_at: float

    def parts(self) -> dict[str, str]:
        """content type -> decoded text of each text/* leaf part."""
        out = {}
        for part in self.message.walk():
            if part.get_content_maintype() == "text":
                out[part.get_content_type()] = part.get_content()
        return out


class SmtpSink:
    """A real SMTP server (aiosmtpd's Controller, its own thread and loop) on a
    free loopback port, keeping every message it accepts."""

    def __init__(self):
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            pytest.fail("python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)",
                        pytrace=False)
        self.mails: list[ReceivedMail] = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                raw = envelope.original_content or envelope.content
                if isinstance(raw, str):
                    raw = raw.encode()
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                with sink.lock:
                    sink.mails.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos),
                                                   raw, msg, time.monotonic()))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[ReceivedMail]:
        a = address.lower()
        with self.lock:
            return [m for m in self.mails if a in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, address: str, n: int, timeout: float) -> list[ReceivedMail]:
        poll_until(lambda: len(self.to(address)) >= n, timeout, 0.02,
                   lambda: f"{n} mail(s) to {address} (got {len(self.to(address))})")
        return self.to(address)

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="session")
def smtp_sink() -> SmtpSink:
    s = SmtpSink()
    yield s
    s.close()

# =========================================================================== #
# END notifications
# =========================================================================== #
