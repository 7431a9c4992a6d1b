"""`outcomes`: the operator's command line.

outcomes migrate --all | SERVICE...     apply database migrations
outcomes topics create [--partitions N] [--replication-factor N] [--min-insync-replicas M]
                       [--submissions-retention-days D]
                                        create the Kafka topics; on existing ones set the configs
                                        that differ and say what Kafka cannot change in place
outcomes tenants create SLUG [--name]   add a council
outcomes keys create --tenant SLUG --role ROLE [--label TEXT]
outcomes keys revoke KEY_ID
outcomes keys list --tenant SLUG
outcomes keys generate-data-key         a new Fernet key for DATA_ENCRYPTION_KEYS
outcomes sources add --tenant SLUG URI  register a CloudEvents `source` the council's case systems
                                        publish submissions as (others on intake.submissions are refused)
outcomes sources remove --tenant SLUG URI
outcomes sources list --tenant SLUG
outcomes identity-provider set --tenant SLUG --issuer URL --client-id ID --client-secret-file FILE
                       [--role-claim groups] [--scope "openid profile"]
                       [--staff-group G]... [--board-group G]... [--admin-group G]...
                                        the council's OpenID Connect provider: its people sign in there,
                                        their role from the groups in the claim; access keys no longer
                                        open its pages
outcomes identity-provider show|remove --tenant SLUG
outcomes reencrypt --all | SERVICE...   move every sealed value in the databases onto the first key
outcomes consume SERVICE                run a service's idempotent consumer
outcomes relay SERVICE                  run a service's outbox relay
outcomes send                           run the notifier's sender on its own
outcomes dead-letters list SERVICE [--tenant SLUG]
outcomes dead-letters replay SERVICE ID
outcomes participants erase --tenant SLUG PARTICIPANT_ID
                                        erase a person at their request (as DELETE /v1/participants/ID):
                                        every service forgets their name, contact details and words
outcomes import contributions FILE.csv --tenant SLUG --engagement ID [--channel paper|meeting]
                                        contributions gathered on paper or at meetings; every row is
                                        checked first (all or nothing), a re-run skips rows done
outcomes export chains --tenant SLUG [--engagement ID] [--format csv|json] [--output FILE]
                                        outcome chains from decisions' database (no contact details)
outcomes demo [--intake-url URL] [--decisions-url URL] [--keys var/dev-keys.json]
                                        seed a realistic demo council through the APIs and events
outcomes broker                         the embedded Tansu broker (development only)
outcomes smtp-sink                      a local SMTP server writing var/mail/
outcomes run                            everything on one machine (what `make run` does)
outcomes settings check                 check the settings in this environment as a serving process would
outcomes settings --markdown            the settings table (README "Settings")

A command that needs the databases says so when they are not migrated yet; a setting that will
not do is named in one line, with exit status 4, before anything starts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from shared.infra import rekey
from shared.infra.crypto import MissingEncryptionKey, Sealer
from shared.infra.settings import EXIT_BAD_SETTINGS, SERVICES, Settings, SettingsError, markdown_table, serving_problems
from shared.messaging import kafka, runners
from shared.rules.constants import ROLES

# Commands that serve: in production they refuse settings that only fit one machine.
SERVING = ("consume", "relay", "send")


def service_module(name: str) -> ModuleType:
    return importlib.import_module(f"services.{name}.bootstrap")


def _keystore(settings: Settings):
    from shared.infra.auth import KeyStore
    from shared.infra.db import create_engine

    return KeyStore(create_engine(settings.auth_database_url))


def cmd_migrate(args, settings: Settings) -> int:
    from shared.infra import migrations

    services = SERVICES if args.all else args.services
    migrations.upgrade_auth(settings.auth_database_url)
    for service in services:
        migrations.upgrade_service(service, settings.database_url(service), settings.data_encryption_keys)
        print(f"migrated {service}")
    return 0


def topic_policy(args, settings: Settings) -> kafka.TopicPolicy:
    """The command line's choices, else the settings' (KAFKA_REPLICATION_FACTOR ...)."""
    return kafka.TopicPolicy.from_settings(
        settings,
        partitions=args.partitions,
        replication_factor=args.replication_factor,
        min_insync_replicas=args.min_insync_replicas,
        submissions_retention_days=args.submissions_retention_days,
    )


def cmd_topics(args, settings: Settings) -> int:
    try:
        policy = topic_policy(args, settings)
    except ValueError as invalid:
        print(f"topics not created: {invalid}", file=sys.stderr)
        return 2
    report = kafka.ensure_topics(settings.kafka_bootstrap_servers, policy, security=kafka.security(settings))
    for line in report.lines():
        print(line, file=sys.stderr if line.startswith("failed:") else sys.stdout)
    return 1 if report.failed else 0


def cmd_tenants(args, settings: Settings) -> int:
    keys = _keystore(settings)
    if args.action == "create":
        created = keys.create_tenant(args.slug, args.name)
        print(f"{'created' if created else 'exists'}: {args.slug}")
    else:
        print("\n".join(keys.list_tenants()))
    return 0


def cmd_keys(args, settings: Settings) -> int:
    from shared.infra.auth import UnknownKey, UnknownTenant

    if args.action == "generate-data-key":
        print(Sealer.generate_key())
        return 0
    keys = _keystore(settings)
    if args.action == "create":
        try:
            key_id, key = keys.create_key(args.tenant, args.role, args.label)
        except UnknownTenant:
            return _no_tenant(args.tenant)
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


def _no_tenant(slug: str) -> int:
    print(f"no tenant {slug!r}: create it with `outcomes tenants create {slug}`", file=sys.stderr)
    return 2


def cmd_sources(args, settings: Settings) -> int:
    from shared.infra.auth import UnknownSource, UnknownTenant

    keys = _keystore(settings)
    if args.action == "add":
        try:
            _, created = keys.add_source(args.tenant, args.uri)
        except UnknownTenant:
            return _no_tenant(args.tenant)
        except ValueError as invalid:
            print(f"not registered: {invalid}", file=sys.stderr)
            return 2
        print(f"{'registered' if created else 'already registered'}: {args.uri} for {args.tenant}")
    elif args.action == "remove":
        try:
            keys.remove_source(args.tenant, uri=args.uri)
        except UnknownSource:
            print(f"{args.tenant!r} has no source {args.uri!r}", file=sys.stderr)
            return 2
        print(f"removed: {args.uri} for {args.tenant}")
    else:
        for source in keys.list_sources(args.tenant):
            print(json.dumps(source, default=str))
    return 0


def cmd_identity_provider(args, settings: Settings) -> int:
    from shared.infra.auth import UnknownTenant
    from shared.infra.identity import (
        DEFAULT_ROLE_CLAIM,
        DEFAULT_SCOPE,
        IdentityProvider,
        IdentityProviders,
        issuer_problem,
    )

    keys = _keystore(settings)
    if args.action == "show":
        found = IdentityProviders(keys.engine, Sealer(settings.data_encryption_keys)).listed(args.tenant)
        print(json.dumps(found) if found else f"{args.tenant!r} has no identity provider: its pages take access keys")
        return 0
    if args.action == "remove":
        removed = IdentityProviders(keys.engine, None).remove(args.tenant)
        print(f"{'removed' if removed else 'none to remove'}: {args.tenant} signs in with access keys")
        return 0
    problem = issuer_problem(args.issuer, production=not settings.development)
    if problem:
        print(f"not set: {problem}", file=sys.stderr)
        return 2
    secret = Path(args.client_secret_file).read_text(encoding="utf-8").strip()
    if not secret or not (args.staff_group or args.board_group or args.admin_group):
        print(
            "not set: it needs a client secret and at least one --staff-group, --board-group or --admin-group",
            file=sys.stderr,
        )
        return 2
    provider = IdentityProvider(
        tenant=args.tenant,
        issuer=args.issuer,
        client_id=args.client_id,
        client_secret=secret,
        role_claim=args.role_claim or DEFAULT_ROLE_CLAIM,
        staff_groups=tuple(args.staff_group or ()),
        board_groups=tuple(args.board_group or ()),
        admin_groups=tuple(args.admin_group or ()),
        scope=args.scope or DEFAULT_SCOPE,
    )
    try:
        created = IdentityProviders(keys.engine, Sealer(settings.data_encryption_keys)).set(provider)
    except UnknownTenant:
        return _no_tenant(args.tenant)
    print(f"{'set' if created else 'updated'}: {args.tenant} signs in with {args.issuer}")
    return 0


def entrypoint(service: str, process: str) -> Callable[[Settings], int]:
    """A service's process (`consumer`, `relay`, the notifier's `sender`): its entrypoint's main."""
    return importlib.import_module(f"services.{service}.entrypoints.{process}").main


def cmd_consume(args, settings: Settings) -> int:
    return entrypoint(args.service, "consumer")(settings)


def cmd_send(args, settings: Settings) -> int:
    """The notifier's sender on its own (the consumer process runs one too)."""
    return entrypoint("notifier", "sender")(settings)


def cmd_relay(args, settings: Settings) -> int:
    return entrypoint(args.service, "relay")(settings)


def cmd_reencrypt(args, settings: Settings) -> int:
    """Retiring a data key:
    1. `outcomes keys generate-data-key`;
    2. deploy every process with DATA_ENCRYPTION_KEYS=NEW,OLD (new values are sealed with NEW);
    3. once the consumers have caught up, `outcomes reencrypt --all`, which re-seals every
       stored value (the outbox's pending events too) with NEW; run it again until it
       reports nothing re-encrypted or changed meanwhile;
    4. deploy with DATA_ENCRYPTION_KEYS=NEW.
    Safe to stop and run again. Exit status 1 if a value no configured key opens was found.
    """
    from shared.infra.db import create_engine
    from shared.infra.tables import platform_metadata

    sealer = Sealer(settings.data_encryption_keys)
    unreadable = 0
    for service in SERVICES if args.all else args.services:
        tables = importlib.import_module(f"services.{service}.adapters.tables")
        engine = create_engine(settings.database_url(service))
        try:
            reports = rekey.reencrypt(engine, [platform_metadata, tables.metadata], sealer, batch_size=args.batch_size)
        finally:
            engine.dispose()
        for report in reports:
            print(f"{service} {report.summary()}")
            for row_id in report.unreadable:
                print(f"{service} {report.table} id={row_id}: no configured key opens it", file=sys.stderr)
            unreadable += len(report.unreadable)
    return 1 if unreadable else 0


def cmd_phone_lookups(args, settings: Settings) -> int:
    """Rewrite the notifier's SMS-reply lookups read the way numbers are read now."""
    from services.notifier.service_layer.phone_lookups import rekey_phone_lookups

    platform = service_module("notifier").bootstrap(settings)
    try:
        report = rekey_phone_lookups(platform.uow, settings.link_signing_secret)
    finally:
        platform.engine.dispose()
    print(f"notifier recipients: {report.checked} checked, {report.rewritten} phone lookups rewritten")
    return 0


def cmd_participants(args, settings: Settings) -> int:
    from services.intake.service_layer import services
    from shared.rules.domain import NotFound

    platform = service_module("intake").bootstrap(settings)
    try:
        services.erase_participant(
            platform.uow(), args.tenant, args.participant_id, now=platform.clock(), source=platform.source
        )
    except NotFound:
        print(f"no participant {args.participant_id!r} in {args.tenant!r}", file=sys.stderr)
        return 2
    print(f"erased {args.participant_id}; the other services follow once intake's relay publishes it")
    return 0


def cmd_dead_letters(args, settings: Settings) -> int:
    from shared.messaging import dead_letters
    from shared.rules.domain import InvalidInput, NotFound

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


def cmd_import(args, settings: Settings) -> int:
    from pathlib import Path

    from ops.progress import bar
    from services.intake.entrypoints import csv_import

    platform = service_module("intake").bootstrap(settings)
    if not platform.keys.tenant_exists(args.tenant):
        print(f"no tenant {args.tenant!r}", file=sys.stderr)
        return 2
    try:
        report = csv_import.import_file(
            platform,
            Path(args.file),
            tenant=args.tenant,
            engagement_id=args.engagement,
            channel=args.channel,
            progress=bar("importing"),
        )
    except (OSError, csv_import.UnreadableFile) as unreadable:
        print(f"cannot import {args.file}: {unreadable}", file=sys.stderr)
        return 2
    if report.problems:
        for number, errors in report.problems.items():
            for column, messages in errors.items():
                where = "" if column.startswith("_") else f" {column}:"
                print(f"row {number}:{where} {' '.join(messages)}", file=sys.stderr)
        print(f"nothing imported: {len(report.problems)} of {report.rows} rows need fixing", file=sys.stderr)
        return 1
    print(f"imported {report.imported} contribution(s); {report.already_imported} already imported before")
    return 0


def cmd_export(args, settings: Settings) -> int:
    from contextlib import nullcontext

    from services.decisions.entrypoints.export import write_chains
    from shared.rules.domain import NotFound

    platform = service_module("decisions").bootstrap(settings)
    with open(args.output, "w", newline="", encoding="utf-8") if args.output else nullcontext(sys.stdout) as out:
        try:
            count = write_chains(platform, out, tenant=args.tenant, engagement_id=args.engagement, fmt=args.format)
        except NotFound:
            print(f"decisions has not heard of engagement {args.engagement!r}", file=sys.stderr)
            return 2
    print(f"exported {count} outcome chain(s)", file=sys.stderr)
    return 0


def cmd_demo(args, settings: Settings) -> int:
    from pathlib import Path

    from ops import demo

    keys_path = Path(args.keys) if args.keys else settings.var_dir / "dev-keys.json"
    decisions_url = args.decisions_url or f"http://{settings.bind_host}:{settings.port('decisions')}"
    try:
        seeded = demo.seed(
            settings,
            intake_url=args.intake_url or f"http://{settings.bind_host}:{settings.port('intake')}",
            decisions_url=decisions_url,
            keys=demo.load_keys(keys_path),
        )
    except demo.DemoFailed as failed:
        print(f"demo not seeded: {failed}", file=sys.stderr)
        return 1
    print(demo.summary(seeded, decisions_url=decisions_url, settings=settings, keys_path=keys_path))
    return 0


def _with_dev_secrets(settings: Settings) -> Settings:
    """Beside `make run`, every command reads the keys it keeps in var/dev.env (the environment
    still wins; elsewhere there is no such file and nothing changes)."""
    from ops import devrun

    return devrun.with_dev_secrets(settings)


def cmd_broker(args, settings: Settings) -> int:
    from ops.broker import start_tansu

    process = start_tansu(args.host, args.port)
    print(f"Tansu broker on {args.host}:{args.port} (memory only; Ctrl-C stops it)")
    stop = runners.stop_on_signals()
    stop.wait()
    process.terminate()
    return 0


def cmd_smtp_sink(args, settings: Settings) -> int:
    from pathlib import Path

    from ops import smtp_sink

    directory = Path(args.dir) if args.dir else settings.var_dir / "mail"
    controller = smtp_sink.start(directory, args.host, args.port)
    print(f"SMTP sink on {args.host}:{args.port}, keeping messages in {directory}")
    stop = runners.stop_on_signals()
    stop.wait()
    controller.stop()
    return 0


def cmd_settings(args) -> int:
    """`check`: every problem with this environment's settings, one a line, as a process that
    serves would find them (an operator's check; a Kubernetes init step may run it)."""
    if args.action != "check":
        sys.stdout.write(markdown_table())
        return 0
    try:
        settings = Settings.from_env()
        problems = serving_problems(settings)
    except SettingsError as error:
        problems = error.problems
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} setting problem(s)", file=sys.stderr)
        return 1
    print(f"settings ok ({settings.environment})")
    return 0


def cmd_run(args, settings: Settings) -> int:
    from ops import devextras, devrun

    devextras.require_all("outcomes run")
    return devrun.run(settings)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="outcomes", description="Outcome Chain operations.")
    sub = root.add_subparsers(dest="command", required=True)
    _setup_commands(sub)
    _process_commands(sub)
    _tool_commands(sub)
    return root


def _setup_commands(sub) -> None:
    """Databases, topics, tenants, keys and case-system sources."""
    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("services", nargs="*", metavar="SERVICE", help=", ".join(SERVICES))
    p.add_argument("--all", action="store_true")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("topics", help="create the Kafka topics (and set the configs of existing ones)")
    p.add_argument("action", choices=["create"])
    p.add_argument("--partitions", type=int, default=kafka.DEFAULT_PARTITIONS, help="of each new topic (default 3)")
    p.add_argument(
        "--replication-factor", type=int, metavar="N", help="replicas of each new topic (KAFKA_REPLICATION_FACTOR, 1)"
    )
    p.add_argument(
        "--min-insync-replicas",
        type=int,
        metavar="M",
        help="replicas that must hold a record before it is acknowledged (KAFKA_MIN_INSYNC_REPLICAS, 1)",
    )
    p.add_argument(
        "--submissions-retention-days",
        type=int,
        metavar="D",
        help="how long intake.submissions keeps case systems' input (KAFKA_SUBMISSIONS_RETENTION_DAYS, 3)",
    )
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

    p = sub.add_parser("sources", help="the CloudEvents sources each council's case systems publish as")
    actions = p.add_subparsers(dest="action", required=True)
    for action, helped in (
        ("add", "register a source: its tenant's submissions from it are accepted"),
        ("remove", "forget a source: submissions from it become dead letters"),
        ("list", "the tenant's registered sources"),
    ):
        a = actions.add_parser(action, help=helped)
        a.add_argument("--tenant", required=True)
        if action != "list":
            a.add_argument("uri", metavar="URI")
        a.set_defaults(func=cmd_sources)

    p = sub.add_parser("identity-provider", help="a council's OpenID Connect provider for its staff and board")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("set", help="sign the council's people in with this provider (keys stop opening pages)")
    a.add_argument("--tenant", required=True)
    a.add_argument("--issuer", required=True, metavar="URL")
    a.add_argument("--client-id", required=True)
    a.add_argument("--client-secret-file", required=True, metavar="FILE", help="a file holding only the secret")
    a.add_argument("--role-claim", help="the ID token claim listing the person's groups or roles (default groups)")
    a.add_argument("--scope", help='scopes asked for (default "openid profile")')
    for role in ("staff", "board", "admin"):
        a.add_argument(f"--{role}-group", action="append", metavar="GROUP", help=f"members are {role} (repeatable)")
    a.set_defaults(func=cmd_identity_provider)
    for action, helped in (("show", "the provider's settings (never the secret)"), ("remove", "back to access keys")):
        a = actions.add_parser(action, help=helped)
        a.add_argument("--tenant", required=True)
        a.set_defaults(func=cmd_identity_provider)


def _process_commands(sub) -> None:
    """The long-running processes, and what operators do to stored data."""
    for name, func in (("consume", cmd_consume), ("relay", cmd_relay)):
        p = sub.add_parser(name)
        p.add_argument("service", choices=SERVICES)
        p.set_defaults(func=func)

    p = sub.add_parser("send", help="run the notifier's sender (beside or instead of the one in its consumer)")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("reencrypt", help="re-seal stored personal data with the first DATA_ENCRYPTION_KEYS key")
    p.add_argument("services", nargs="*", metavar="SERVICE", help=", ".join(SERVICES))
    p.add_argument("--all", action="store_true")
    p.add_argument("--batch-size", type=int, default=rekey.DEFAULT_BATCH_SIZE, help="rows per transaction")
    p.set_defaults(func=cmd_reencrypt)

    p = sub.add_parser("phone-lookups", help="re-key the notifier's SMS-reply lookups (once after upgrading)")
    p.add_argument("action", choices=["rekey"])
    p.set_defaults(func=cmd_phone_lookups)

    p = sub.add_parser("participants", help="a participant's personal data")
    p.add_argument("action", choices=["erase"])
    p.add_argument("participant_id")
    p.add_argument("--tenant", required=True)
    p.set_defaults(func=cmd_participants)

    p = sub.add_parser("dead-letters", help="inbound events that could not be accepted")
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("service", choices=SERVICES)
    p.add_argument("id", nargs="?")
    p.add_argument("--tenant")
    p.set_defaults(func=cmd_dead_letters)


def _tool_commands(sub) -> None:
    """Development tools, imports and exports, settings."""
    p = sub.add_parser("broker", help="the embedded Tansu broker (development only)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9092)
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("smtp-sink", help="a local SMTP server that keeps messages as files")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8025)
    p.add_argument("--dir")
    p.set_defaults(func=cmd_smtp_sink)

    p = sub.add_parser("import", help="import contributions gathered on paper or at meetings from a CSV file")
    p.add_argument("what", choices=["contributions"])
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--tenant", required=True)
    p.add_argument("--engagement", required=True, metavar="ID")
    p.add_argument("--channel", choices=["paper", "meeting"], default="paper")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export outcome chains as CSV or JSON")
    p.add_argument("what", choices=["chains"])
    p.add_argument("--tenant", required=True)
    p.add_argument("--engagement", metavar="ID")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--output", metavar="FILE", help="default: standard output")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo", help="seed a realistic demo council through the APIs and events")
    p.add_argument("--intake-url")
    p.add_argument("--decisions-url")
    p.add_argument("--keys", help="the demo tenant's keys (default var/dev-keys.json)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="start everything on this machine")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("settings", help="check this environment's settings, or print the settings table")
    p.add_argument("action", nargs="?", choices=["check"])
    p.add_argument("--markdown", action="store_true", help="the settings table as Markdown (the default)")
    p.set_defaults(func=cmd_settings)


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
    if args.command in ("migrate", "reencrypt") and not (args.all or args.services):
        root.error(f"name the services to {args.command}, or --all")
    unknown = set(getattr(args, "services", None) or []) - set(SERVICES)
    if unknown:
        root.error(f"unknown service(s): {', '.join(sorted(unknown))}; choose from {', '.join(SERVICES)}")


def missing_table(error: BaseException) -> str | None:
    """The table a database error says is missing (a database not migrated yet), else None."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(error, DBAPIError):
        return None
    said = str(error.orig)
    if (getattr(error.orig, "pgcode", None) or getattr(error.orig, "sqlstate", None)) == "42P01":  # undefined_table
        found = re.search(r'relation "([^"]+)" does not exist', said)
        return found[1] if found else "?"
    found = re.search(r"no such table: (\S+)", said)
    return found[1] if found else None


def main(argv: list[str] | None = None) -> int:
    root = parser()
    args = root.parse_args(argv)
    _check(args, root)
    if args.command == "settings":
        return cmd_settings(args)
    try:
        settings = _with_dev_secrets(Settings.from_env())
        problems = serving_problems(settings) if args.command in SERVING else []
        if problems:
            raise SettingsError(problems)
    except SettingsError as error:
        print(
            f"outcomes {args.command} cannot {'start' if args.command in SERVING else 'run'}: {error}", file=sys.stderr
        )
        return EXIT_BAD_SETTINGS
    try:
        return args.func(args, settings)
    except MissingEncryptionKey as missing:  # a command that opens sealed data, with no key set
        print(f"outcomes {args.command}: {missing}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    except Exception as error:
        table = missing_table(error)
        if table is None:
            raise
        print(
            f"outcomes {args.command}: the database has no table {table!r} yet: run `outcomes migrate --all` first",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
