"""The container, compose, Kubernetes and CI files, checked by tools the project did not write:
Debian's docker-compose (`config` needs no engine), kustomize and kubernetes-validate (Kubernetes'
own schemas, shipped in the PyPI package, strict), actionlint with shellcheck. Plus what those
tools cannot know: every pod probes /health and runs as the image's non-root user, the profiles
start the right services, the HPA scales the gateway. There is no Docker engine here, so the
image itself is not built: the Dockerfile gets a structural check instead (no hadolint either).

The tools come from scripts/install-deploy-tools (~/.cache/signalink/tools, or SIGNALINK_TOOLS_DIR); a missing
tool fails the test that needs it.
"""

from __future__ import annotations

import base64
import itertools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TOOLS = Path(
    os.environ.get("SIGNALINK_TOOLS_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "signalink" / "tools"
)
OVERLAYS = ("single-node", "distributed")
# The oldest Kubernetes release still maintained when this was written, and the newest the
# validator ships.
KUBERNETES_VERSIONS = ("1.32.0", "1.37.0")
ROLE_PORTS = {"api": 8000, "gateway": 8001, "analytics": 8002, "notifier": 8003}
IMAGE_UID = 10001
PROFILES = ("phase2", "phase3", "phase4", "monitoring")
SERVICES_OF = {
    None: {"postgres", "api"},
    "phase2": {"gateway", "redis"},
    "phase3": {"kafka"},
    "phase4": {"analytics", "notifier"},
    "monitoring": {"prometheus", "grafana"},
}


def tool(path: Path | str) -> str:
    found = str(path) if Path(path).is_absolute() and os.access(path, os.X_OK) else shutil.which(str(path))
    if not found:
        pytest.fail(f"{path} is missing: run scripts/install-deploy-tools")
    return found


def run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


# --- docker-compose -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> Path:
    """An empty --env-file, so a developer's .env does not change what is checked."""
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


def compose(env_file: Path, *args: str, secret: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "SECRET_KEY"))}
    if secret:
        env["SECRET_KEY"] = "x" * 64
    return run(tool("docker-compose"), "--env-file", str(env_file), *args, cwd=REPO, env=env)


@pytest.fixture(scope="module")
def compose_config(env_file) -> dict:
    r = compose(env_file, "config")
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout)


def active(services: dict, profiles: set[str]) -> set[str]:
    """The services `up` starts with these profiles: those without profiles, and those naming one."""
    return {name for name, s in services.items() if not s.get("profiles") or profiles & set(s["profiles"])}


@pytest.mark.parametrize("profiles", [(), ("phase2",), ("phase2", "phase3"), PROFILES])
def test_compose_config_is_valid_for_each_level(env_file, profiles):
    args = [a for p in profiles for a in ("--profile", p)]
    r = compose(env_file, *args, "config", "-q")
    assert r.returncode == 0, r.stderr


def test_compose_lists_every_service(env_file):
    # docker-compose 1.29's `config` lists every service whatever --profile says; which ones a
    # level starts is checked below from each service's `profiles`.
    r = compose(env_file, "config", "--services")
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.split()) == set().union(*SERVICES_OF.values())


def test_compose_requires_a_secret_key(env_file):
    r = compose(env_file, "config", "-q", secret=False)
    assert r.returncode != 0
    assert "SECRET_KEY" in r.stderr


def test_compose_profiles_start_the_original_levels(compose_config):
    services = compose_config["services"]
    assert set(services) == set().union(*SERVICES_OF.values())
    expected = set(SERVICES_OF[None])
    assert active(services, set()) == expected
    enabled: set[str] = set()
    for profile in PROFILES:
        enabled.add(profile)
        expected |= SERVICES_OF[profile]
        assert active(services, enabled) == expected, enabled


def test_compose_dependencies_are_started_with_their_dependents(compose_config):
    services = compose_config["services"]
    for n in range(len(PROFILES) + 1):
        for combo in itertools.combinations(PROFILES, n):
            up = active(services, set(combo))
            for name in up:
                missing = set(services[name].get("depends_on", {})) - up
                assert not missing, f"{name} with profiles {combo} depends on {missing}, not started"


def test_compose_roles_share_one_image_and_probe_their_health(compose_config):
    services = compose_config["services"]
    images = set()
    for role, port in ROLE_PORTS.items():
        s = services[role]
        images.add(s["image"])
        assert Path(s["build"]["context"]) == REPO
        assert s["command"] == [role]
        assert any(p["target"] == port for p in s["ports"]), s["ports"]
        assert s["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/health"
        env = s["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["ENVIRONMENT"] == "production" and env["SECRET_KEY"] == "x" * 64
        # Waiting for a healthy database, not just a started container.
        assert s["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert len(images) == 1
    assert services["gateway"]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "kafka", "prometheus"):
        assert services[name]["healthcheck"]["test"], name


def test_compose_kafka_runs_in_kraft_mode(compose_config):
    kafka = compose_config["services"]["kafka"]
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "ZOOKEEPER" not in " ".join(env) and "zookeeper" not in compose_config["services"]
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]


def test_compose_monitoring_mounts_the_repository_config(compose_config):
    services = compose_config["services"]
    mounts = {}
    for name in ("prometheus", "grafana"):
        for v in services[name]["volumes"]:  # source:target[:mode]; a named volume has no slash
            source, target = v.split(":")[:2]
            if source.startswith("/"):
                mounts[target] = Path(source)
    assert mounts["/etc/prometheus"] == REPO / "deploy" / "prometheus"
    assert mounts["/etc/grafana/provisioning"] == REPO / "deploy" / "grafana" / "provisioning"
    # Grafana reads the dashboards where its provisioning file says, so the mount must be there.
    provider = yaml.safe_load(
        (REPO / "deploy" / "grafana" / "provisioning" / "dashboards" / "signalink.yml").read_text()
    )["providers"][0]
    assert mounts[provider["options"]["path"]] == REPO / "deploy" / "grafana" / "dashboards"
    assert (REPO / "deploy" / "prometheus" / "prometheus.yml").is_file()
    for source in mounts.values():
        assert source.is_dir(), source


# --- Kubernetes -----------------------------------------------------------------------------


def overlay_dir(name: str) -> Path:
    return REPO / "deploy" / "k8s" / "overlays" / name


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """Each overlay rendered by kustomize into a file."""
    out = tmp_path_factory.mktemp("k8s")
    files = {}
    for name in OVERLAYS:
        r = run(tool(TOOLS / "bin" / "kustomize"), "build", str(overlay_dir(name)))
        assert r.returncode == 0, r.stderr
        files[name] = out / f"{name}.yaml"
        files[name].write_text(r.stdout)
    return files


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def kubernetes_validate(*args: str) -> subprocess.CompletedProcess:
    return run(tool(TOOLS / "venv" / "bin" / "kubernetes-validate"), "--strict", "--quiet", *args)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_the_strict_schema(rendered, overlay, version):
    r = kubernetes_validate("-k", version, str(rendered[overlay]))
    assert r.returncode == 0, r.stdout + r.stderr


def test_strict_schema_rejects_a_misspelt_field(rendered, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(rendered["distributed"].read_text().replace("readOnlyRootFilesystem:", "readOnlyRootFilesytem:"))
    r = kubernetes_validate("-k", KUBERNETES_VERSIONS[-1], str(bad))
    assert r.returncode != 0
    assert "readOnlyRootFilesytem" in r.stdout + r.stderr


def probe_ok(probe: dict, ports: dict) -> bool:
    get = probe.get("httpGet", {})
    return get.get("path") == "/health" and (get.get("port") in ports or get.get("port") in ports.values())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_probes_health_and_runs_confined(rendered, overlay):
    docs = documents(rendered[overlay])
    deployments = of_kind(docs, "Deployment")
    assert deployments
    for d in deployments:
        name = d["metadata"]["name"]
        pod = d["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == IMAGE_UID, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        writable = {v["name"] for v in pod["volumes"]}
        for c in pod["containers"]:
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe_ok(c[kind], ports), f"{name}: {kind} {c.get(kind)}"
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), name
            assert "memory" in c["resources"]["limits"], name
            # With a read-only root, the data directory and /tmp must be volumes.
            mounted = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert {"/var/lib/signalink", "/tmp"} <= set(mounted) and set(mounted.values()) <= writable, name
            # The images transformer replaced the bare name with a registry path and a tag.
            assert re.fullmatch(r"[a-z0-9.\-]+/[a-z0-9./\-]+:[\w.\-]+", c["image"]), c["image"]
            assert c["args"][0] in {"serve", *ROLE_PORTS}, name
            assert "prometheus.io/scrape" in d["spec"]["template"]["metadata"]["annotations"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_and_secret_are_separate_and_referenced(rendered, overlay):
    docs = documents(rendered[overlay])
    (config,) = of_kind(docs, "ConfigMap")
    (secret,) = of_kind(docs, "Secret")
    assert not [k for k in config["data"] if re.search(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|REDIS_URL", k)]
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    # The shipped placeholder is too short for production, so the server refuses to start on it.
    assert "REPLACE_ME" in values["SECRET_KEY"] and len(values["SECRET_KEY"]) < 32
    for d in of_kind(docs, "Deployment"):
        for c in d["spec"]["template"]["spec"]["containers"]:
            refs = {(k, v["name"]) for e in c["envFrom"] for k, v in e.items()}
            assert refs == {("configMapRef", config["metadata"]["name"]), ("secretRef", secret["metadata"]["name"])}


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_distributed_runs_each_role_behind_a_service_and_budget(rendered):
    docs = documents(rendered["distributed"])
    deployments = {d["spec"]["template"]["spec"]["containers"][0]["args"][0]: d for d in of_kind(docs, "Deployment")}
    assert set(deployments) == set(ROLE_PORTS)
    secret_keys = set(of_kind(docs, "Secret")[0]["data"])
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= secret_keys
    for role, d in deployments.items():
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert selects(d["spec"]["selector"]["matchLabels"], labels)
        assert d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == ROLE_PORTS[role]
        (service,) = [s for s in of_kind(docs, "Service") if selects(s["spec"]["selector"], labels)]
        assert [p["port"] for p in service["spec"]["ports"]] == [ROLE_PORTS[role]]
        (pdb,) = [p for p in of_kind(docs, "PodDisruptionBudget") if selects(p["spec"]["selector"]["matchLabels"], labels)]
        assert pdb["apiVersion"] == "policy/v1"
        if role != "gateway":
            assert d["spec"]["replicas"] >= 2, role


def test_gateway_scales_with_an_autoscaler(rendered):
    docs = documents(rendered["distributed"])
    (hpa,) = of_kind(docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    (gateway,) = [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"] == target["name"]]
    assert target["kind"] == "Deployment"
    assert gateway["spec"]["template"]["spec"]["containers"][0]["args"] == ["gateway"]
    # The autoscaler owns the count: a fixed replicas field would fight it on every apply.
    assert "replicas" not in gateway["spec"]
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    # Utilization targets need requests to be measured against.
    assert "cpu" in gateway["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]


def test_single_node_is_one_serve_pod_on_a_volume(rendered):
    docs = documents(rendered["single-node"])
    (d,) = of_kind(docs, "Deployment")
    assert d["spec"]["replicas"] == 1 and d["spec"]["strategy"]["type"] == "Recreate"
    pod = d["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["serve"]
    (pvc,) = of_kind(docs, "PersistentVolumeClaim")
    data = [v for v in pod["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName") == pvc["metadata"]["name"]]
    assert len(data) == 1
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts[data[0]["name"]] == "/var/lib/signalink"


# --- CI workflow ----------------------------------------------------------------------------


def actionlint(workflow: Path) -> subprocess.CompletedProcess:
    return run(tool(TOOLS / "bin" / "actionlint"), "-shellcheck", tool("shellcheck"), "-no-color", str(workflow))


def test_workflows_pass_actionlint():
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    assert workflows
    for workflow in workflows:
        r = actionlint(workflow)
        assert r.returncode == 0, r.stdout + r.stderr
    assert r.returncode == 0, r.stdout + r.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "ci.yml"
    broken.write_text((REPO / ".github" / "workflows" / "ci.yml").read_text().replace("runs-on:", "run-on:", 1))
    r = actionlint(broken)
    assert r.returncode != 0
    assert "run-on" in r.stdout


def test_workflow_pushes_the_image_only_for_tags():
    wf = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    jobs = wf["jobs"]
    assert {"build-and-test", "package", "image"} <= set(jobs)
    assert wf["permissions"] == {"contents": "read"}
    assert jobs["image"]["permissions"]["packages"] == "write"
    assert [j for j, v in jobs.items() if v.get("permissions", {}).get("packages") == "write"] == ["image"]
    build = [s for s in jobs["image"]["steps"] if s.get("uses", "").startswith("docker/build-push-action")]
    assert build and "refs/tags/v" in build[0]["with"]["push"]
    assert any("scripts/test" in s.get("run", "") for s in jobs["build-and-test"]["steps"])
    assert any("cpack" in s.get("run", "") for s in jobs["package"]["steps"])


# --- Dockerfile (no engine and no hadolint here: structure only) -----------------------------


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions per stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    out: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        if op.upper() == "FROM":
            out.append([])
        assert out, f"instruction before FROM: {line}"
        out[-1].append((op.upper(), rest.strip()))
    return out


def test_dockerfile_builds_the_deb_then_installs_it_on_slim():
    build, runtime = stages()
    assert build[0] == ("FROM", "debian:12 AS build")
    build_runs = " ".join(arg for op, arg in build if op == "RUN")
    assert "scripts/install-deps" in build_runs and "cpack -G DEB" in build_runs
    assert runtime[0] == ("FROM", "debian:12-slim")
    runtime_runs = " ".join(arg for op, arg in runtime if op == "RUN")
    assert re.search(r"apt-get install .*--no-install-recommends .*signalink_\*\.deb", runtime_runs)
    assert "from=build" in runtime_runs


def test_dockerfile_runs_unprivileged_with_a_health_check():
    runtime = dict(stages()[-1])
    user = runtime["USER"].split(":")[0]
    assert user.isdigit() and int(user) == IMAGE_UID
    assert "/health" in runtime["HEALTHCHECK"] and "curl" in runtime["HEALTHCHECK"]
    assert runtime["ENTRYPOINT"] == '["signalink"]' and runtime["CMD"] == '["serve"]'
    assert runtime["EXPOSE"].split() == [str(p) for p in ROLE_PORTS.values()]
    assert "/var/lib/signalink" in runtime["VOLUME"] and runtime["WORKDIR"] == "/var/lib/signalink"


def test_dockerignore_keeps_build_trees_out_of_the_context():
    entries = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()}
    assert {"build", "**/node_modules", ".git"} <= entries


def test_deploy_tools_installer_passes_shellcheck():
    r = run(tool("shellcheck"), str(REPO / "scripts" / "install-deploy-tools"))
    assert r.returncode == 0, r.stdout
