"""Offline checks of the deployment files.

Schemas: docker-compose.yml against the Compose Specification (bundled with
check-jsonschema), deploy/k8s against the Kubernetes API schemas (bundled with
kubernetes-validate). Consistency: the Procfile, compose and Kubernetes run the same
processes with the same commands, on the contract's ports, with the contract's probes.
"""

from __future__ import annotations

import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

from shared.infra.settings import DEFINITION, EXIT_BAD_SETTINGS, URL

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PROCFILE = ROOT / "deploy" / "Procfile"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
INIT_SQL = ROOT / "deploy" / "postgres" / "init-databases.sql"
SCRAPE_CONFIG = ROOT / "deploy" / "prometheus" / "scrape.yaml"
K8S_DIR = ROOT / "deploy" / "k8s"
K8S_MANIFESTS = sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml")

SERVICE_PORTS = {"intake": 8001, "decisions": 8002, "notifier": 8003}  # contract defaults
PROCESSES = ("web", "consumer", "relay")
APP_PROCESSES = [f"{svc}-{proc}" for svc in SERVICE_PORTS for proc in PROCESSES]
WSGI_TARGET = re.compile(r"^services\.(?P<service>[a-z]+)\.entrypoints\.wsgi:app$")
# The oldest Kubernetes we deploy to; kubernetes-validate ships its schemas.
KUBERNETES_VERSION = "1.30.0"


def _tool(name: str) -> str:
    """A console script installed in the same environment as this interpreter."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is not installed beside {sys.executable}: pip install -e '.[test]'")
    return str(path)


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # resolves the `<<:` merge keys


def _k8s_objects() -> list[dict]:
    return [doc for path in K8S_MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def _k8s_object(kind: str, name: str) -> dict:
    matches = [o for o in _k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def _container(deployment: dict) -> dict:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


# Schemas -------------------------------------------------------------------------------


def test_compose_file_matches_the_compose_spec():
    result = _run(_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("manifest", K8S_MANIFESTS, ids=lambda p: p.name)
def test_k8s_manifest_matches_the_kubernetes_api(manifest):
    result = _run(
        _tool("kubernetes-validate"),
        "--kubernetes-version",
        KUBERNETES_VERSION,
        "--strict",  # unknown fields (typos) fail too
        "--quiet",
        str(manifest),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [p.name for p in K8S_MANIFESTS]


# docker-compose.yml --------------------------------------------------------------------


def test_compose_runs_web_consumer_and_relay_for_every_service():
    assert set(APP_PROCESSES) <= set(_compose()["services"])


@pytest.mark.parametrize("service, port", SERVICE_PORTS.items())
def test_compose_web_serves_the_contract_port_with_a_healthcheck(service, port):
    web = _compose()["services"][f"{service}-web"]
    env = web["environment"]

    assert web["command"][:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    target = WSGI_TARGET.match(web["command"][3])
    assert target and target["service"] == service, web["command"]
    assert env["SERVICE"] == service
    assert env["BIND_HOST"] == "0.0.0.0"
    assert env[f"{service.upper()}_PORT"] == str(port)
    assert web["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(web["healthcheck"]["test"])


@pytest.mark.parametrize("service", SERVICE_PORTS)
def test_compose_consumer_and_relay_commands(service):
    services = _compose()["services"]
    assert services[f"{service}-consumer"]["command"] == ["outcomes", "consume", service]
    assert services[f"{service}-relay"]["command"] == ["outcomes", "relay", service]


def test_compose_app_processes_get_the_settings_and_wait_for_migrations():
    services = _compose()["services"]
    created = set(re.findall(r"CREATE DATABASE (\w+);", INIT_SQL.read_text()))
    assert created == {*SERVICE_PORTS, "auth"}
    for name in [*APP_PROCESSES, "migrate", "topics"]:
        env = services[name]["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092", name
        assert env["DATA_ENCRYPTION_KEYS"], name
        for database in created:
            url = env[f"{database.upper()}_DATABASE_URL"]
            assert url.startswith("postgresql+psycopg2://") and url.endswith(f"/{database}"), url
    for name in APP_PROCESSES:
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["topics"]["condition"] == "service_completed_successfully", name


def test_compose_health_conditions_point_at_services_with_healthchecks():
    services = _compose()["services"]
    for name, service in services.items():
        for target, dependency in service.get("depends_on", {}).items():
            if dependency["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}"
            if dependency["condition"] == "service_completed_successfully":
                assert "restart" not in services[target], f"{name} waits on {target}"


def test_compose_runs_three_kraft_brokers_that_take_any_one_of_them_down():
    services = _compose()["services"]
    brokers = {name: services[name]["environment"] for name in ("kafka-1", "kafka-2", "kafka-3")}
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in brokers.values()}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    for name, env in brokers.items():
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", name
        assert env["KAFKA_NODE_ID"] == name.removeprefix("kafka-"), name
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092", name
        # Kafka's own topics as safe as ours: consumer offsets and producer ids survive a broker.
        assert (env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]) == ("3", "2")
        assert "healthcheck" in services[name], name
    for name in [*APP_PROCESSES, "topics"]:
        for broker in brokers:
            assert services[name]["depends_on"][broker]["condition"] == "service_healthy", (name, broker)


@pytest.mark.parametrize("source", ["compose", "k8s"])
def test_topics_get_three_replicas_two_in_sync_and_submissions_kept_days_not_weeks(source):
    if source == "compose":
        env = _compose()["services"]["topics"]["environment"]
    else:
        env = _k8s_object("ConfigMap", "outcome-chain-config")["data"]
    assert (env["KAFKA_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
    assert 1 <= int(env["KAFKA_SUBMISSIONS_RETENTION_DAYS"]) <= 7


def test_web_metrics_need_a_token_that_compose_and_k8s_set():
    for name in APP_PROCESSES:
        assert _compose()["services"][name]["environment"]["METRICS_TOKEN"], name
    assert _k8s_object("Secret", "outcome-chain-secrets")["stringData"]["METRICS_TOKEN"]


def _relabelled(job: dict, pod_labels: dict[str, str], port_name: str) -> bool:
    """Whether the job's `keep` relabellings keep this pod's container port (Prometheus anchors each regex)."""
    meta = {f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', k)}": v for k, v in pod_labels.items()}
    meta["__meta_kubernetes_pod_container_port_name"] = port_name
    for rule in job["relabel_configs"]:
        if rule.get("action") == "keep":
            value = ";".join(meta.get(label, "") for label in rule["source_labels"])
            if not re.fullmatch(rule["regex"], value):
                return False
    return True


def test_prometheus_scrapes_every_pod_once_and_the_web_port_with_the_token():
    jobs = {job["job_name"]: job for job in yaml.safe_load(SCRAPE_CONFIG.read_text())["scrape_configs"]}
    for deployment in (o for o in _k8s_objects() if o["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]
        labels = pod["metadata"]["labels"]
        (port,) = _container(deployment)["ports"]
        scraped_by = [name for name, job in jobs.items() if _relabelled(job, labels, port["name"])]
        assert len(scraped_by) == 1, (deployment["metadata"]["name"], scraped_by)
        job = jobs[scraped_by[0]]
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(port["containerPort"])
        if labels["app.kubernetes.io/component"] == "web":
            assert job["authorization"]["type"] == "Bearer" and job["authorization"]["credentials_file"]
            assert annotations["prometheus.io/scrape"] == "false"  # an annotation job would get 401
        else:
            assert "authorization" not in job
            assert annotations["prometheus.io/scrape"] == "true"


def test_dockerfile_exposes_the_contract_ports_and_drops_root():
    lines = DOCKERFILE.read_text().splitlines()
    (expose,) = [line.split()[1:] for line in lines if line.startswith("EXPOSE ")]
    assert sorted(map(int, expose)) == sorted(SERVICE_PORTS.values())
    (user,) = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user.split(":")[0] not in ("0", "root")


# Kubernetes ----------------------------------------------------------------------------


@pytest.mark.parametrize("service, port", SERVICE_PORTS.items())
def test_k8s_web_probes_ports_and_filesystem(service, port):
    web = _k8s_object("Deployment", f"{service}-web")
    container = _container(web)

    assert web["spec"]["replicas"] == 2
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]

    k8s_service = _k8s_object("Service", service)
    assert k8s_service["spec"]["selector"].items() <= web["spec"]["selector"]["matchLabels"].items()
    assert k8s_service["spec"]["ports"][0]["port"] == port


@pytest.mark.parametrize("service", SERVICE_PORTS)
def test_k8s_runs_exactly_one_relay_per_service(service):
    relay = _k8s_object("Deployment", f"{service}-relay")
    assert relay["spec"]["replicas"] == 1
    assert relay["spec"]["strategy"]["type"] == "Recreate"  # no overlap during a rollout


def test_k8s_pods_run_as_non_root_with_the_shared_settings():
    for obj in _k8s_objects():
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        pod = obj["spec"]["template"]["spec"]
        name = obj["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            sources = [next(iter(source.values()))["name"] for source in container["envFrom"]]
            assert sources == ["outcome-chain-config", "outcome-chain-secrets"], name
            # `args`, not `command`, so the image's init (tini) stays PID 1.
            assert "command" not in container, name


# Public URLs ---------------------------------------------------------------------------

# Every setting naming a public address the code reads (PUBLIC_BASE_URL, NOTIFIER_PUBLIC_URL...):
# the links in participants' messages are built from them.
PUBLIC_URL_SETTINGS = sorted(setting.name for setting in DEFINITION if "PUBLIC" in setting.name and setting.kind is URL)
LOOPBACK = re.compile(r"^https?://(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(/|$)", re.IGNORECASE)


def test_the_public_url_settings_are_found():
    assert {"PUBLIC_BASE_URL", "NOTIFIER_PUBLIC_URL"} <= set(PUBLIC_URL_SETTINGS)


@pytest.mark.parametrize("setting", PUBLIC_URL_SETTINGS)
def test_k8s_sets_every_public_url_to_a_public_address(setting):
    value = _k8s_object("ConfigMap", "outcome-chain-config")["data"].get(setting)

    assert value, f"deploy/k8s/base.yaml sets no {setting}: links would point at the 127.0.0.1 default"
    assert value.startswith(("https://", "http://")), value
    assert not LOOPBACK.match(value), f"{setting}={value} points at this machine, not the council's address"


@pytest.mark.parametrize("setting", PUBLIC_URL_SETTINGS)
def test_compose_sets_every_public_url_for_every_app_process(setting):
    services = _compose()["services"]
    for name in [*APP_PROCESSES, "migrate", "topics"]:
        value = services[name]["environment"].get(setting)
        assert value and value.startswith(("https://", "http://")), f"{name}: {setting}={value!r}"


# One list of processes -----------------------------------------------------------------


def _procfile_processes() -> dict[str, tuple[str | None, list[str]]]:
    processes = {}
    for line in PROCFILE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, command = line.split(":", 1)
        words = shlex.split(command)
        env = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
        processes[name] = (env.get("SERVICE"), words[len(env) :])
    return processes


def _compose_processes() -> dict[str, tuple[str | None, list[str]]]:
    services = _compose()["services"]
    return {
        name: (services[name]["environment"].get("SERVICE"), services[name]["command"])
        for name in services
        if "command" in services[name] and name not in ("migrate", "topics")
    }


def _k8s_processes() -> dict[str, tuple[str | None, list[str]]]:
    processes = {}
    for obj in _k8s_objects():
        if obj["kind"] == "Deployment":
            container = _container(obj)
            env = {e["name"]: e.get("value") for e in container.get("env", [])}  # not valueFrom's
            processes[obj["metadata"]["name"]] = (env.get("SERVICE"), container["args"])
    return processes


def test_procfile_compose_and_k8s_run_the_same_processes():
    procfile = _procfile_processes()
    assert sorted(procfile) == sorted(APP_PROCESSES)
    assert _compose_processes() == procfile
    assert _k8s_processes() == procfile


# shared/http/gunicorn_conf.py (what deploy/gunicorn.conf.py imports) -------------------------

_GUNICORN_ENV = ("SERVICE", "BIND_HOST", "WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR") + tuple(
    f"{service.upper()}_PORT" for service in SERVICE_PORTS
)


def _gunicorn_config(monkeypatch, **env: str) -> dict:
    for name in _GUNICORN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OUTCOMES_ENV", "development")
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_module("shared.http.gunicorn_conf")  # afresh each time: the settings are read on import


def test_gunicorn_defaults_to_loopback_and_the_contract_port(monkeypatch):
    config = _gunicorn_config(monkeypatch, SERVICE="decisions")
    assert config["bind"] == "127.0.0.1:8002"
    assert config["workers"] == 2
    assert config["worker_class"] == "sync"
    assert (config["timeout"], config["graceful_timeout"]) == (30, 20)


@pytest.mark.parametrize("service, port", SERVICE_PORTS.items())
def test_gunicorn_port_follows_the_service(monkeypatch, service, port):
    assert _gunicorn_config(monkeypatch, SERVICE=service)["bind"] == f"127.0.0.1:{port}"


def test_gunicorn_bind_follows_bind_host_and_port_settings(monkeypatch):
    config = _gunicorn_config(
        monkeypatch,
        SERVICE="decisions",
        BIND_HOST="0.0.0.0",
        DECISIONS_PORT="9000",
        WEB_CONCURRENCY="4",
    )
    assert config["bind"] == "0.0.0.0:9000"
    assert config["workers"] == 4


def test_gunicorn_refuses_an_unknown_service_in_one_line(monkeypatch, capsys):
    with pytest.raises(SystemExit) as stopped:
        _gunicorn_config(monkeypatch, SERVICE="billing")
    assert stopped.value.code == EXIT_BAD_SETTINGS
    assert capsys.readouterr().err == (
        "gunicorn cannot start: SERVICE must be one of intake, decisions, notifier; got 'billing'\n"
    )


def test_gunicorn_refuses_to_serve_local_links_in_production(monkeypatch, capsys):
    monkeypatch.setenv("LINK_SIGNING_SECRET", "a-long-random-secret")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://outcomes.example.org")
    monkeypatch.setenv("NOTIFIER_PUBLIC_URL", "http://localhost:8003")
    with pytest.raises(SystemExit):
        _gunicorn_config(monkeypatch, SERVICE="notifier", OUTCOMES_ENV="production")
    assert "NOTIFIER_PUBLIC_URL points at this machine" in capsys.readouterr().err


def test_gunicorn_access_log_never_carries_query_strings(monkeypatch):
    config = _gunicorn_config(monkeypatch, SERVICE="intake")
    assert config["accesslog"] == "-"
    fmt = config["access_log_format"]
    assert "%(U)s" in fmt  # the path alone
    for leaky in ("%(q)s", "%(r)s", "%(f)s"):  # query, request line, referer
        assert leaky not in fmt


def test_gunicorn_prometheus_hooks_only_in_multiprocess_mode(monkeypatch, tmp_path):
    assert "child_exit" not in _gunicorn_config(monkeypatch, SERVICE="intake")

    metrics_dir = tmp_path / "prometheus"
    config = _gunicorn_config(monkeypatch, SERVICE="intake", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    assert metrics_dir.is_dir()
    assert callable(config["child_exit"])

    stale = metrics_dir / "counter_123.db"
    stale.write_bytes(b"")
    config["on_starting"](server=None)
    assert not stale.exists()


def _resolved_gunicorn_settings(config: str) -> str:
    """What gunicorn itself makes of `-c config`, as `--print-config` lists it, run from an
    empty directory (as an installed package runs)."""
    result = subprocess.run(
        # The standard library's demo app: the settings are the point, not a service's own start-up.
        [_tool("gunicorn"), "--print-config", "-c", config, "wsgiref.simple_server:demo_app"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=K8S_DIR,  # no shared/ or services/ here
        env={
            "PATH": "/usr/bin:/bin",
            "SERVICE": "intake",
            "INTAKE_PORT": "9001",
            "WEB_CONCURRENCY": "3",
            "OUTCOMES_ENV": "development",
            "DATA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return "\n".join(line for line in result.stdout.splitlines() if not line.startswith("config "))


def test_the_deploy_file_and_the_installed_module_configure_gunicorn_alike():
    from_file = _resolved_gunicorn_settings(str(GUNICORN_CONF))
    from_package = _resolved_gunicorn_settings("python:shared.http.gunicorn_conf")

    assert from_file == from_package
    for line in ("bind                               = ['127.0.0.1:9001']", "workers                            = 3"):
        assert line in from_package.splitlines()


# Kafka credentials -----------------------------------------------------------------------

KAFKA_CLIENTS = {  # process -> the principal it connects as
    **{f"{service}-{kind}": f"outcome-chain-{service}" for service in SERVICE_PORTS for kind in ("consumer", "relay")},
    "topics": "outcome-chain-admin",
}


def test_compose_kafka_clients_connect_as_their_own_principal_with_the_security_settings():
    services = _compose()["services"]
    for name, principal in KAFKA_CLIENTS.items():
        env = services[name]["environment"]
        assert env["KAFKA_SASL_USERNAME"] == principal, name
        assert "KAFKA_SASL_PASSWORD" in env, name
        for setting in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SSL_CAFILE"):
            assert setting in env, (name, setting)


def test_k8s_kafka_clients_connect_as_their_own_principal_with_a_password_from_its_own_secret():
    config = next(obj for obj in _k8s_objects() if obj["kind"] == "ConfigMap")["data"]
    assert config["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["KAFKA_SASL_MECHANISM"].startswith("SCRAM-")
    secrets = {obj["metadata"]["name"]: obj for obj in _k8s_objects() if obj["kind"] == "Secret"}
    k8s_names = {"topics": "outcome-chain-topics"}
    found, password_secrets = {}, {}
    for obj in _k8s_objects():
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        name, container = obj["metadata"]["name"], _container(obj)
        env = {e["name"]: e for e in container.get("env", [])}
        if "KAFKA_SASL_USERNAME" not in env:
            continue
        found[name] = principal = env["KAFKA_SASL_USERNAME"]["value"]
        reference = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert reference["key"] in secrets[reference["name"]]["stringData"], name
        password_secrets.setdefault(principal, set()).add(reference["name"])
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        ca_volume = mounts[config["KAFKA_SSL_CAFILE"].rsplit("/", 1)[0]]
        [volume] = [v for v in obj["spec"]["template"]["spec"]["volumes"] if v["name"] == ca_volume]
        assert volume["secret"]["secretName"] == "outcome-chain-kafka-ca", name  # the cluster's CA, copied in
    assert found == {k8s_names.get(name, name): principal for name, principal in KAFKA_CLIENTS.items()}
    # No principal's password is in a Secret another principal reads.
    owners = [secret for names in password_secrets.values() for secret in names]
    assert len(owners) == len(set(owners)) == len(password_secrets)
