"""How the API role serves the web client under /app/ (web/README.md).

The page is revalidated on every load (no-cache + ETag), the content-hashed
assets it names are cached for a year, text goes gzipped to clients that ask,
everything under /app carries a strict Content-Security-Policy, and
/app/config.json tells the page where the gateway is. Needs the release
build's web assets (share/signalink/app), which the ASan build does not make.
"""

from __future__ import annotations

import gzip
import re
import subprocess

import pytest

from conftest import expect, signalink_bin

ASSET = re.compile(r'(?:src|href)="/app/(assets/[^"]+)"')


def app_dir():
    return signalink_bin().resolve().parent / "share" / "signalink" / "app"


pytestmark = pytest.mark.skipif(not (app_dir() / "index.html").is_file(),
                                reason="no built web app next to the binary (a build with SL_WEB_ASSETS=OFF)")


def plain(api, path, **headers):
    """GET without compression, so bodies compare with the files."""
    return api.get(path, headers={"Accept-Encoding": "identity", **headers})


def test_app_redirects_to_the_page_which_is_revalidated_and_under_a_strict_csp(api):
    r = api.get("/app", follow_redirects=False)
    assert r.status_code in (307, 308) and r.headers["location"] == "/app/", r.headers
    page = expect(plain(api, "/app/"), 200)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert page.text == (app_dir() / "index.html").read_text()
    csp = page.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
        assert directive in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    # The page's own markup obeys that policy: no inline script or style.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), page.text
    assert "<style" not in page.text and " style=" not in page.text

    again = plain(api, "/app/", **{"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304 and again.content == b"", again.headers
    assert again.headers["etag"] == page.headers["etag"]


def test_every_asset_the_page_names_is_hashed_cached_for_a_year_and_gzipped(api):
    page = expect(plain(api, "/app/"), 200).text
    assets = ASSET.findall(page)
    assert any(a.endswith(".js") for a in assets), page
    assert any(a.endswith(".css") for a in assets), page
    for name in assets:
        assert re.search(r"-[A-Za-z0-9_-]{8,}\.(js|css)$", name), f"{name} has no content hash"
        r = expect(plain(api, "/app/" + name), 200)
        assert r.content == (app_dir() / name).read_bytes()
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["content-type"] in ("application/javascript", "text/css"), r.headers
        assert "content-security-policy" in r.headers
        packed = api.get("/app/" + name, headers={"Accept-Encoding": "gzip"})
        assert packed.headers.get("content-encoding") == "gzip", packed.headers
        assert int(packed.headers["content-length"]) < len(r.content)
        assert packed.content == r.content  # httpx inflates it
        assert packed.headers["vary"] == "Accept-Encoding"
        cached = plain(api, "/app/" + name, **{"If-None-Match": r.headers["etag"]})
        assert cached.status_code == 304, cached.headers


def test_the_apps_javascript_is_under_150_kb_gzipped():
    scripts = sorted((app_dir() / "assets").glob("*.js"))
    assert scripts
    total = sum(len(gzip.compress(p.read_bytes(), 9)) for p in scripts)
    assert total < 150 * 1024, f"{total} bytes gzipped: {[p.name for p in scripts]}"


def test_unknown_files_and_paths_out_of_the_app_are_404(api):
    for path in ("/app/assets/nope-12345678.js", "/app/nope.html", "/app/assets/..%2F..%2Fopenapi.json",
                 "/app/..%2Fopenapi.json", "/app/assets/%2E%2E/index.html"):
        r = api.get(path, follow_redirects=False)
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
        assert r.json() == {"detail": "Not Found"}
    r = api.post("/app/config.json", json={})
    assert r.status_code == 405, r.text


def test_config_tells_the_page_where_the_gateway_is(api, start_server, tmp_path):
    cfg = expect(api.get("/app/config.json"), 200)
    assert cfg.headers["cache-control"] == "no-cache"
    body = cfg.json()
    assert body["gateway_url"] is None
    assert isinstance(body["gateway_port"], int) and 0 < body["gateway_port"] < 65536

    _, other = start_server("gwurl", WS_PORT="18123", GATEWAY_PUBLIC_URL="wss://chat.example.com/ws")
    assert expect(other.get("/app/config.json"), 200).json() == {
        "gateway_port": 18123, "gateway_url": "wss://chat.example.com/ws"}

    bad = subprocess.run([str(signalink_bin()), "api"], capture_output=True, text=True, timeout=20,
                         env={"GATEWAY_PUBLIC_URL": "http://chat.example.com/ws", "API_PORT": "0",
                              "SIGNALINK_DATA_DIR": str(tmp_path),
                              "DATABASE_URL": f"sqlite:///{str(tmp_path / 'x.db').lstrip('/')}"})
    assert bad.returncode == 2, (bad.returncode, bad.stderr)
    assert "GATEWAY_PUBLIC_URL" in bad.stderr


def test_the_api_docs_and_openapi_get_etags_too(api):
    r = expect(plain(api, "/openapi.json"), 200)
    assert r.headers["etag"].startswith('"')
    assert plain(api, "/openapi.json", **{"If-None-Match": r.headers["etag"]}).status_code == 304
