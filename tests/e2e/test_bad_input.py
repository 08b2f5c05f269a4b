"""Bad input: every case gets its 4xx (never a 500), and the server keeps
answering /health afterwards (contract.md section 0)."""

import json
import socket
import time
import uuid

import httpx
import pytest

from conftest import (describe, expect, expect_validation_error, forge_jwt,
                      jwt_parts, make_client, poll_until, unique)

BAD_CREDENTIALS = "Could not validate credentials"


@pytest.fixture(autouse=True)
def _still_healthy(api):
    yield
    r = api.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "healthy", describe(r)


@pytest.fixture(scope="module")
def ctx(api):
    """A user with a public channel holding one message."""
    user = api.new_user("bad")
    ch = api.create_channel(user)
    msg = api.send(user, ch["id"], "hello")
    return {"user": user, "cid": ch["id"], "mid": msg["id"]}


def _raw(api, method, path, token, body: bytes, content_type="application/json"):
    return api.request(method, path, token, content=body, headers={"Content-Type": content_type})


def _body_endpoints(ctx):
    cid, mid = ctx["cid"], ctx["mid"]
    return [
        ("POST", "/api/v1/users/register"),
        ("POST", "/api/v1/users/login"),
        ("PUT", "/api/v1/users/me"),
        ("POST", "/api/v1/channels/"),
        ("PUT", f"/api/v1/channels/{cid}"),
        ("POST", f"/api/v1/channels/{cid}/members"),
        ("PUT", f"/api/v1/channels/{cid}/read"),
        ("POST", "/api/v1/messages/"),
        ("PUT", f"/api/v1/messages/{mid}"),
    ]


# --------------------------------------------------------------------------- #
# Bodies that are not JSON objects
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("raw", [b'{"name": ', b"{not json}", b'{"a":1,}', b"", b"nul", b"\xff\xfe{}"])
def test_malformed_json(api, ctx, raw):
    for method, path in _body_endpoints(ctx):
        r = _raw(api, method, path, ctx["user"].token, raw)
        if raw == b"":
            # An empty body is a missing body (FastAPI: type "missing", loc ["body"]).
            err = expect_validation_error(r)
            assert err["loc"][0] == "body", describe(r)
            continue
        err = expect_validation_error(r, type_="json_invalid")
        assert err["loc"][0] == "body", describe(r)


@pytest.mark.parametrize("raw", [b"[]", b'[{"name":"x"}]', b'"a string"', b"42", b"true"])
def test_body_not_an_object(api, ctx, raw):
    for method, path in _body_endpoints(ctx):
        r = _raw(api, method, path, ctx["user"].token, raw)
        err = expect_validation_error(r)
        # contract.md 0 names json_invalid; FastAPI itself says model_attributes_type.
        assert err["type"] in ("json_invalid", "model_attributes_type"), describe(r)
        assert err["loc"][0] == "body", describe(r)


def test_null_body(api, ctx):
    r = _raw(api, "POST", "/api/v1/channels/", ctx["user"].token, b"null")
    assert expect_validation_error(r)["loc"][0] == "body"


# --------------------------------------------------------------------------- #
# Field validation
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("path_kind,body,loc,err_type", [
    ("channels", {"name": 123}, ["body", "name"], "string_type"),
    ("channels", {"name": ["a", "b"]}, ["body", "name"], "string_type"),
    ("channels", {"name": None}, ["body", "name"], None),
    ("channels", {"name": unique("okname"), "is_private": "maybe"}, ["body", "is_private"],
     "bool_parsing"),
    ("channels", {"name": unique("okname"), "description": 5}, ["body", "description"],
     "string_type"),
    ("messages", {"content": 5}, ["body", "content"], "string_type"),
    ("messages", {"content": None}, ["body", "content"], None),
    ("messages", {"content": "x", "channel_id": 7}, ["body", "channel_id"], None),
    ("messages", {"content": "x", "channel_id": "not-a-uuid"}, ["body", "channel_id"], "uuid_parsing"),
    ("messages", {"content": "x", "parent_id": "nope"}, ["body", "parent_id"], "uuid_parsing"),
    ("messages", {"content": "x", "client_msg_id": 12}, ["body", "client_msg_id"], None),
    ("messages", {"content": "x", "message_type": "video"}, ["body", "message_type"], None),
    ("messages", {"content": "x", "message_type": 1}, ["body", "message_type"], None),
    ("messages", {"content": "x", "metadata": "str"}, ["body", "metadata"], None),
    ("messages", {"content": "x", "metadata": [1]}, ["body", "metadata"], None),
    ("messages", {"content": "   "}, ["body", "content"], None),
    ("messages", {"content": ""}, ["body", "content"], "string_too_short"),
    ("messages", {"content": "x" * 10001}, ["body", "content"], "string_too_long"),
    ("members", {"user_id": "nope"}, ["body", "user_id"], "uuid_parsing"),
    ("members", {"role": "member"}, ["body", "user_id"], "missing"),
    ("members", {"user_id": None, "role": "superuser"}, ["body", "role"], None),
    ("members", {"user_id": None, "role": 3}, ["body", "role"], None),
    ("read", {"last_read_seq": "abc"}, ["body", "last_read_seq"], None),
    ("read", {"last_read_seq": 1.5}, ["body", "last_read_seq"], None),
    ("read", {}, ["body", "last_read_seq"], "missing"),
    ("register", {"username": 123, "email": "a@example.com", "password": "password1"},
     ["body", "username"], "string_type"),
    ("register", {"username": "abc", "email": "a@example.com"}, ["body", "password"], "missing"),
    ("me", {"full_name": 12}, ["body", "full_name"], "string_type"),
])
def test_field_validation(api, ctx, path_kind, body, loc, err_type):
    user, cid = ctx["user"], ctx["cid"]
    body = dict(body)
    if path_kind == "messages":
        body.setdefault("channel_id", cid)
        method, path = "POST", "/api/v1/messages/"
    elif path_kind == "members":
        if body.get("user_id", 0) is None:
            body["user_id"] = str(uuid.uuid4())
        method, path = "POST", f"/api/v1/channels/{cid}/members"
    elif path_kind == "read":
        method, path = "PUT", f"/api/v1/channels/{cid}/read"
    elif path_kind == "register":
        method, path = "POST", "/api/v1/users/register"
    elif path_kind == "me":
        method, path = "PUT", "/api/v1/users/me"
    else:
        method, path = "POST", "/api/v1/channels/"
    r = api.request(method, path, user, json=body)
    err = expect_validation_error(r, type_=err_type, loc=loc)
    if err_type not in (None, "missing"):
        assert err["input"] == body[loc[1]], describe(r)


def test_every_bad_field_is_reported(api):
    r = api.post("/api/v1/users/register", json={"username": "ab", "email": "x@example.com",
                                                 "password": "short"})
    errs = expect_validation_error(r, type_="string_too_short", loc=["body", "username"])
    assert errs
    locs = [e["loc"] for e in r.json()["detail"]]
    assert ["body", "password"] in locs, r.json()


def test_string_too_long_has_fastapi_context(api, ctx):
    r = api.post("/api/v1/channels/", ctx["user"], json={"name": "n" * 101})
    err = expect_validation_error(r, type_="string_too_long", loc=["body", "name"])
    assert err["input"] == "n" * 101
    assert err.get("ctx") == {"max_length": 100}, err


# --------------------------------------------------------------------------- #
# Path and query parameters
# --------------------------------------------------------------------------- #

BAD_IDS = ["nope", "12345", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
           "0192f0c1-7a2b-7c3d-8e4f-0123456789abX"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_non_uuid_path_ids(api, ctx, bad):
    user, cid, mid = ctx["user"], ctx["cid"], ctx["mid"]
    calls = [
        ("GET", f"/api/v1/channels/{bad}", None),
        ("PUT", f"/api/v1/channels/{bad}", {"description": "x"}),
        ("DELETE", f"/api/v1/channels/{bad}", None),
        ("GET", f"/api/v1/channels/{bad}/members", None),
        ("POST", f"/api/v1/channels/{bad}/members", {"user_id": user.id}),
        ("DELETE", f"/api/v1/channels/{bad}/members/{user.id}", None),
        ("DELETE", f"/api/v1/channels/{cid}/members/{bad}", None),
        ("POST", f"/api/v1/channels/{bad}/join", None),
        ("PUT", f"/api/v1/channels/{bad}/read", {"last_read_seq": 1}),
        ("GET", f"/api/v1/messages/channels/{bad}", None),
        ("GET", f"/api/v1/messages/{bad}", None),
        ("GET", f"/api/v1/messages/{bad}/replies", None),
        ("PUT", f"/api/v1/messages/{bad}", {"content": "x"}),
        ("DELETE", f"/api/v1/messages/{bad}", None),
    ]
    for method, path, body in calls:
        r = api.request(method, path, user, **({"json": body} if body is not None else {}))
        err = expect_validation_error(r, type_="uuid_parsing")
        assert err["loc"][0] == "path" and len(err["loc"]) == 2, describe(r)
        assert err["loc"][1] in ("channel_id", "message_id", "user_id"), describe(r)
        assert err["input"] == bad, describe(r)
    # Nothing was touched.
    assert api.get_channel(cid, user)["member_count"] == 1
    assert expect(api.get(f"/api/v1/messages/{mid}", user), 200).json()["content"] == "hello"


def _list_endpoints(ctx):
    return ["/api/v1/channels/", f"/api/v1/messages/channels/{ctx['cid']}", "/api/v1/users/"]


@pytest.mark.parametrize("param,value,err_type", [
    ("skip", "-1", "greater_than_equal"),
    ("limit", "-1", None),
    ("limit", "abc", "int_parsing"),
    ("skip", "1.5", "int_parsing"),
    ("limit", "", None),
])
def test_bad_paging_params(api, ctx, param, value, err_type):
    for path in _list_endpoints(ctx):
        r = api.get(path, ctx["user"], params={param: value})
        err = expect_validation_error(r, type_=err_type, loc=["query", param])
        assert str(err["input"]) == value, describe(r)


@pytest.mark.parametrize("param", ["before_seq", "after_seq"])
def test_bad_cursor_params(api, ctx, param):
    r = api.get(f"/api/v1/messages/channels/{ctx['cid']}", ctx["user"], params={param: "x"})
    expect_validation_error(r, type_="int_parsing", loc=["query", param])


def test_huge_limit_is_clamped(api, ctx):
    for path in _list_endpoints(ctx):
        r = expect(api.get(path, ctx["user"], params={"limit": 1000000}), 200)
        assert isinstance(r.json(), list) and len(r.json()) <= 100
    # Past 64 bits: clamped or refused, never a 500.
    for path in _list_endpoints(ctx):
        r = api.get(path, ctx["user"], params={"limit": "99999999999999999999999"})
        expect(r, (200, 422))
        r = api.get(path, ctx["user"], params={"skip": "99999999999999999999999"})
        expect(r, (200, 422))


# --------------------------------------------------------------------------- #
# Odd but valid JSON
# --------------------------------------------------------------------------- #

def test_nul_and_lone_surrogate_content(api, ctx):
    user, cid = ctx["user"], ctx["cid"]
    # NUL cannot be stored by PostgreSQL: refused on every backend alike.
    r = api.post("/api/v1/messages/", user, json={"channel_id": cid, "content": "a\u0000b"})
    expect_validation_error(r, type_="value_error", loc=["body", "content"])
    r = api.post("/api/v1/messages/", user, json={"channel_id": cid, "content": "ok", "metadata": {"k": ["\u0000"]}})
    expect_validation_error(r, type_="value_error", loc=["body", "metadata"])
    raw = ('{"channel_id":"%s","content":"x\\ud800y"}' % cid).encode()
    r = _raw(api, "POST", "/api/v1/messages/", user.token, raw)
    expect(r, (201, 422))
    json.loads(r.text)  # whatever it answers is valid JSON


def test_deeply_nested_metadata(api, ctx):
    user, cid = ctx["user"], ctx["cid"]
    for depth in (1000, 100000):
        raw = ('{"channel_id":"%s","content":"deep","metadata":{"a":%s%s}}'
               % (cid, "[" * depth, "]" * depth)).encode()
        r = _raw(api, "POST", "/api/v1/messages/", user.token, raw)
        expect(r, (201, 400, 413, 422))


def test_huge_numbers(api, ctx):
    user, cid = ctx["user"], ctx["cid"]
    for num in ("99999999999999999999999", "1e400", "-5"):
        raw = ('{"last_read_seq":%s}' % num).encode()
        r = _raw(api, "PUT", f"/api/v1/channels/{cid}/read", user.token, raw)
        expect(r, (204, 422))
    assert api.get_channel(cid, user)["unread_count"] >= 0


# --------------------------------------------------------------------------- #
# Size limits
# --------------------------------------------------------------------------- #

TWO_MB = 2 * 1024 * 1024


def _big_json(size: int, cid: str) -> bytes:
    head = ('{"channel_id":"%s","content":"' % cid).encode()
    return head + b"x" * (size - len(head) - 2) + b'"}'


def test_two_megabyte_body_gets_413(api, ctx, server):
    body = _big_json(TWO_MB, ctx["cid"])
    with make_client(server.base_url) as client:
        r = client.post("/api/v1/messages/", content=body,
                        headers={**ctx["user"].auth, "Content-Type": "application/json"})
    expect(r, 413)
    assert isinstance(r.json().get("detail"), str), describe(r)
    assert r.headers.get("x-request-id")


def test_two_megabyte_chunked_body_gets_413(api, ctx, server):
    body = _big_json(TWO_MB, ctx["cid"])
    chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
    with make_client(server.base_url) as client:
        r = client.post("/api/v1/messages/", content=chunks,
                        headers={**ctx["user"].auth, "Content-Type": "application/json"})
    expect(r, 413)


def test_413_is_sent_before_the_body(api, ctx, server):
    """The Content-Length alone earns the 413, before a byte of body is sent."""
    head = ("POST /api/v1/messages/ HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n"
            f"Authorization: Bearer {ctx['user'].token}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {TWO_MB}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(head)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    assert data.startswith(b"HTTP/1.1 413"), f"no 413 within 5 s of the headers: {data[:200]!r}"


def test_body_limit_is_configurable(start_server):
    _, xapi = start_server("bodylimit", MAX_BODY_BYTES="4096")
    user = xapi.new_user("lim")
    ch = xapi.create_channel(user)
    ok = _big_json(4000, ch["id"])
    expect(xapi.post("/api/v1/messages/", user, content=ok,
                     headers={"Content-Type": "application/json"}), 201)
    too_big = _big_json(5000, ch["id"])
    expect(xapi.post("/api/v1/messages/", user, content=too_big,
                     headers={"Content-Type": "application/json"}), 413)
    expect(xapi.get("/health"), 200)


# --------------------------------------------------------------------------- #
# Broken HTTP
# --------------------------------------------------------------------------- #

def _raw_exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        data = b""
        try:
            while len(data) < 65536:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    break
        except (socket.timeout, ConnectionResetError):
            pass
    return data


@pytest.mark.parametrize("payload", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /api/v1/channels/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
])
def test_broken_http_is_refused_not_crashed(server, payload):
    data = _raw_exchange(server.port, payload)
    # Either a 4xx answer (505 for an unknown version) or a closed connection; never a 500.
    if data:
        assert data.startswith(b"HTTP/1.") and (data[9:10] == b"4" or data[9:12] == b"505"), \
            data[:200]


@pytest.mark.parametrize("what", ["url", "header"])
def test_oversized_url_and_headers(server, ctx, what):
    """A 4xx (404/414/431) or a closed connection; never a 5xx."""
    auth = f"Authorization: Bearer {ctx['user'].token}\r\n"
    if what == "url":
        req = f"GET /api/v1/users/{'a' * 20000} HTTP/1.1\r\nHost: x\r\n{auth}\r\n"
    else:
        req = f"GET /api/v1/users/me HTTP/1.1\r\nHost: x\r\n{auth}X-Big: {'b' * 65536}\r\n\r\n"
    data = _raw_exchange(server.port, req.encode())
    if data:
        assert data.startswith(b"HTTP/1.") and data[9:10] == b"4", data[:200]


# --------------------------------------------------------------------------- #
# Bad tokens
# --------------------------------------------------------------------------- #

def test_expired_tampered_and_revoked_tokens(api, server):
    user = api.new_user("tok")
    _, claims, _ = jwt_parts(user.token)
    now = int(time.time())
    expired = forge_jwt({**claims, "iat": now - 7200, "exp": now - 3600}, server.secret_key)
    head, payload, sig = user.token.split(".")
    tampered = ".".join((head, payload, sig[::-1]))
    for tok in (expired, tampered, "a.b.c", "....", "Bearer"):
        r = api.get("/api/v1/channels/", headers={"Authorization": f"Bearer {tok}"})
        expect(r, 401, BAD_CREDENTIALS)

    expect(api.post("/api/v1/users/logout", user), 204)

    def refused():
        return api.get("/api/v1/channels/", user).status_code == 401

    poll_until(refused, timeout=5.5, interval=0.1, what="revoked token refused")
    expect(api.get("/api/v1/channels/", user), 401, BAD_CREDENTIALS)
    expect(api.post("/api/v1/messages/", user, json={"channel_id": str(uuid.uuid4()),
                                                     "content": "x"}), 401, BAD_CREDENTIALS)
