"""`outcomes`: the operator's command line.

outcomes migrate --all | SERVICE...     apply database migrations
outcomes topics create                  create the Kafka topics
outcomes tenants create SLUG [--name]   add a council
outcomes keys create --tenant SLUG --role ROLE [--label TEXT]
outcomes keys revoke KEY_ID
outcomes keys list --tenant SLUG
outcomes keys generate-data-key         a new Fernet key for DATA_ENCRYPTION_KEYS
outcomes consume SERVICE                run a service's idempotent consumer
outcomes relay SERVICE                  run a service's outbox relay
outcomes send                           run the notifier's sender on its own
outcomes dead-letters list SERVICE [--tenant SLUG]
outcomes dead-letters replay SERVICE ID
outcomes broker                         the embedded Tansu broker (development only)
outcomes smtp-sink                      a local SMTP server writing var/mail/
outcomes run                            everything on one machine (what `make run` does)
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
import threading
from types import ModuleType

from shared import kafka
from shared.constants import ROLES
from shared.crypto import Sealer
from shared.settings import SERVICES, Settings

log = logging.getLogger("outcomes")


def service_module(name: str) -> ModuleType:
    return importlib.import_module(f"services.{name}.bootstrap")


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _keystore(settings: Settings):
    from shared.auth import KeyStore
    from shared.db import create_engine

    return KeyStore(create_engine(settings.auth_database_url))


def cmd_migrate(args, settings: Settings) -> int:
    from shared import migrations

    services = SERVICES if args.all else args.services
    migrations.upgrade_auth(settings.auth_database_url)
    for service in services:
        migrations.upgrade_service(service, settings.database_url(service))
        print(f"migrated {service}")
    return 0


def cmd_topics(args, settings: Settings) -> int:
    created = kafka.create_topics(settings.kafka_bootstrap_servers, partitions=args.partitions)
    print("created: " + (", ".join(created) if created else "none (all exist)"))
    return 0


def cmd_tenants(args, settings: Settings) -> int:
    keys = _keystore(settings)
    if args.action == "create":
        created = keys.create_tenant(args.slug, args.name)
        print(f"{'created' if created else 'exists'}: {args.slug}")
    else:
        print("\n".join(keys.list_tenants()))
    return 0


def cmd_keys(args, settings: Settings) -> int:
    from shared.auth import UnknownKey, UnknownTenant

    if args.action == "generate-data-key":
        print(Sealer.generate_key())
        return 0
    keys = _keystore(settings)
    if args.action == "create":
        try:
            key_id, key = keys.create_key(args.tenant, args.role, args.label)
        except UnknownTenant:
            print(f"no tenant {args.tenant!r}: create it with `outcomes tenants create {args.tenant}`", file=sys.stderr)
            return 2
        print(f"key id: {key_id}\nkey:    {key}\nThe key is shown once; only its hash is stored.")
    elif args.action == "revoke":
        try:
            keys.revoke(args.key_id)
        except UnknownKey:
            print(f"no key {args.key_id!r}", file=sys.stderr)
            return 2
        print(f"revoked {args.key_id}")
    else:
        for key in keys.list_keys(args.tenant):
            print(json.dumps(key, default=str))
    return 0


def _configure_logging(service: str, settings: Settings) -> None:
    from shared.logging import configure

    configure(service, settings.log_level)


def cmd_consume(args, settings: Settings) -> int:
    module = service_module(args.service)
    _configure_logging(args.service, settings)
    stop = stop_on_signals()
    if not module.INBOUND_TOPICS:
        log.info("no inbound topics yet; idling", extra={"service": args.service})
        stop.wait()
        return 0
    from shared.consumer import ConsumerLoop

    platform = module.bootstrap(settings)
    client = kafka.consumer(
        settings.kafka_bootstrap_servers,
        group_id=args.service,
        topics=module.INBOUND_TOPICS,
        max_poll_records=settings.consumer_max_poll_records,
    )
    log.info("consuming", extra={"service": args.service, "topics": module.INBOUND_TOPICS})
    for interval, task in getattr(module, "scheduled", lambda _: [])(platform):
        threading.Thread(target=run_every, args=(interval, task, stop), name=task.__name__, daemon=True).start()
    ConsumerLoop(client, platform.processor).run(stop)
    return 0


def run_every(interval: float, task, stop: threading.Event) -> None:
    """A periodic task beside the consumer: run again at once while it finds work, else
    wait `interval`; a failure is logged and tried again next time."""
    while not stop.is_set():
        try:
            done = task()
        except Exception:
            log.exception("scheduled task failed", extra={"task": task.__name__})
            done = 0
        if not done:
            stop.wait(interval)


def cmd_send(args, settings: Settings) -> int:
    """The notifier's sender on its own (the consumer process runs one too)."""
    module = service_module("notifier")
    _configure_logging("notifier", settings)
    platform = module.bootstrap(settings)
    stop = stop_on_signals()
    log.info("sending notifications")
    for interval, task in module.scheduled(platform):
        run_every(interval, task, stop)
    return 0


def cmd_relay(args, settings: Settings) -> int:
    from shared.outbox import OutboxRelay

    platform = service_module(args.service).bootstrap(settings)
    _configure_logging(args.service, settings)
    stop = stop_on_signals()
    producer = kafka.producer(settings.kafka_bootstrap_servers)
    log.info("relaying outbox", extra={"service": args.service})
    try:
        OutboxRelay(platform.engine, producer, service=args.service, batch_size=settings.relay_batch_size).run(stop)
    finally:
        producer.close(timeout=5)
    return 0


def cmd_dead_letters(args, settings: Settings) -> int:
    from shared import dead_letters
    from shared.domain import InvalidInput, NotFound

    platform = service_module(args.service).bootstrap(settings)
    if args.action == "list":
        items, total = dead_letters.list_for_tenant(platform.engine, args.tenant, status=None, page=1, per_page=200)
        for item in items:
            print(json.dumps(item, default=str))
        print(f"{total} dead letter(s)")
        return 0
    try:
        outcome = platform.processor.replay(args.id, tenant=None)
    except NotFound:
        print(f"no dead letter {args.id!r}", file=sys.stderr)
        return 2
    except InvalidInput as invalid:
        print(f"still refused: {invalid}", file=sys.stderr)
        return 1
    print(f"replayed: {outcome}")
    return 0


def cmd_broker(args, settings: Settings) -> int:
    from shared.broker import start_tansu

    process = start_tansu(args.host, args.port)
    print(f"Tansu broker on {args.host}:{args.port} (memory only; Ctrl-C stops it)")
    stop = stop_on_signals()
    stop.wait()
    process.terminate()
    return 0


def cmd_smtp_sink(args, settings: Settings) -> int:
    from pathlib import Path

    from shared import smtp_sink

    directory = Path(args.dir) if args.dir else settings.var_dir / "mail"
    controller = smtp_sink.start(directory, args.host, args.port)
    print(f"SMTP sink on {args.host}:{args.port}, keeping messages in {directory}")
    stop = stop_on_signals()
    stop.wait()
    controller.stop()
    return 0


def cmd_run(args, settings: Settings) -> int:
    from shared import devrun

    return devrun.run(settings)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="outcomes", description="Outcome Chain operations.")
    sub = root.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("services", nargs="*", metavar="SERVICE", help=", ".join(SERVICES))
    p.add_argument("--all", action="store_true")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("topics", help="create the Kafka topics")
    p.add_argument("action", choices=["create"])
    p.add_argument("--partitions", type=int, default=kafka.DEFAULT_PARTITIONS)
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("tenants", help="councils served by this deployment")
    p.add_argument("action", choices=["create", "list"])
    p.add_argument("slug", nargs="?")
    p.add_argument("--name")
    p.set_defaults(func=cmd_tenants)

    p = sub.add_parser("keys", help="API keys")
    p.add_argument("action", choices=["create", "revoke", "list", "generate-data-key"])
    p.add_argument("key_id", nargs="?")
    p.add_argument("--tenant")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--label")
    p.set_defaults(func=cmd_keys)

    for name, func in (("consume", cmd_consume), ("relay", cmd_relay)):
        p = sub.add_parser(name)
        p.add_argument("service", choices=SERVICES)
        p.set_defaults(func=func)

    p = sub.add_parser("send", help="run the notifier's sender (beside or instead of the one in its consumer)")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("dead-letters", help="inbound events that could not be accepted")
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("service", choices=SERVICES)
    p.add_argument("id", nargs="?")
    p.add_argument("--tenant")
    p.set_defaults(func=cmd_dead_letters)

    p = sub.add_parser("broker", help="the embedded Tansu broker (development only)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9092)
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("smtp-sink", help="a local SMTP server that keeps messages as files")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8025)
    p.add_argument("--dir")
    p.set_defaults(func=cmd_smtp_sink)

    p = sub.add_parser("run", help="start everything on this machine")
    p.set_defaults(func=cmd_run)
    return root


def _check(args, root: argparse.ArgumentParser) -> None:
    needs = {
        ("tenants", "create"): ["slug"],
        ("keys", "create"): ["tenant", "role"],
        ("keys", "revoke"): ["key_id"],
        ("keys", "list"): ["tenant"],
        ("dead-letters", "replay"): ["id"],
    }
    for name in needs.get((args.command, getattr(args, "action", None)), []):
        if not getattr(args, name, None):
            root.error(f"{args.command} {args.action} needs {name.replace('_', ' ')}")
    if args.command == "migrate" and not (args.all or args.services):
        root.error("name the services to migrate, or --all")
    unknown = set(getattr(args, "services", None) or []) - set(SERVICES)
    if unknown:
        root.error(f"unknown service(s): {', '.join(sorted(unknown))}; choose from {', '.join(SERVICES)}")


def main(argv: list[str] | None = None) -> int:
    root = parser()
    args = root.parse_args(argv)
    _check(args, root)
    return args.func(args, Settings.from_env())


if __name__ == "__main__":
    sys.exit(main())
