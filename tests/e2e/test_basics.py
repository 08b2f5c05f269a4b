"""Operational surface: root, health, request ids, redirects, 404/405, docs,
OpenAPI, metrics, CORS (contract.md sections 0, 1, 2.2, 6)."""

import re
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import describe, expect


def test_root_shape(api):
    r = expect(api.get("/"), 200)
    body = r.json()
    assert list(body) == ["name", "version", "environment", "status", "docs", "health"], body
    assert "Signalink" in body["name"]
    assert body["environment"] == "development"
    assert body["status"] == "operational"
    assert body["docs"] == "/docs" and body["health"] == "/health"
    assert isinstance(body["version"], str) and body["version"]
    assert r.headers["content-type"].startswith("application/json")
    # Compact JSON: no space after ':' or ','.
    assert ": " not in r.text and ", " not in r.text, r.text


def test_health(api):
    r = expect(api.get("/health"), 200)
    body = r.json()
    assert list(body)[:2] == ["status", "environment"], body
    assert body["status"] == "healthy"
    assert body["environment"] == "development"


def test_request_id_generated_and_unique(api, server):
    a = api.get("/health").headers.get("x-request-id")
    b = api.get("/health").headers.get("x-request-id")
    assert a and b and a != b


def test_request_id_on_every_kind_of_response(api):
    user = api.new_user("rid")
    responses = [
        api.get("/"),
        api.get("/health"),
        api.post("/api/v1/channels/", user, json={"name": f"rid-{uuid.uuid4().hex[:10]}"}),  # 201
        api.post("/api/v1/users/ws-ticket", user),                                             # 201
        api.get("/api/v1/channels", user),                                                    # 307
        api.get("/api/v1/users/me"),                                                          # 401
        api.get("/api/v1/channels/" + str(uuid.uuid4()), user),                                # 404
        api.get("/no/such/route"),                                                            # 404
        api.request("PATCH", "/api/v1/users/me", user),                                        # 405
        api.post("/api/v1/channels/", user, json={"name": "x"}),                               # 422
        api.get("/metrics"),
        api.post("/api/v1/users/logout", user),                                               # 204
    ]
    statuses = {r.status_code for r in responses}
    assert {200, 201, 204, 307, 401, 404, 405, 422} <= statuses, statuses
    for r in responses:
        assert r.headers.get("x-request-id"), f"no X-Request-ID: {describe(r)}"


@pytest.mark.parametrize("path", ["/health", "/no/such/route", "/api/v1/users/me"])
def test_request_id_echoed(api, path):
    rid = "e2e-" + uuid.uuid4().hex
    r = api.get(path, headers={"X-Request-ID": rid})
    assert r.headers.get("x-request-id") == rid, describe(r)


def _location_path(resp: httpx.Response) -> str:
    loc = resp.headers.get("location")
    assert loc, f"307 without Location: {describe(resp)}"
    return urlsplit(loc).path


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path,target", [
    ("/api/v1/channels", "/api/v1/channels/"),
    ("/api/v1/messages", "/api/v1/messages/"),
    ("/api/v1/users", "/api/v1/users/"),
])
def test_collection_without_slash_redirects(api, method, path, target):
    user = api.new_user("redir")
    r = api.request(method, path, user)
    expect(r, 307)
    assert _location_path(r) == target


def test_non_collection_with_slash_redirects(api):
    user = api.new_user("redir")
    ch = api.create_channel(user)
    cases = [
        ("/api/v1/users/me/", "/api/v1/users/me"),
        (f"/api/v1/channels/{ch['id']}/", f"/api/v1/channels/{ch['id']}"),
        (f"/api/v1/channels/{ch['id']}/members/", f"/api/v1/channels/{ch['id']}/members"),
        ("/api/v1/users/login/", "/api/v1/users/login"),
    ]
    for path, target in cases:
        method = "POST" if path.endswith("login/") else "GET"
        r = api.request(method, path, user)
        expect(r, 307)
        assert _location_path(r) == target, describe(r)


def test_redirect_target_works(api):
    user = api.new_user("redir")
    r = expect(api.get("/api/v1/channels", user), 307)
    followed = api.get(_location_path(r), user)
    expect(followed, 200)
    assert isinstance(followed.json(), list)


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v2/channels/",
                                  "/api/v1/channels/00000000-0000-0000-0000-000000000000/nope"])
def test_unknown_route_404(api, path):
    expect(api.get(path), 404, "Not Found")


@pytest.mark.parametrize("method,path", [
    ("PATCH", "/api/v1/users/me"),
    ("DELETE", "/api/v1/users/me"),
    ("GET", "/api/v1/messages/"),
    ("DELETE", "/health"),
    ("POST", "/"),
])
def test_wrong_method_405(api, method, path):
    user = api.new_user("m405")
    expect(api.request(method, path, user), 405, "Method Not Allowed")


@pytest.mark.parametrize("path,marker", [("/docs", "swagger"), ("/redoc", "redoc")])
def test_docs_pages(api, path, marker):
    r = expect(api.get(path), 200)
    assert r.headers["content-type"].startswith("text/html"), r.headers
    assert "<html" in r.text.lower()
    assert marker in r.text.lower()


def test_openapi(api):
    r = expect(api.get("/openapi.json"), 200)
    doc = r.json()
    assert str(doc["openapi"]).startswith("3.1"), doc.get("openapi")
    assert isinstance(doc["info"]["title"], str)
    paths = doc["paths"]
    for p in ["/api/v1/messages/", "/api/v1/channels/", "/api/v1/users/register",
              "/api/v1/users/login", "/api/v1/users/me"]:
        assert p in paths, (p, sorted(paths))
    assert "post" in paths["/api/v1/messages/"]
    assert any(p.startswith("/api/v1/channels/{") for p in paths), sorted(paths)
    assert any(p.startswith("/api/v1/messages/channels/{") for p in paths), sorted(paths)


_PROM_SAMPLE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+[-+]?([0-9.eE+-]+|NaN|\+Inf|-Inf)(\s+-?\d+)?$')


def test_metrics_prometheus_text(api):
    api.get("/health")
    r = expect(api.get("/metrics"), 200)
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    lines = [ln for ln in r.text.splitlines() if ln.strip()]
    assert any(ln.startswith("# TYPE ") for ln in lines), r.text[:500]
    samples = [ln for ln in lines if not ln.startswith("#")]
    assert samples, r.text[:500]
    for ln in samples:
        assert _PROM_SAMPLE.match(ln), f"not a Prometheus sample line: {ln!r}"


def test_compact_json_everywhere(api):
    user = api.new_user("cmp")
    ch = api.create_channel(user)
    api.send(user, ch["id"], "hi")
    for r in (api.get("/api/v1/users/me", user), api.get(f"/api/v1/channels/{ch['id']}", user),
              api.get(f"/api/v1/messages/channels/{ch['id']}", user)):
        expect(r, 200)
        assert '": ' not in r.text and '", "' not in r.text, r.text[:300]


def test_cors_preflight_allowed_origin(start_server):
    _, capi = start_server("cors", CORS_ORIGINS='["http://example.test"]')
    r = capi.request("OPTIONS", "/api/v1/channels/", headers={
        "Origin": "http://example.test",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    })
    expect(r, (200, 204))
    assert r.headers.get("access-control-allow-origin") in ("http://example.test", "*"), r.headers
    methods = r.headers.get("access-control-allow-methods", "")
    assert "POST" in methods or methods.strip() == "*", r.headers
    allowed_headers = r.headers.get("access-control-allow-headers", "").lower()
    assert "authorization" in allowed_headers or allowed_headers.strip() == "*", r.headers

    # A simple request from the allowed origin carries the header too.
    r = capi.get("/health", headers={"Origin": "http://example.test"})
    expect(r, 200)
    assert r.headers.get("access-control-allow-origin") in ("http://example.test", "*")

    # An origin not in the list is not allowed.
    r = capi.request("OPTIONS", "/api/v1/channels/", headers={
        "Origin": "http://evil.test", "Access-Control-Request-Method": "POST"})
    assert r.status_code < 500, describe(r)
    assert r.headers.get("access-control-allow-origin") not in ("http://evil.test", "*"), r.headers


def test_sigterm_stops_cleanly(start_server):
    srv, xapi = start_server("shutdown")
    user = xapi.new_user("bye")
    ch = xapi.create_channel(user)
    xapi.send(user, ch["id"], "last words")
    srv.stop()
    assert srv.clean_exit(), (f"exit {srv.exit_code}, needed SIGKILL={srv.killed}\n"
                              f"{srv.log_tail()}")


def test_new_ids_are_time_ordered_uuidv7(api):
    """contract.md 0: new ids should be time-ordered (UUIDv7)."""
    user = api.new_user("v7")
    ch = api.create_channel(user)
    msgs = [api.send(user, ch["id"], f"m{i}") for i in range(5)]
    for id_ in [user.id, ch["id"]] + [m["id"] for m in msgs]:
        assert uuid.UUID(id_).version == 7, id_
    # The 48-bit millisecond timestamps never go backwards.
    stamps = [uuid.UUID(m["id"]).int >> 80 for m in msgs]
    assert stamps == sorted(stamps), [m["id"] for m in msgs]
