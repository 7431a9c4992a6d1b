"""`make run`: the whole system on one machine, stopped cleanly with Ctrl-C.

Starts the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set), creates topics,
migrates, creates the `demo` tenant and one key per role, starts the SMTP sink, then
each service's gunicorn, consumer and outbox relay. Child output goes to var/log/.
On a first start (the demo tenant has no engagements yet) it seeds the demo council in
the background with `outcomes demo`, unless OUTCOMES_DEMO=0.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shared import kafka, migrations
from shared.auth import KeyStore
from shared.broker import start_tansu
from shared.constants import ROLES
from shared.crypto import Sealer
from shared.db import create_engine
from shared.demo import DEMO_TENANT, DemoFailed, not_yet_seeded
from shared.settings import SERVICES, Settings

ROOT = Path(__file__).resolve().parent.parent


def dev_secrets(var_dir: Path) -> dict[str, str]:
    """A data-encryption key and a link-signing secret for this machine, made once and
    kept in var/dev.env."""
    path = var_dir / "dev.env"
    lines = path.read_text().split() if path.exists() else []
    if not any(line.startswith("DATA_ENCRYPTION_KEYS=") for line in lines):
        lines.append(f"DATA_ENCRYPTION_KEYS={Sealer.generate_key()}")
    if not any(line.startswith("LINK_SIGNING_SECRET=") for line in lines):
        lines.append(f"LINK_SIGNING_SECRET={secrets.token_urlsafe(32)}")
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return dict(line.split("=", 1) for line in path.read_text().split() if "=" in line)


def with_dev_secrets(settings: Settings) -> Settings:
    """Settings with var/dev.env's keys added (never overriding the environment), so a
    command run beside `make run` opens what its services sealed."""
    path = settings.var_dir / "dev.env"
    if not path.exists():
        return settings
    found = dict(line.split("=", 1) for line in path.read_text().split() if "=" in line)
    os.environ.update({k: v for k, v in found.items() if k not in os.environ})
    return Settings.from_env()


def demo_keys(keys: KeyStore, path: Path) -> dict[str, str]:
    """Reuse the demo keys in var/dev-keys.json while they still work; else make new ones."""
    keys.create_tenant(DEMO_TENANT, "Demo Council")
    if path.exists():
        existing = json.loads(path.read_text())
        if set(existing) == set(ROLES) and all(keys.authenticate(k) for k in existing.values()):
            return existing
    made = {role: keys.create_key(DEMO_TENANT, role, label="make run demo key")[1] for role in ROLES}
    path.write_text(json.dumps(made, indent=2) + "\n")
    path.chmod(0o600)
    return made


class Processes:
    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir = log_dir
        self.env = env
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], extra_env: dict[str, str] | None = None) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        self.running[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def adopt(self, name: str, process: subprocess.Popen) -> None:
        self.running[name] = process

    def exited(self) -> list[str]:
        return [name for name, process in self.running.items() if process.poll() is not None]

    def stop(self, timeout: float = 15.0) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.running.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_healthy(url: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def run(settings: Settings) -> int:
    var_dir = settings.var_dir
    log_dir = var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update({k: v for k, v in dev_secrets(var_dir).items() if k not in os.environ})
    settings = Settings.from_env()
    env = {**os.environ, "OUTCOMES_VAR_DIR": str(var_dir)}
    processes = Processes(log_dir, env)
    outcomes = [sys.executable, "-m", "shared.cli"]
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    stopping = False
    seeding: subprocess.Popen | None = None

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            if kafka.reachable(settings.kafka_bootstrap_servers, timeout=0.3):
                print(
                    f"Something already listens on {settings.kafka_bootstrap_servers}; stop it or set KAFKA_BOOTSTRAP_SERVERS.",
                    file=sys.stderr,
                )
                return 1
            host, _, port = settings.kafka_bootstrap_servers.rpartition(":")
            processes.adopt("broker", start_tansu(host, int(port), log_dir / "broker.log"))
        kafka.wait_until_reachable(settings.kafka_bootstrap_servers)
        kafka.create_topics(settings.kafka_bootstrap_servers)
        migrations.upgrade_auth(settings.auth_database_url)
        for service in SERVICES:
            migrations.upgrade_service(service, settings.database_url(service), settings.data_encryption_keys)
        keys = demo_keys(KeyStore(create_engine(settings.auth_database_url)), var_dir / "dev-keys.json")

        processes.start(
            "smtp-sink", [*outcomes, "smtp-sink", "--host", settings.smtp_host, "--port", str(settings.smtp_port)]
        )
        metrics_root = var_dir / "prometheus"
        for service in SERVICES:
            processes.start(
                f"{service}-web",
                [*gunicorn, f"services.{service}.entrypoints.wsgi:app"],
                {"SERVICE": service, "PROMETHEUS_MULTIPROC_DIR": str(metrics_root / service)},
            )
            processes.start(f"{service}-consumer", [*outcomes, "consume", service])
            processes.start(f"{service}-relay", [*outcomes, "relay", service])

        urls = {s: f"http://{settings.bind_host}:{settings.port(s)}" for s in SERVICES}
        for service, url in urls.items():
            if not _wait_healthy(url + "/healthz"):
                print(f"{service} did not start; see {log_dir / (service + '-web.log')}", file=sys.stderr)
                return 1
        seeding = _start_demo(settings, urls["intake"], keys, log_dir)
        print("\nOutcome Chain is running.\n")
        for service, url in urls.items():
            print(f"  {service:<10} {url}   (health: {url}/healthz)")
        print(f"\n  Kafka      {settings.kafka_bootstrap_servers}")
        print(f"  SMTP sink  {settings.smtp_host}:{settings.smtp_port}  -> {var_dir / 'mail'}")
        print(f"  Logs       {log_dir}\n")
        print(f"Demo keys for tenant '{DEMO_TENANT}' (also in {var_dir / 'dev-keys.json'}):")
        for role, key in keys.items():
            print(f"  {role:<12} {key}")
        print(f"\nTry:\n  curl -H 'Authorization: Bearer {keys['staff']}' {urls['intake']}/v1/engagements\n")
        if seeding:
            print("Seeding the demo council in the background (OUTCOMES_DEMO=0 skips this); its chains follow here.")
        print("Press Ctrl-C to stop everything.", flush=True)
        while not stopping:
            if seeding and seeding.poll() is not None:
                _report_demo(seeding, log_dir / "demo.log")
                seeding = None
            dead = processes.exited()
            if dead:
                print(f"stopped unexpectedly: {', '.join(dead)}; see {log_dir}", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        print("Stopping...", flush=True)
        if seeding and seeding.poll() is None:
            processes.adopt("demo", seeding)
        processes.stop()
        print("Stopped.", flush=True)


def _start_demo(settings: Settings, intake_url: str, keys: dict[str, str], log_dir: Path) -> subprocess.Popen | None:
    """`outcomes demo` in the background on a first start (see var/log/demo.log)."""
    if os.environ.get("OUTCOMES_DEMO", "1") == "0":
        return None
    try:
        if not not_yet_seeded(intake_url, keys):
            return None
    except DemoFailed:
        return None
    with open(log_dir / "demo.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "demo", "--keys", str(settings.var_dir / "dev-keys.json")],
            cwd=ROOT,
            env={**os.environ, "OUTCOMES_VAR_DIR": str(settings.var_dir)},
            stdout=subprocess.PIPE,  # its short summary, printed here when it is done
            stderr=log,
            text=True,
            start_new_session=True,
        )


def _report_demo(seeding: subprocess.Popen, log: Path) -> None:
    if seeding.returncode == 0:
        print("\n" + seeding.stdout.read().strip() + "\n", flush=True)
    else:
        print(f"The demo council could not be seeded; see {log}", file=sys.stderr, flush=True)
