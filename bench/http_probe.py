"""Plain-HTTP helpers shared by the Python bench drivers (stdlib only)."""

import time
import urllib.request


def get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait_up(url: str, who: str, timeout: float = 30.0) -> None:
    """Returns once `url` answers; exits naming `who` when it never does."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            get(url, 1.0)
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{who}: {url} never answered")
