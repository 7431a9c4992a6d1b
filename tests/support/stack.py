"""The whole system as separate processes, as an operator runs it, for end-to-end tests.

Tansu, one PostgreSQL database per service (and the key registry), a real SMTP server
and a local GOV.UK Notify API; the operator's `outcomes` CLI migrates, creates the topics,
the council and its keys; then each service runs under gunicorn beside its consumer(s) and
outbox relay, with the notifier's sender on its own as well. Every process starts in an
empty working directory, from this checkout or from an installed wheel (`install`).
Process handling (a process group each, logs, teardown) is the benchmarks'
(bench/harness.py, bench/stack.py).
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import stack as bench_stack
from bench.harness import (
    CHECKOUT,
    Install,
    Options,
    Proc,
    Processes,
    RunContext,
    base_environment,
    free_port,
    http_ok,
    wait_until,
)
from shared.infra.settings import SERVICES
from shared.rules.constants import ROLES
from tests.support.postgres import PostgresCluster
from tests.support.providers import FakeNotify
from tests.support.smtp import SmtpServer

STARTUP_TIMEOUT = 60


@dataclass
class Stack:
    ctx: RunContext
    tenant: str
    urls: dict[str, str]  # service -> base URL
    keys: dict[str, str]  # role -> API key
    smtp: SmtpServer
    notify: FakeNotify
    notify_callback_token: str
    kafka_bootstrap: str
    public_urls: dict[str, str] = field(default_factory=dict)  # service -> base URL in participants' links

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def wait_for(self, check: Callable[[], object], what: str, timeout: float = 60) -> None:
        """Poll `check` until it is true; fail with `what` if it is not within `timeout`
        seconds, or at once with the log of any process of the stack that has died."""
        processes = self.ctx.processes
        wait_until(
            check, timeout=timeout, interval=0.25, what=what, procs=tuple(processes.started), processes=processes
        )

    def consumers(self, service: str) -> list[Proc]:
        """The service's consumer replicas that are still running (each with its METRICS_PORT in `env`)."""
        return [
            proc for proc in self.ctx.processes.started if proc.name.startswith(f"{service}-consumer") and proc.alive()
        ]

    def log_tails(self, lines: int = 25) -> str:
        return "\n\n".join(
            f"--- {proc.name} (pid {proc.pid}, {'running' if proc.alive() else f'exit {proc.popen.returncode}'})"
            f" {proc.log_path}\n{proc.tail(lines)}"
            for proc in self.ctx.processes.started
        )


def outcomes_cli(ctx: RunContext, *args: str) -> str:
    """One `outcomes` command, as an operator types it; its output."""
    done = subprocess.run(
        [*ctx.install.outcomes, *args],
        cwd=ctx.processes.cwd,
        env=ctx.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        raise RuntimeError(f"outcomes {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def outcomes_cli_together(ctx: RunContext, *commands: tuple[str, ...]) -> list[str]:
    """Independent `outcomes` commands side by side (each process spends most of its time starting)."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: outcomes_cli(ctx, *args), commands))


def create_council(ctx: RunContext, slug: str, name: str, case_systems: tuple[str, ...] = ()) -> dict[str, str]:
    """The tenant, its case systems' CloudEvents sources and one key per role, through the CLI: {role: key}."""
    outcomes_cli(ctx, "tenants", "create", slug, "--name", name)
    for source in case_systems:
        outcomes_cli(ctx, "sources", "add", "--tenant", slug, source)
    printed = outcomes_cli_together(
        ctx, *(("keys", "create", "--tenant", slug, "--role", role, "--label", "e2e") for role in ROLES)
    )
    return {
        role: re.search(r"^key:\s+(\S+)$", out, re.MULTILINE).group(1) for role, out in zip(ROLES, printed, strict=True)
    }


def start_broker(ctx: RunContext) -> str:
    from ops.broker import start_tansu

    port = free_port()
    log_path = ctx.logs / "broker.log"
    ctx.processes.adopt("broker", start_tansu("127.0.0.1", port, log_path), log_path)
    ctx.env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap = f"127.0.0.1:{port}"
    return bootstrap


@contextmanager
def running_stack(
    tmp: Path,
    postgres: PostgresCluster,
    *,
    tenant: str,
    tenant_name: str,
    install: Install = CHECKOUT,
    consumers: int = 1,
    public_domain: str | None = None,
    settings: dict[str, str] | None = None,
    case_systems: tuple[str, ...] = (),
) -> Iterator[Stack]:
    """Everything up and ready (every /readyz 200); everything stopped when the block ends.

    `consumers` replicas of each service's consumer (one consumer group per service);
    `public_domain` puts participants' links on `http://SERVICE.DOMAIN:PORT` (resolved by
    whoever follows them, as an ingress would) instead of 127.0.0.1; `settings` are
    added to every process's environment last; `case_systems` are the CloudEvents sources
    registered for the tenant.
    """
    for directory in ("logs", "var", "workdir"):
        (tmp / directory).mkdir(parents=True, exist_ok=True)
    env = base_environment(tmp, install)
    # An empty working directory: nothing there to import, and no `.env` to read.
    processes = Processes(tmp / "logs", env, cwd=tmp / "workdir")
    ctx = RunContext(Options(quick=True), tmp, processes, env, install)
    smtp = SmtpServer(tmp / "mail")
    notify = FakeNotify().start()
    try:
        ports = {service: free_port() for service in SERVICES}
        urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
        public_urls = {
            service: f"http://{service}.{public_domain}:{port}" if public_domain else urls[service]
            for service, port in ports.items()
        }
        callback_token = uuid.uuid4().hex
        env.update(
            {f"{service.upper()}_PORT": str(port) for service, port in ports.items()}
            | {f"{name.upper()}_DATABASE_URL": postgres.create_database() for name in ("auth", *SERVICES)}
            | {
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(smtp.port),
                "SMTP_TLS": "none",
                "MAIL_FROM": f"{tenant_name} <outcomes@{tenant}.example.gov.uk>",
                "SMS_PROVIDER": "notify",
                "NOTIFY_BASE_URL": notify.base_url,
                "NOTIFY_API_KEY": notify.api_key,
                "NOTIFY_SMS_TEMPLATE_ID": str(uuid.uuid4()),
                # Letters go to the local Notify server's letter API, as a council's go to Notify.
                "LETTER_PROVIDER": "notify",
                "NOTIFY_LETTER_TEMPLATE_ID": str(uuid.uuid4()),
                "NOTIFY_CALLBACK_TOKEN": callback_token,
                "PUBLIC_BASE_URL": public_urls["decisions"],
                "NOTIFIER_PUBLIC_URL": public_urls["notifier"],
                "LINK_SIGNING_SECRET": uuid.uuid4().hex,
                # The scheduled checks run every second, not every minute, so a test need not wait.
                "OVERDUE_CHECK_INTERVAL": "1",
                # SMS goes out whatever the hour the suite runs at.
                "NOTIFIER_SMS_QUIET_HOURS": "off",
            }
            | (settings or {})
        )
        bootstrap = start_broker(ctx)
        outcomes_cli_together(ctx, ("topics", "create"), ("migrate", "--all"))
        keys = create_council(ctx, tenant, tenant_name, case_systems)
        for service in SERVICES:
            bench_stack.start_gunicorn(
                ctx,
                f"{service}-web",
                f"services.{service}.entrypoints.wsgi:app",
                service=service,
                port=ports[service],
                wait=False,
            )
            for replica in range(1, consumers + 1):
                name = f"{service}-consumer" + (f"-{replica}" if consumers > 1 else "")
                # Each replica answers /metrics on its own port (its partitions' lag among them).
                metrics = {"METRICS_PORT": str(free_port()), "METRICS_BIND_HOST": "127.0.0.1"}
                bench_stack.start_worker(ctx, service, "consume", name=name, env=metrics)
            bench_stack.start_worker(ctx, service, "relay")
        processes.start("notifier-sender", [*install.outcomes, "send"])
        stack = Stack(ctx, tenant, urls, keys, smtp, notify, callback_token, bootstrap, public_urls)
        for service, url in urls.items():
            stack.wait_for(lambda url=url: http_ok(url + "/readyz"), f"{service} to be ready", STARTUP_TIMEOUT)
        yield stack
    finally:
        stop_together(processes)
        notify.stop()
        smtp.stop()


def stop_together(processes: Processes) -> None:
    """Every service process at once (each may take seconds to finish cleanly), then the broker."""
    services = [proc for proc in processes.started if proc.name != "broker"]
    with ThreadPoolExecutor(max(1, len(services))) as pool:
        list(pool.map(lambda proc: proc.stop(), services))
    processes.stop_all()  # the broker, and anything a failed stop left
