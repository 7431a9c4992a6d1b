"""`make run`: the whole system on one machine, supervised, stopped cleanly with Ctrl-C.

Starts the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set), creates topics,
migrates, creates the `demo` tenant and one key per role, starts the SMTP sink (unless
SMTP_HOST is set), then each service's gunicorn, consumer and outbox relay. Child output
goes to var/log/, what the supervisor does to var/log/supervisor.log too.

Supervision: a child that exits is started again with back-off, and one that keeps
failing is left stopped (Supervisor). SIGINT, SIGTERM and SIGHUP (the terminal closed)
stop every child; on Linux each child also has a parent-death signal, so none outlives
a supervisor that was killed outright.
On a first start (the demo tenant has no engagements yet) it seeds the demo council in
the background with `outcomes demo`, unless OUTCOMES_DEMO=0.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ops.broker import tansu_command, tansu_env
from ops.demo import CASE_SYSTEM_SOURCE as DEMO_CASE_SYSTEM_SOURCE
from ops.demo import DEMO_TENANT, DemoFailed, not_yet_seeded
from shared.infra import migrations
from shared.infra.auth import KeyStore
from shared.infra.crypto import Sealer
from shared.infra.db import create_engine
from shared.infra.settings import DEVELOPMENT, SERVICES, Settings
from shared.messaging import kafka
from shared.messaging.outbox import republish_retained
from shared.rules.constants import ROLES

ROOT = Path(__file__).resolve().parent.parent


def dev_secrets(var_dir: Path) -> dict[str, str]:
    """A data-encryption key, a link-signing secret and the token Prometheus sends for web
    processes' /metrics, for this machine, made once and kept in var/dev.env."""
    path = var_dir / "dev.env"
    lines = path.read_text().split() if path.exists() else []
    if not any(line.startswith("DATA_ENCRYPTION_KEYS=") for line in lines):
        lines.append(f"DATA_ENCRYPTION_KEYS={Sealer.generate_key()}")
    if not any(line.startswith("LINK_SIGNING_SECRET=") for line in lines):
        lines.append(f"LINK_SIGNING_SECRET={secrets.token_urlsafe(32)}")
    if not any(line.startswith("METRICS_TOKEN=") for line in lines):
        lines.append(f"METRICS_TOKEN={secrets.token_urlsafe(32)}")
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
    """The demo council and its case system's source; the demo keys in var/dev-keys.json reused
    while they still work, else made anew."""
    keys.create_tenant(DEMO_TENANT, "Demo Council")
    keys.add_source(DEMO_TENANT, DEMO_CASE_SYSTEM_SOURCE)  # its submissions on intake.submissions are accepted
    if path.exists():
        existing = json.loads(path.read_text())
        if set(existing) == set(ROLES) and all(keys.authenticate(k) for k in existing.values()):
            return existing
    made = {role: keys.create_key(DEMO_TENANT, role, label="make run demo key")[1] for role in ROLES}
    path.write_text(json.dumps(made, indent=2) + "\n")
    path.chmod(0o600)
    return made


# Supervision (README "Stopping, logs and supervision"): a child that exits on its own is
# started again after 1 s, then 2, 4, 8... (at most BACKOFF_CAP_S), counting its exits in the
# last CRASH_WINDOW_S; at CRASH_LIMIT exits in that window it is left stopped, and that is said.
BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 30.0
CRASH_WINDOW_S = 60.0
CRASH_LIMIT = 5
STOP_TIMEOUT_S = 25.0  # gunicorn's graceful_timeout (20 s) and a little
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_supervisor() -> Callable[[], None] | None:
    """A preexec_fn that asks Linux to send the child SIGTERM when the supervisor dies,
    however it dies (SIGKILL included), so no service outlives `make run`. Linux only
    (prctl); elsewhere None, and a supervisor stopped by SIGINT/SIGTERM/SIGHUP still stops
    its children itself. The signal follows the thread that started the child: the
    supervisor starts every child from its main thread."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    supervisor = os.getpid()

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != supervisor:  # it died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _kill_group(pid: int) -> None:
    """SIGKILL what is left of a child's process group (a gunicorn master's workers)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _exit_text(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    popen: subprocess.Popen | None = None
    exits: deque = field(default_factory=deque)  # monotonic times of unexpected exits
    restart_at: float | None = None
    gave_up: bool = False
    restarts: int = 0


class Supervisor:
    """Starts each child in its own process group (so Ctrl-C in the terminal reaches the
    supervisor alone, which stops them in order, and a child's own children go with it),
    with a parent-death signal; restarts a child that exits with back-off; stops them all."""

    def __init__(
        self,
        log_dir: Path,
        env: dict[str, str],
        say: Callable[[str], None],
        *,
        backoff_first_s: float = BACKOFF_FIRST_S,
        crash_window_s: float = CRASH_WINDOW_S,
        crash_limit: int = CRASH_LIMIT,
    ):
        self.log_dir = log_dir
        self.env = env
        self.say = say
        self.backoff_first_s = backoff_first_s
        self.crash_window_s = crash_window_s
        self.crash_limit = crash_limit
        self.children: dict[str, Child] = {}
        self.on_restart: dict[str, Callable[[], None]] = {}
        self.stopping = False
        self._preexec = die_with_supervisor()

    def start(self, name: str, command: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        child = Child(name, command, {**self.env, **(extra_env or {})})
        self.children[name] = child
        return self._spawn(child)

    def _spawn(self, child: Child) -> subprocess.Popen:
        with open(self.log_dir / f"{child.name}.log", "ab") as log:
            child.popen = subprocess.Popen(
                child.command,
                cwd=ROOT,
                env=child.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=self._preexec,
            )
        child.restart_at = None
        return child.popen

    def pid(self, name: str) -> int | None:
        child = self.children.get(name)
        return child.popen.pid if child and child.popen else None

    def tend(self) -> None:
        """Notice children that exited; start again those whose back-off has passed."""
        if self.stopping:
            return
        now = time.monotonic()
        for child in list(self.children.values()):
            if child.gave_up:
                continue
            if child.restart_at is None and child.popen is not None and child.popen.poll() is not None:
                self._exited(child, now)
            elif child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                popen = self._spawn(child)
                self.say(f"restarted {child.name} (pid {popen.pid}, restart {child.restarts})")
                if child.name in self.on_restart:
                    self.on_restart[child.name]()

    def _exited(self, child: Child, now: float) -> None:
        _kill_group(child.popen.pid)
        child.exits.append(now)
        while child.exits and now - child.exits[0] > self.crash_window_s:
            child.exits.popleft()
        how = _exit_text(child.popen.returncode)
        log = self.log_dir / f"{child.name}.log"
        if len(child.exits) >= self.crash_limit:
            child.gave_up = True
            self.say(
                f"{child.name} {how}; it has stopped {len(child.exits)} times within {self.crash_window_s:g} s, "
                f"so it is left stopped (the rest keep running; see {log}, then restart `make run`)"
            )
            return
        delay = min(self.backoff_first_s * 2 ** (len(child.exits) - 1), BACKOFF_CAP_S)
        child.restart_at = now + delay
        self.say(f"{child.name} {how}; restarting it in {delay:g} s (see {log})")

    def restart(self, names: list[str], meanwhile: Callable[[], None] = lambda: None) -> None:
        """Stop these children, call `meanwhile`, and start them again (not counted as crashes)."""
        self._stop([self.children[n] for n in names if n in self.children and not self.children[n].gave_up])
        meanwhile()
        for name in names:
            child = self.children.get(name)
            if child and not child.gave_up:
                self._spawn(child)

    def stop(self, last: tuple[str, ...] = ()) -> None:
        """SIGTERM every child and wait; those in `last` (the broker, the SMTP sink) after the rest."""
        self.stopping = True
        self._stop([c for c in self.children.values() if c.name not in last])
        self._stop([c for c in self.children.values() if c.name in last])

    def _stop(self, children: list[Child]) -> None:
        running = [c.popen for c in children if c.popen is not None and c.popen.poll() is None]
        for popen in running:
            popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for popen in running:
            try:
                popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
        for child in children:
            if child.popen is not None:
                _kill_group(child.popen.pid)
            child.restart_at = None


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


class _Console:
    """What the supervisor says: on standard output (while there is one: a closed terminal
    must not stop it from stopping its children) and in var/log/supervisor.log."""

    def __init__(self, log_path: Path):
        self.log_path = log_path

    def __call__(self, text: str, *, error: bool = False) -> None:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with open(self.log_path, "a") as log:
            log.writelines(f"{stamp} {line}\n" for line in text.strip("\n").splitlines())
        self.show(text, error=error)

    @staticmethod
    def show(text: str, *, error: bool = False) -> None:
        try:
            print(text, file=sys.stderr if error else sys.stdout, flush=True)
        except OSError:  # the terminal has gone (SIGHUP) or the reader stopped reading
            pass


def run(settings: Settings) -> int:
    var_dir = settings.var_dir
    log_dir = var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update({k: v for k, v in dev_secrets(var_dir).items() if k not in os.environ})
    settings = Settings.from_env()
    # Its children run in development: local URLs are right here (shared/infra/settings.py, OUTCOMES_ENV).
    env = {**os.environ, "OUTCOMES_VAR_DIR": str(var_dir), "OUTCOMES_ENV": DEVELOPMENT}
    say = _Console(log_dir / "supervisor.log")
    supervisor = Supervisor(log_dir, env, say)
    embedded_broker = not settings.is_set("KAFKA_BOOTSTRAP_SERVERS")
    own_sink = not settings.is_set("SMTP_HOST")  # a configured SMTP server means no sink
    smtp_address = f"{settings.smtp_host}:{settings.smtp_port}"
    stopping = False
    seeding: subprocess.Popen | None = None

    def _stop(*_):
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        if embedded_broker and kafka.reachable(settings.kafka_bootstrap_servers, timeout=0.3):
            say(
                f"Something already listens on {settings.kafka_bootstrap_servers}; stop it or set KAFKA_BOOTSTRAP_SERVERS.",
                error=True,
            )
            return 1
        if own_sink and kafka.reachable(smtp_address, timeout=0.3):
            say(
                f"Something already listens on {smtp_address}; stop it, or set SMTP_HOST to send mail there.",
                error=True,
            )
            return 1
        if embedded_broker:
            host, _, port = settings.kafka_bootstrap_servers.rpartition(":")
            supervisor.start("broker", tansu_command(host, int(port)), tansu_env())
            supervisor.on_restart["broker"] = lambda: _broker_restarted(settings, supervisor, say)
        kafka.wait_until_reachable(settings.kafka_bootstrap_servers)
        topics = kafka.ensure_topics(
            settings.kafka_bootstrap_servers,
            kafka.TopicPolicy.from_settings(settings),
            security=kafka.security(settings),
        )
        for failure in topics.failed:
            say(f"topics: {failure}", error=True)
        migrations.upgrade_auth(settings.auth_database_url)
        for service in SERVICES:
            migrations.upgrade_service(service, settings.database_url(service), settings.data_encryption_keys)
        keys = demo_keys(KeyStore(create_engine(settings.auth_database_url)), var_dir / "dev-keys.json")

        _start_processes(supervisor, settings, var_dir, own_sink=own_sink)

        urls = {s: f"http://{settings.bind_host}:{settings.port(s)}" for s in SERVICES}
        for service, url in urls.items():
            if not _wait_healthy(url + "/healthz"):
                say(f"{service} did not start; see {log_dir / (service + '-web.log')}", error=True)
                return 1
        if stopping:
            return 0
        seeding = _start_demo(settings, urls["intake"], keys, log_dir)
        _Console.show(
            _banner(
                settings, var_dir, urls, keys, own_sink=own_sink, embedded_broker=embedded_broker, seeding=bool(seeding)
            )
        )
        while not stopping:
            if seeding and seeding.poll() is not None:
                _report_demo(seeding, log_dir / "demo.log")
                seeding = None
            supervisor.tend()
            time.sleep(0.5)
        return 0
    finally:
        say("Stopping...")
        if seeding and seeding.poll() is None:
            seeding.terminate()
        supervisor.stop(last=("broker", "smtp-sink"))
        say("Stopped.")


def _start_processes(supervisor: Supervisor, settings: Settings, var_dir: Path, *, own_sink: bool) -> None:
    """The SMTP sink (unless mail goes to a configured server), and each service's web,
    consumer and relay processes."""
    outcomes = [sys.executable, "-m", "ops.cli"]
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    if own_sink:
        supervisor.start(
            "smtp-sink", [*outcomes, "smtp-sink", "--host", settings.smtp_host, "--port", str(settings.smtp_port)]
        )
    metrics_root = var_dir / "prometheus"
    for service in SERVICES:
        supervisor.start(
            f"{service}-web",
            [*gunicorn, f"services.{service}.entrypoints.wsgi:app"],
            {"SERVICE": service, "PROMETHEUS_MULTIPROC_DIR": str(metrics_root / service)},
        )
        supervisor.start(f"{service}-consumer", [*outcomes, "consume", service])
        supervisor.start(f"{service}-relay", [*outcomes, "relay", service])


def _banner(
    settings: Settings,
    var_dir: Path,
    urls: dict[str, str],
    keys: dict[str, str],
    *,
    own_sink: bool,
    embedded_broker: bool,
    seeding: bool,
) -> str:
    """What `make run` says once everything is up: where each part is, the demo keys, a first request."""
    log_dir = var_dir / "log"
    smtp_address = f"{settings.smtp_host}:{settings.smtp_port}"
    lines = ["", "Outcome Chain is running.", ""]
    lines += [f"  {service:<10} {url}   (health: {url}/healthz)" for service, url in urls.items()]
    lines += ["", f"  Kafka      {settings.kafka_bootstrap_servers}" + ("  (embedded)" if embedded_broker else "")]
    if settings.email_provider != "smtp":
        lines.append(f"  Email      {settings.email_provider} (EMAIL_PROVIDER)")
    elif own_sink:
        lines.append(f"  SMTP sink  {smtp_address}  -> {var_dir / 'mail'}")
    else:
        lines.append(f"  Email      to the SMTP server at {smtp_address} (SMTP_HOST is set: no local sink)")
    lines.append(
        f"  Metrics    {urls['intake']}/metrics with 'Authorization: Bearer <METRICS_TOKEN in {var_dir / 'dev.env'}>'"
    )
    lines += [f"  Logs       {log_dir}", ""]
    lines.append(f"Demo keys for tenant '{DEMO_TENANT}' (also in {var_dir / 'dev-keys.json'}):")
    lines += [f"  {role:<12} {key}" for role, key in keys.items()]
    lines += ["", f"Try:\n  curl -H 'Authorization: Bearer {keys['staff']}' {urls['intake']}/v1/engagements", ""]
    if seeding:
        lines.append("Seeding the demo council in the background (OUTCOMES_DEMO=0 skips this); its chains follow here.")
    lines.append("A process that stops is started again (see var/log/supervisor.log).")
    lines.append("Press Ctrl-C to stop everything.")
    return "\n".join(lines)


def _broker_restarted(settings: Settings, supervisor: Supervisor, say: Callable[..., None]) -> None:
    """The embedded broker came back empty (it keeps topics and committed offsets in memory):
    create the topics, have every relay publish its retained outbox again, and start every
    consumer afresh so each reads the topics from the beginning. Consumers de-duplicate by
    event id, so nothing is applied twice, and nothing published but not yet consumed is lost."""
    try:
        kafka.wait_until_reachable(settings.kafka_bootstrap_servers, timeout=15)
        kafka.ensure_topics(
            settings.kafka_bootstrap_servers,
            kafka.TopicPolicy.from_settings(settings),
            security=kafka.security(settings),
        )
    except Exception as exc:  # noqa: BLE001 - it is started again if it dies; said here
        say(f"the broker did not come back ({type(exc).__name__}); its clients keep retrying", error=True)
        return
    clients = [f"{s}-{kind}" for s in SERVICES for kind in ("consumer", "relay")]
    again = {}

    def republish() -> None:
        for service in SERVICES:
            engine = create_engine(settings.database_url(service))
            try:
                again[service] = republish_retained(engine)
            finally:
                engine.dispose()

    supervisor.restart(clients, meanwhile=republish)
    say(
        "the broker starts empty: topics created again; the relays publish their retained outboxes again ("
        + ", ".join(f"{s} {n}" for s, n in again.items())
        + " events); the consumers read from the beginning and skip what they have applied"
    )


def _start_demo(settings: Settings, intake_url: str, keys: dict[str, str], log_dir: Path) -> subprocess.Popen | None:
    """`outcomes demo` in the background on a first start (see var/log/demo.log)."""
    if not settings.outcomes_demo:
        return None
    try:
        if not not_yet_seeded(intake_url, keys):
            return None
    except DemoFailed:
        return None
    with open(log_dir / "demo.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "demo", "--keys", str(settings.var_dir / "dev-keys.json")],
            cwd=ROOT,
            env={**os.environ, "OUTCOMES_VAR_DIR": str(settings.var_dir), "OUTCOMES_ENV": DEVELOPMENT},
            stdout=subprocess.PIPE,  # its short summary, printed here when it is done
            stderr=log,
            text=True,
            start_new_session=True,
            preexec_fn=die_with_supervisor(),
        )


def _report_demo(seeding: subprocess.Popen, log: Path) -> None:
    if seeding.returncode == 0:
        print("\n" + seeding.stdout.read().strip() + "\n", flush=True)
    else:
        print(f"The demo council could not be seeded; see {log}", file=sys.stderr, flush=True)
