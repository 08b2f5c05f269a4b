"""The Debian package, installed on this machine: files, user, data directory, systemd units, the
all-in-one service's command line run the way systemd runs it, then removal and purge.

Needs root (dpkg). Builds the .deb with cpack from the release build (SIGNALINK_BUILD_DIR, default
<repo>/build/release) when it is missing or older than the binaries or the packaging sources. The
package is purged at the end whatever happens, so a failed run leaves nothing installed.
Run: /usr/bin/python3 -m pytest tests/deploy/test_package.py
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shlex
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("SIGNALINK_BUILD_DIR", REPO_ROOT / "build" / "release")).resolve()
PACKAGING_SOURCES = [REPO_ROOT / "cmake" / "packaging.cmake", *(REPO_ROOT / "packaging").rglob("*")]

UNIT_DIR = Path("/lib/systemd/system")
ROLES = ["api", "gateway", "analytics", "notifier"]
UNITS = ["signalink.service", *(f"signalink-{role}.service" for role in ROLES)]
ENV_FILE = Path("/etc/signalink/signalink.env")
DATA_DIR = Path("/var/lib/signalink")
INSTALLED_FILES = [Path("/usr/bin/signalink"), Path("/usr/bin/signalink-bench"),
                   Path("/usr/share/signalink/openapi.json"), Path("/usr/lib/sysusers.d/signalink.conf"),
                   *(UNIT_DIR / unit for unit in UNITS)]
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def _load_e2e_helpers():
    """tests/e2e/conftest.py under its own module name, so this directory may have a conftest too."""
    spec = importlib.util.spec_from_file_location("e2e_helpers", REPO_ROOT / "tests" / "e2e" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


e2e = _load_e2e_helpers()


def run(*argv: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"{shlex.join(argv)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return proc


def package_status() -> str:
    """dpkg's status of the signalink package ('' when dpkg has never seen it)."""
    proc = run("dpkg-query", "-W", "-f=${Status}", "signalink", check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def deb_path() -> Path:
    version = run(str(BUILD_DIR / "signalink"), "version").stdout.split()[-1]
    arch = run("dpkg", "--print-architecture").stdout.strip()
    return BUILD_DIR / f"signalink_{version}_{arch}.deb"


def fresh_deb() -> Path:
    """The package of the current build, made by cpack when it is missing or stale."""
    binary = BUILD_DIR / "signalink"
    if not binary.is_file():
        pytest.fail(f"{binary} is missing: build first (cmake --preset release && cmake --build --preset release)")
    deb = deb_path()
    inputs = [binary, BUILD_DIR / "signalink-bench", *(p for p in PACKAGING_SOURCES if p.is_file())]
    newest_input = max(p.stat().st_mtime for p in inputs)
    if not deb.is_file() or deb.stat().st_mtime < newest_input:
        run("cpack", "-G", "DEB", cwd=BUILD_DIR)
    assert deb.is_file(), f"cpack did not write {deb}"
    return deb


def parse_unit(path: Path) -> dict[str, list[str]]:
    """The [Service] and [Unit] settings of a unit file: key -> every value given, in order."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def parse_env_file(path: Path) -> dict[str, str]:
    """An EnvironmentFile= as systemd reads it: KEY=VALUE lines, # and ; comments, optional quotes."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not KEY=VALUE: {line!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


@pytest.fixture(scope="module")
def package():
    """Installs the package for this module's tests and purges it afterwards."""
    if os.geteuid() != 0:
        pytest.fail("tests/deploy/test_package.py installs a package: run it as root")
    status = package_status()
    if status and status != "unknown ok not-installed":
        pytest.fail(f"a signalink package is already on this machine ({status}); "
                    "remove it with `dpkg -P signalink` before running this test")
    deb = fresh_deb()
    try:
        run("dpkg", "-i", str(deb))
        yield deb
    finally:
        if package_status():
            run("dpkg", "-P", "signalink", check=False)


def test_files_are_installed(package):
    for path in INSTALLED_FILES:
        assert path.is_file(), f"{path} is not installed"
    path = "/usr/sbin:/usr/bin:/sbin:/bin"
    assert shutil.which("signalink", path=path) == "/usr/bin/signalink"
    proc = run("signalink", "version", env={"PATH": path})
    assert proc.stdout == f"signalink {package.name.split('_')[1]}\n"
    assert ENV_FILE.is_file()
    assert stat.S_IMODE(ENV_FILE.stat().st_mode) == 0o640
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "signalink").stdout
    assert str(ENV_FILE) in conffiles


def test_user_owns_data_dir(package):
    user = pwd.getpwnam("signalink")
    assert user.pw_uid < 1000, f"signalink is not a system user: uid {user.pw_uid}"
    assert user.pw_shell.endswith("nologin")
    info = DATA_DIR.stat()
    assert stat.S_ISDIR(info.st_mode)
    assert (info.st_uid, info.st_gid) == (user.pw_uid, user.pw_gid)
    assert stat.S_IMODE(info.st_mode) == 0o750


def test_units_pass_systemd_analyze_verify(package):
    # verify exits 0 on unknown keys and bad values too (it only warns): any output is a failure.
    proc = run("systemd-analyze", "verify", *(str(UNIT_DIR / unit) for unit in UNITS), check=False)
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stdout + proc.stderr


def test_role_units_conflict_with_the_all_in_one_unit(package):
    main = parse_unit(UNIT_DIR / "signalink.service")
    assert main["ExecStart"] == ["/usr/bin/signalink serve"]
    assert set(" ".join(main["Conflicts"]).split()) == {f"signalink-{role}.service" for role in ROLES}
    for role in ROLES:
        unit = parse_unit(UNIT_DIR / f"signalink-{role}.service")
        assert unit["ExecStart"] == [f"/usr/bin/signalink {role}"]
        assert unit["Conflicts"] == ["signalink.service"]
        assert unit["User"] == ["signalink"]


def test_all_in_one_unit_runs_as_signalink(package, tmp_path):
    unit = parse_unit(UNIT_DIR / "signalink.service")
    [exec_start] = unit["ExecStart"]
    # Neither $VARIABLES nor prefixes like '-' or '+': the command line below is what systemd runs.
    assert "$" not in exec_start and exec_start.startswith("/"), exec_start
    [user] = unit["User"]
    account = pwd.getpwnam(user)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": account.pw_dir,
           "USER": user, "LOGNAME": user, "SHELL": account.pw_shell}
    for env_file in unit["EnvironmentFile"]:
        optional = env_file.startswith("-")
        path = Path(env_file.removeprefix("-"))
        if optional and not path.exists():
            continue
        env |= parse_env_file(path)
    assert env["SIGNALINK_DATA_DIR"] == str(DATA_DIR)
    api, ws, analytics, notifier = e2e.free_ports(4)
    env |= {"HOST": "127.0.0.1", "API_PORT": str(api), "WS_PORT": str(ws), "ANALYTICS_PORT": str(analytics),
            "NOTIFIER_PORT": str(notifier), "PASSWORD_HASH_COST": "fast"}
    [workdir] = unit["WorkingDirectory"]

    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--no-new-privs",
                                 "--", *shlex.split(exec_start)],
                                env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    try:
        def healthy() -> bool:
            assert proc.poll() is None, f"the server exited with {proc.returncode}:\n{e2e.tail_of([log])}"
            try:
                return httpx.get(f"http://127.0.0.1:{api}/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        e2e.poll_until(healthy, READY_TIMEOUT, interval=0.1, what="GET /health 200 on the API port")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        assert set(uids) == {str(account.pw_uid)}, status
        for name in ("signalink.db", "secret_key"):
            info = (DATA_DIR / name).stat()
            assert info.st_uid == account.pw_uid, f"{DATA_DIR / name} is not owned by {user}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, f"the server exited with {proc.returncode} on SIGTERM:\n{e2e.tail_of([log])}"


def test_remove_keeps_configuration_and_purge_deletes_it(package):
    run("dpkg", "-r", "signalink")
    for path in INSTALLED_FILES:
        assert not path.exists(), f"{path} is still there after dpkg -r"
    assert ENV_FILE.is_file(), "dpkg -r removed the conffile"
    assert DATA_DIR.is_dir(), "dpkg -r removed the data"
    assert package_status() == "deinstall ok config-files"

    run("dpkg", "-P", "signalink")
    assert not ENV_FILE.parent.exists()
    assert not DATA_DIR.exists()
    assert package_status() in ("", "unknown ok not-installed")
    pwd.getpwnam("signalink")  # the user stays (Debian policy)
