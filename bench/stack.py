"""Starting the project's real parts for a benchmark: broker, databases, tenant, web.

Each function takes the benchmark's RunContext, registers what it starts with
`ctx.processes` (so teardown is automatic) and adds what children need to `ctx.env`.
"""

from __future__ import annotations

import socket

from bench.harness import PYTHON, Proc, RunContext, free_port, http_ok, wait_until
from bench.mail_tools import MailDir


def start_broker(ctx: RunContext, extra_topics: tuple[str, ...] = ()) -> str:
    """A Tansu broker on a free port with the project's topics (and `extra_topics`)."""
    from ops.broker import start_tansu
    from shared.messaging import kafka

    port = free_port()
    log_path = ctx.logs / "broker.log"
    popen = start_tansu("127.0.0.1", port, log_path)
    ctx.processes.adopt("broker", popen, log_path)
    bootstrap = f"127.0.0.1:{port}"
    kafka.create_topics(bootstrap)
    if extra_topics:
        kafka.create_topics(bootstrap, topics=extra_topics)
    ctx.env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    return bootstrap


def broker_proc(ctx: RunContext) -> Proc:
    return next(p for p in ctx.processes.started if p.name == "broker")


def migrate(ctx: RunContext, service: str) -> str:
    """Fresh databases on the run's engine for auth (once) and `service`, migrated; returns the service URL."""
    from shared.infra import migrations

    auth_url = ctx.env.get("AUTH_DATABASE_URL") or ctx.database_url("auth")
    service_url = ctx.database_url(service)
    migrations.upgrade_auth(auth_url)
    migrations.upgrade_service(service, service_url)
    ctx.env["AUTH_DATABASE_URL"] = auth_url
    ctx.env[f"{service.upper()}_DATABASE_URL"] = service_url
    return service_url


def migrate_services(ctx: RunContext, services: tuple[str, ...]) -> dict[str, str]:
    """`migrate` for each of `services` (one auth database for all): {service: URL}."""
    return {service: migrate(ctx, service) for service in services}


def start_worker(
    ctx: RunContext, service: str, command: str, name: str | None = None, env: dict[str, str] | None = None
) -> Proc:
    """`outcomes consume SERVICE` or `outcomes relay SERVICE`, as `make run` starts them
    (from `ctx.install`); `name` tells replicas apart, `env` adds to their settings."""
    return ctx.processes.start(
        name or f"{service}-{'consumer' if command == 'consume' else command}",
        [*ctx.install.outcomes, command, service],
        env,
    )


def create_tenant(
    ctx: RunContext, slug: str, roles: tuple[str, ...], case_systems: tuple[str, ...] = ()
) -> dict[str, str]:
    """The tenant, the CloudEvents sources its case systems publish submissions as, and one
    API key per role in `roles`: {role: key}."""
    from shared.infra.auth import KeyStore
    from shared.infra.db import create_engine

    engine = create_engine(ctx.env["AUTH_DATABASE_URL"])
    try:
        keys = KeyStore(engine)
        keys.create_tenant(slug, f"Benchmark council {slug}")
        for source in case_systems:
            keys.add_source(slug, source)
        return {role: keys.create_key(slug, role, label="benchmark")[1] for role in roles}
    finally:
        engine.dispose()


def start_gunicorn(
    ctx: RunContext,
    name: str,
    app: str,
    *,
    service: str = "intake",
    workers: int = 2,
    env: dict | None = None,
    port: int | None = None,
    wait: bool = True,
) -> tuple[Proc, str]:
    """`gunicorn -c deploy/gunicorn.conf.py APP` (as `ctx.install` runs it) on `port`
    (default: a free one); waits for /healthz unless `wait` is false (to boot several side by side).

    The same config file serves the service and the bare baseline, so both get the
    same workers, worker class, timeouts and access log.
    """
    port = port or free_port()
    metrics_dir = ctx.tmp / "prometheus" / name
    proc = ctx.processes.start(
        name,
        [*ctx.install.gunicorn, app],
        {
            "SERVICE": service,
            f"{service.upper()}_PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            # As deploy/k8s/*.yaml run the web processes: metrics add up across workers.
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            # The load generators send thousands of requests a second with one key: measure, don't throttle.
            "RATE_LIMIT_PER_MINUTE": "100000000",
            "RATE_LIMIT_BURST": "10000000",
            **(env or {}),
        },
    )
    url = f"http://127.0.0.1:{port}"
    if not wait:
        return proc, url
    wait_until(
        lambda: http_ok(url + "/healthz"),
        timeout=60,
        interval=0.2,
        what=f"{name} to answer {url}/healthz",
        procs=(proc,),
        processes=ctx.processes,
    )
    return proc, url


def start_smtp_sink(ctx: RunContext, name: str = "smtp-sink") -> tuple[Proc, int, MailDir]:
    """`python -m ops.cli smtp-sink --port P --dir D` on a free port; sets SMTP_HOST and
    SMTP_PORT in `ctx.env` for the processes started after it."""
    port = free_port()
    directory = ctx.tmp / "mail"
    proc = ctx.processes.start(
        name,
        [PYTHON, "-m", "ops.cli", "smtp-sink", "--host", "127.0.0.1", "--port", str(port), "--dir", str(directory)],
    )

    def listening() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
                return connection.recv(64).startswith(b"220")
        except OSError:
            return False

    wait_until(
        listening,
        timeout=30,
        interval=0.1,
        what=f"the SMTP sink on port {port}",
        procs=(proc,),
        processes=ctx.processes,
    )
    ctx.env.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_TLS": "none"})
    return proc, port, MailDir(directory)
