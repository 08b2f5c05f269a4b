"""Users, login, sessions and tokens (contract.md section 2: Auth, 2.1, 2.2)."""

import hashlib
import hmac
import json
import secrets
import time
import uuid

import pytest

from conftest import (RUN_ID, TOKEN_KEYS, USER_KEYS, b64url_decode, b64url_encode, check_user,
                      describe, expect, expect_validation_error, forge_jwt, is_ts, is_uuid,
                      jwt_parts, poll_until, unique)

BAD_CREDENTIALS = "Could not validate credentials"


# --------------------------------------------------------------------------- #
# Registration
# --------------------------------------------------------------------------- #

def test_register_returns_user(api):
    username = unique("reg")
    body = {"username": username, "email": f"{username}@example.com",
            "password": "correct horse", "full_name": "Régine Ünicode ✓"}
    r = expect(api.post("/api/v1/users/register", json=body), 201)
    user = r.json()
    check_user(user, username)
    assert user["email"] == body["email"]
    assert user["full_name"] == body["full_name"]
    assert user["avatar_url"] is None
    assert "password" not in r.text.lower()
    assert r.text.count('"id":"') == 1


def test_register_without_full_name(api):
    u = api.register("reg", full_name=None)
    assert u.user["full_name"] is None


def test_register_duplicates(api):
    u = api.register("dup")
    r = api.post("/api/v1/users/register", json={
        "username": u.username, "email": f"other_{u.username}@example.com", "password": "password1"})
    expect(r, 400, "Username already registered")
    r = api.post("/api/v1/users/register", json={
        "username": unique("dup"), "email": u.email, "password": "password1"})
    expect(r, 400, "Email already registered")


@pytest.mark.parametrize("field,value,err_type", [
    ("username", "ab", "string_too_short"),
    ("username", "u" * 51, "string_too_long"),
    ("password", "1234567", "string_too_short"),
    ("password", "p" * 101, "string_too_long"),
    ("full_name", "f" * 256, "string_too_long"),
    ("email", "not-an-email", None),
    ("email", "a@", None),
    ("username", None, "missing"),
    ("password", None, "missing"),
    ("email", None, "missing"),
])
def test_register_validation(api, field, value, err_type):
    username = unique("val")
    body = {"username": username, "email": f"{username}@example.com", "password": "password1",
            "full_name": "x"}
    if value is None:
        del body[field]
    else:
        body[field] = value
    err = expect_validation_error(api.post("/api/v1/users/register", json=body),
                                  type_=err_type, loc=["body", field])
    if value is not None:
        assert err["input"] == value


def test_register_length_boundaries_accepted(api):
    long_name = (unique("b") + "_" + "x" * 50)[:50]
    u = api.register(username=long_name, password="p" * 100, full_name="f" * 255)
    assert u.user["username"] == long_name and u.user["full_name"] == "f" * 255
    api.login(u)
    u8 = api.register("b", password="12345678")
    api.login(u8)
    # A 3-character username (random, retried: the database may be shared).
    for _ in range(30):
        name = secrets.token_hex(2)[:3]
        r = api.post("/api/v1/users/register", json={
            "username": name, "email": f"{name}.{RUN_ID}.{secrets.token_hex(3)}@example.com",
            "password": "password1"})
        if r.status_code == 400:
            continue
        expect(r, 201)
        assert r.json()["username"] == name
        break
    else:
        pytest.fail("could not find a free 3-character username")


# --------------------------------------------------------------------------- #
# Login
# --------------------------------------------------------------------------- #

def test_login_by_username_and_email(api, server):
    u = api.register("login")
    jtis = set()
    for name in (u.username, u.email):
        r = expect(api.post("/api/v1/users/login", json={"username": name, "password": u.password}),
                   200)
        tok = r.json()
        assert list(tok) == TOKEN_KEYS, tok
        assert tok["token_type"] == "bearer"
        assert tok["expires_in"] == 1800
        header, claims, sig = jwt_parts(tok["access_token"])
        assert header["alg"] == "HS256", header
        assert claims["sub"] == u.id and claims["username"] == u.username, claims
        for k in ("exp", "iat", "jti"):
            assert k in claims, claims
        assert claims["exp"] - claims["iat"] == 1800, claims
        assert abs(claims["iat"] - time.time()) < 120, claims
        # Signed with SECRET_KEY (used as the string's bytes, like the original).
        signing_input = tok["access_token"].rsplit(".", 1)[0].encode()
        expected = hmac.new(server.secret_key.encode(), signing_input, hashlib.sha256).digest()
        assert b64url_decode(sig) == expected
        jtis.add(claims["jti"])
        me = expect(api.get("/api/v1/users/me", tok["access_token"]), 200).json()
        assert me["id"] == u.id
    assert len(jtis) == 2, "each login is its own session (jti)"


def test_login_wrong_password_and_unknown_user(api):
    u = api.register("login")
    r = api.post("/api/v1/users/login", json={"username": u.username, "password": "wrong-password"})
    expect(r, 401, "Incorrect username or password")
    r = api.post("/api/v1/users/login",
                 json={"username": unique("ghost"), "password": "whatever1"})
    expect(r, 401, "Incorrect username or password")
    # The right password still works afterwards (one failure does not lock).
    api.login(u)


def test_login_validation(api):
    expect_validation_error(api.post("/api/v1/users/login", json={"username": "someone"}),
                            type_="missing", loc=["body", "password"])
    expect_validation_error(api.post("/api/v1/users/login", json={"password": "password1"}),
                            type_="missing", loc=["body", "username"])


def test_login_throttled_per_username(start_server):
    _, xapi = start_server("throttle", LOGIN_MAX_FAILURES="3")
    victim = xapi.register("thr")
    bystander = xapi.register("thr")
    bad = {"username": victim.username, "password": "wrong-password"}
    for i in range(3):
        expect(xapi.post("/api/v1/users/login", json=bad), 401, "Incorrect username or password")
    r = expect(xapi.post("/api/v1/users/login", json=bad), 429)
    assert isinstance(r.json().get("detail"), str), describe(r)
    # Per username: another user of the same address is not affected.
    xapi.login(bystander)


def test_login_throttled_per_address(start_server):
    _, xapi = start_server("throttle-addr", LOGIN_MAX_FAILURES="100",
                           LOGIN_MAX_FAILURES_PER_ADDRESS="4")
    users = [xapi.register("thra") for _ in range(5)]
    for u in users[:4]:
        r = xapi.post("/api/v1/users/login", json={"username": u.username, "password": "wrong-pw-1"})
        expect(r, 401, "Incorrect username or password")
    r = xapi.post("/api/v1/users/login", json={"username": users[4].username, "password": "wrong-pw-1"})
    expect(r, 429)


def test_token_ttl_follows_config(start_server):
    _, xapi = start_server("ttl", ACCESS_TOKEN_EXPIRE_MINUTES="1")
    u = xapi.register("ttl")
    r = expect(xapi.post("/api/v1/users/login",
                         json={"username": u.username, "password": u.password}), 200)
    assert r.json()["expires_in"] == 60
    _, claims, _ = jwt_parts(r.json()["access_token"])
    assert claims["exp"] - claims["iat"] == 60


# --------------------------------------------------------------------------- #
# Me, lookup, search
# --------------------------------------------------------------------------- #

def test_me_get_and_update(api):
    u = api.new_user("me")
    me = expect(api.get("/api/v1/users/me", u), 200).json()
    check_user(me, u.username)
    assert me["id"] == u.id and me["email"] == u.email and me["full_name"] == "E2E User"

    r = expect(api.put("/api/v1/users/me", u,
                       json={"full_name": "New Name", "avatar_url": "https://img.example.com/a.png"}),
               200)
    upd = r.json()
    check_user(upd, u.username)
    assert upd["full_name"] == "New Name" and upd["avatar_url"] == "https://img.example.com/a.png"

    # Partial update keeps the other field.
    upd = expect(api.put("/api/v1/users/me", u, json={"full_name": "Newer"}), 200).json()
    assert upd["full_name"] == "Newer" and upd["avatar_url"] == "https://img.example.com/a.png"
    me = expect(api.get("/api/v1/users/me", u), 200).json()
    assert me["full_name"] == "Newer" and me["avatar_url"] == "https://img.example.com/a.png"

    # Boundaries: full_name <= 255, avatar_url <= 500.
    expect(api.put("/api/v1/users/me", u, json={"full_name": "f" * 255, "avatar_url": "a" * 500}),
           200)
    expect_validation_error(api.put("/api/v1/users/me", u, json={"full_name": "f" * 256}),
                            type_="string_too_long", loc=["body", "full_name"])
    expect_validation_error(api.put("/api/v1/users/me", u, json={"avatar_url": "a" * 501}),
                            type_="string_too_long", loc=["body", "avatar_url"])
    me = expect(api.get("/api/v1/users/me", u), 200).json()
    assert me["full_name"] == "f" * 255, "a refused update changed nothing"


def test_get_user_by_username(api):
    a = api.new_user("look")
    b = api.register("look")
    r = expect(api.get(f"/api/v1/users/{b.username}", a), 200)
    check_user(r.json(), b.username)
    assert r.json()["id"] == b.id
    expect(api.get(f"/api/v1/users/{unique('nobody')}", a), 404, "User not found")
    expect(api.get(f"/api/v1/users/{b.username}"), 401, "Not authenticated")


def _search(api, who, **params):
    return expect(api.get("/api/v1/users/", who, params=params), 200).json()


def test_search_users(api):
    me = api.new_user("srch")
    m = f"s{RUN_ID}{secrets.token_hex(2)}"
    a = api.register(username=f"{m}a_b")
    b = api.register(username=f"{m}axb")
    c = api.register(username=f"{m}zzz")

    found = _search(api, me, query=m.upper())
    for u in found:
        check_user(u)
    assert {u["username"] for u in found} == {a.username, b.username, c.username}

    # '_' and '%' are literal characters, not LIKE wildcards.
    assert [u["username"] for u in _search(api, me, query=f"{m}a_b")] == [a.username]
    assert _search(api, me, query=f"{m}%") == []
    assert _search(api, me, query=f"{m}a%b") == []
    assert _search(api, me, query=f"{m}_") == []

    # Substring of the email (only the email contains '@').
    assert [u["username"] for u in _search(api, me, query=f"{m}ZZZ@EXAMPLE")] == [c.username]

    # Stable order, and skip/limit page through it.
    first = [u["id"] for u in _search(api, me, query=m)]
    assert [u["id"] for u in _search(api, me, query=m)] == first
    page1 = [u["id"] for u in _search(api, me, query=m, skip=0, limit=2)]
    page2 = [u["id"] for u in _search(api, me, query=m, skip=2, limit=2)]
    assert page1 == first[:2] and page2 == first[2:]

    expect(api.get("/api/v1/users/", params={"query": m}), 401, "Not authenticated")


def test_search_limit_clamped_to_100(api):
    me = api.new_user("clamp")
    m = f"c{RUN_ID}{secrets.token_hex(2)}"
    names = {api.register(username=f"{m}_{i}", full_name=None).username for i in range(101)}
    got = _search(api, me, query=m, limit=1000)
    assert len(got) == 100
    rest = _search(api, me, query=m, skip=100, limit=100)
    assert len(rest) == 1
    assert {u["username"] for u in got + rest} == names
    assert len(_search(api, me, query=m, limit=100)) == 100


# --------------------------------------------------------------------------- #
# Logout, tickets
# --------------------------------------------------------------------------- #

def test_logout_revokes_only_that_session(api):
    u = api.new_user("logout")
    other_session = api.login(u)
    expect(api.get("/api/v1/users/me", u), 200)
    r = expect(api.post("/api/v1/users/logout", u), 204)
    assert r.content == b""

    def revoked():
        resp = api.get("/api/v1/users/me", u)
        if resp.status_code == 200:
            return False
        expect(resp, 401, BAD_CREDENTIALS)
        return True

    poll_until(revoked, timeout=5.5, interval=0.1, what="revoked token refused")
    expect(api.get("/api/v1/users/me", other_session), 200)
    # A fresh login works again.
    expect(api.get("/api/v1/users/me", api.login(u)), 200)


def test_logout_requires_auth(api):
    expect(api.post("/api/v1/users/logout"), 401, "Not authenticated")


def test_ws_ticket(api):
    u = api.new_user("tkt")
    r = expect(api.post("/api/v1/users/ws-ticket", u), 201)
    body = r.json()
    assert list(body) == ["ticket", "expires_in"], body
    assert isinstance(body["ticket"], str) and len(body["ticket"]) >= 16
    assert body["expires_in"] == 30
    other = expect(api.post("/api/v1/users/ws-ticket", u), 201).json()
    assert other["ticket"] != body["ticket"]
    expect(api.post("/api/v1/users/ws-ticket"), 401, "Not authenticated")


# --------------------------------------------------------------------------- #
# Token checks
# --------------------------------------------------------------------------- #

def test_missing_or_non_bearer_header(api):
    r = expect(api.get("/api/v1/users/me"), 401, "Not authenticated")
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer"), r.headers
    u = api.new_user("hdr")
    for value in (f"Basic {b64url_encode(b'user:pass')}", f"Token {u.token}", u.token):
        r = api.get("/api/v1/users/me", headers={"Authorization": value})
        expect(r, 401, "Not authenticated")


@pytest.fixture
def session_user(api):
    """A logged-in user and the claims of its real token."""
    u = api.new_user("jwt")
    _, claims, _ = jwt_parts(u.token)
    return u, claims


def test_resigned_real_claims_are_accepted(api, server, session_user):
    """Control for the forging tests below: our HS256 signing matches the server's."""
    u, claims = session_user
    tok = forge_jwt(dict(claims), server.secret_key)
    expect(api.get("/api/v1/users/me", tok), 200)


def _tamper_signature(token: str) -> str:
    head, payload, sig = token.split(".")
    i = len(sig) // 2
    sig = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]
    return ".".join((head, payload, sig))


def _tamper_payload(token: str, **changes) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims.update(changes)
    return ".".join((head, b64url_encode(json.dumps(claims, separators=(",", ":")).encode()), sig))


@pytest.mark.parametrize("case", [
    "garbage", "two_parts", "tampered_signature", "tampered_payload", "alg_none", "alg_hs512",
    "wrong_secret", "expired", "unknown_user", "sub_not_uuid", "exp_not_number", "empty_signature",
])
def test_bad_tokens(api, server, session_user, case):
    u, claims = session_user
    now = int(time.time())
    key = server.secret_key
    token = {
        "garbage": lambda: "garbage",
        "two_parts": lambda: ".".join(u.token.split(".")[:2]),
        "tampered_signature": lambda: _tamper_signature(u.token),
        "tampered_payload": lambda: _tamper_payload(u.token, username="admin"),
        "alg_none": lambda: forge_jwt(claims, None, alg="none"),
        "alg_hs512": lambda: forge_jwt(claims, key, alg="HS512"),
        "wrong_secret": lambda: forge_jwt(claims, secrets.token_hex(32)),
        "expired": lambda: forge_jwt({**claims, "iat": now - 3600, "exp": now - 120}, key),
        "unknown_user": lambda: forge_jwt({**claims, "sub": str(uuid.uuid4()), "username": "ghost"},
                                          key),
        "sub_not_uuid": lambda: forge_jwt({**claims, "sub": "not-a-uuid"}, key),
        "exp_not_number": lambda: forge_jwt({**claims, "exp": "tomorrow"}, key),
        "empty_signature": lambda: u.token.rsplit(".", 1)[0] + ".",
    }[case]()
    assert token != u.token
    expect(api.get("/api/v1/users/me", token), 401, BAD_CREDENTIALS)
    # The real token is unaffected.
    expect(api.get("/api/v1/users/me", u), 200)


def test_lowercase_bearer_scheme_accepted(api):
    u = api.new_user("hdr")
    expect(api.get("/api/v1/users/me", headers={"Authorization": f"bearer {u.token}"}), 200)
