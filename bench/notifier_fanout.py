"""Notifier fan-out: one decision linked to 10,000 contributions of 10,000 email
participants, timed until a local SMTP sink has accepted the 10,000 update messages,
beside a bare smtplib client sending the same 10,000 messages to the same sink."""

from __future__ import annotations

import os
import pickle
import secrets
import signal
import statistics
import time

from bench import database, kafka_tools, payloads, profiling, stack
from bench.harness import (
    PYTHON,
    Benchmark,
    BenchmarkFailed,
    Comparison,
    CpuMeter,
    MemoryRow,
    Proc,
    Result,
    RunContext,
    peak_rss_kib,
    reset_peak_rss,
    wait_until,
)
from bench.mail_tools import Arrivals, MailDir

GOAL = 0.5  # the notifier's messages per second at least half the bare client's
TENANT = "bench"
MESSAGES = 10_000
QUICK_MESSAGES = 1_000
BARE_REPEATS = 3
UPDATE_SUBJECT = "What happened to your contribution"  # en/standard/decision_linked.j2
ACK_SUBJECT = "We have received your"  # en/standard/acknowledgement.j2


def _timeout(n: int) -> float:
    return 120 + n / 5  # bounded: at least 5 messages a second


def _check_subjects(maildir: MailDir, names: list[str], prefix: str, references: set[str]) -> dict:
    """Every message's subject starts with `prefix` and names one of `references`, each once."""
    seen: dict[str, int] = {}
    wrong = 0
    for name in names:
        subject = str(maildir.headers(name)["Subject"] or "")
        reference = subject.rsplit("(", 1)[-1].rstrip(")") if subject.startswith(prefix) else None
        if reference in references:
            seen[reference] = seen.get(reference, 0) + 1
        else:
            wrong += 1
    return {
        "messages": len(names),
        "distinct_references": len(seen),
        "repeated": sum(c - 1 for c in seen.values()),
        "unexpected": wrong,
        "missing": len(references) - len(seen),
    }


def _rate(n: int, arrivals: Arrivals) -> float:
    return n / arrivals.reached_s if arrivals.reached_s else 0.0


def _steady(n: int, arrivals: Arrivals) -> float | None:
    """Messages per second from the first message's arrival to the n-th's."""
    first, last = arrivals.seconds_to(1), arrivals.seconds_to(n)
    return (n - 1) / (last - first) if last > first else None


def _quarters(arrivals: Arrivals, n: int) -> list[tuple[int, int]]:
    """(percent of the run's time, percent of the n messages in the sink by then)."""
    total = arrivals.reached_s or 0
    if not total:
        return []
    times = [arrivals.seconds_to(i + 1) for i in range(n)]
    return [(q, round(100 * sum(1 for t in times if t <= total * q / 100) / n)) for q in (25, 50, 75, 100)]


def run(ctx: RunContext) -> Result:
    from shared.infra.crypto import Sealer
    from shared.messaging.events import KAFKA_HEADERS
    from shared.rules.constants import CONTRIBUTIONS_TOPIC, DECISIONS_TOPIC, ENGAGEMENTS_TOPIC, PARTICIPANTS_TOPIC

    opts = ctx.options
    n = opts.sized(MESSAGES, QUICK_MESSAGES)
    repeats = 1 if opts.quick else BARE_REPEATS
    bootstrap = stack.start_broker(ctx)
    broker = stack.broker_proc(ctx)
    ctx.log(f"broker at {bootstrap}")
    sink, sink_port, maildir = stack.start_smtp_sink(ctx)
    ctx.log(f"SMTP sink on port {sink_port}, writing {maildir.directory}")
    notifier_db = stack.migrate(ctx, "notifier")
    stack.create_tenant(ctx, TENANT, ())
    ctx.env.setdefault("LINK_SIGNING_SECRET", secrets.token_urlsafe(32))
    ctx.env.setdefault("PUBLIC_BASE_URL", "http://127.0.0.1:8002")

    sealer = Sealer((ctx.env["DATA_ENCRYPTION_KEYS"],))  # the key the notifier opens them with
    inputs = payloads.NotifierInputs(TENANT, sealer, n, marker="NF")
    references = set(inputs.references)
    ctx.log(f"preloading {n:,} participant.registered, 1 engagement.created, {n:,} contribution.received")
    preload_s = {
        PARTICIPANTS_TOPIC: kafka_tools.preload(bootstrap, PARTICIPANTS_TOPIC, inputs.participants(), KAFKA_HEADERS),
        ENGAGEMENTS_TOPIC: kafka_tools.preload(bootstrap, ENGAGEMENTS_TOPIC, inputs.engagement(), KAFKA_HEADERS),
        CONTRIBUTIONS_TOPIC: kafka_tools.preload(bootstrap, CONTRIBUTIONS_TOPIC, inputs.contributions(), KAFKA_HEADERS),
    }
    links = inputs.links()  # built (and sealed) before any clock starts
    event_bytes = round(sum(len(v) for _, v in links) / n)

    # Setup: the notifier takes in the participants and contributions and acknowledges each
    # contribution by email. Timed for information only; all of it is over before the
    # measured fan-out begins.
    started_ns = time.time_ns()
    notifier = stack.start_worker(ctx, "notifier", "consume")
    ctx.log(f"notifier consumer + sender pid {notifier.pid}: waiting for the {n:,} acknowledgements")
    acks = maildir.wait_for(
        n,
        since_ns=started_ns,
        before=set(),
        timeout=_timeout(n),
        processes=ctx.processes,
        procs=(notifier, sink),
        interval=1.0,
        progress=lambda held: ctx.log(f"  {held:,} acknowledgements in the sink"),
    )
    wait_until(
        lambda: database.count(notifier_db, "notifications", "status != 'sent'") == 0,
        timeout=60,
        what="every acknowledgement to be recorded as sent",
        procs=(notifier,),
        processes=ctx.processes,
    )
    ack_check = _check_subjects(maildir, acks.names, ACK_SUBJECT, references)
    if ack_check["distinct_references"] != n or ack_check["unexpected"] or ack_check["repeated"]:
        raise BenchmarkFailed(f"the acknowledgements are not one per contribution: {ack_check}")
    ctx.log(
        f"setup: {n:,} acknowledgements in the sink {acks.reached_s:.1f} s after the notifier started "
        f"({_rate(n, acks):.0f} msgs/s including start-up)"
    )
    time.sleep(1.0)  # let the sender's loop go idle

    # Measured: the decision's contribution.linked events to update messages in the sink.
    before = maildir.names()
    for pid in (notifier.pid, sink.pid, broker.pid):
        reset_peak_rss(pid)
    pids = {"notifier": notifier.pid, "smtp-sink": sink.pid, "broker": broker.pid, "harness": os.getpid()}
    meter = CpuMeter(pids)
    clock: dict[str, int] = {}
    with profiling.sampling(
        ctx, "notifier-fanout", {"notifier": notifier.pid}, _timeout(n), threads={"notifier": ("send_due",)}
    ) as profile:
        produce_s = kafka_tools.preload(
            bootstrap,
            DECISIONS_TOPIC,
            links,
            KAFKA_HEADERS,
            on_first_send=lambda: clock.setdefault("t0", time.time_ns()),
        )
        ctx.log(f"{n:,} contribution.linked events on {DECISIONS_TOPIC} {produce_s:.2f} s after the first send")
        updates = maildir.wait_for(
            n,
            since_ns=clock["t0"],
            before=before,
            timeout=_timeout(n),
            processes=ctx.processes,
            procs=(notifier, sink),
            interval=1.0,
            linger=1.0,
            progress=lambda held: ctx.log(f"  {held:,} update messages in the sink"),
        )
    usage = meter.stop()
    peaks = {name: peak_rss_kib(pid) for name, pid in pids.items() if name != "harness"}
    if len(updates.names) != n:
        raise BenchmarkFailed(f"{len(updates.names)} update messages in the sink for {n} links (duplicates?)")
    update_check = _check_subjects(maildir, updates.names, UPDATE_SUBJECT, references)
    if update_check["distinct_references"] != n or update_check["unexpected"]:
        raise BenchmarkFailed(f"the update messages are not one per linked contribution: {update_check}")
    service_s = updates.reached_s
    ctx.log(
        f"service: {n:,} update messages in the sink {service_s:.2f} s after the first linked event was sent "
        f"({_rate(n, updates):.0f} msgs/s)"
    )
    recorded = [
        database.stored_ns(row[0])
        for row in database.rows(
            notifier_db, "SELECT created_at FROM notifications WHERE kind = 'decision_linked' ORDER BY created_at"
        )
    ]
    statuses = dict(
        database.rows(
            notifier_db, "SELECT status, count(*) FROM notifications WHERE kind = 'decision_linked' GROUP BY status"
        )
    )
    outbox_rows = database.count(notifier_db, "outbox")
    ctx.processes.stop(notifier)  # idle from here; the bare runs have the machine to themselves

    # Baseline: the same messages, bytes read back from the sink, sent by bare smtplib.
    messages_file = ctx.tmp / "messages.pickle"
    raw = [maildir.read(name) for name in updates.names]
    message_bytes = round(sum(len(r) for r in raw) / n)
    messages_file.write_bytes(pickle.dumps(raw))
    del raw
    bare_runs: list[dict] = []
    bare_procs: list[Proc] = []
    profiles = {"service": profile}
    for index in range(repeats):
        client = ctx.processes.start(
            f"bare-smtp-{index + 1}",
            [PYTHON, "-m", "bench.bare_smtp", "--port", str(sink_port), "--messages", str(messages_file)],
        )
        bare_procs.append(client)
        wait_until(
            lambda c=client: "READY" in c.tail(5),
            timeout=120,
            interval=0.05,
            what=f"{client.name} to connect",
            procs=(client,),
            processes=ctx.processes,
        )
        before = maildir.names()
        reset_peak_rss(sink.pid)
        bare_pids = {"client": client.pid, "smtp-sink": sink.pid, "harness": os.getpid()}
        bare_meter = CpuMeter(bare_pids)
        with profiling.sampling(
            ctx, "notifier-fanout-bare", {"client": client.pid} if index == 0 else {}, _timeout(n)
        ) as bare_profile:
            t0 = time.time_ns()
            os.kill(client.pid, signal.SIGUSR1)
            arrivals = maildir.wait_for(
                n,
                since_ns=t0,
                before=before,
                timeout=_timeout(n),
                processes=ctx.processes,
                procs=(client, sink),
                interval=1.0,
                linger=0.5,
            )
        bare_usage = bare_meter.stop()
        if len(arrivals.names) != n:
            raise BenchmarkFailed(f"bare run {index + 1}: {len(arrivals.names)} messages in the sink for {n}")
        if bare_profile:
            profiles["bare"] = bare_profile
        bare_runs.append(
            {
                "seconds": round(arrivals.reached_s, 4),
                "msgs_per_s": round(_rate(n, arrivals), 1),
                "first_s": round(arrivals.seconds_to(1), 4),
                "cpu": bare_usage,
                "peak_rss_kib": {"client": peak_rss_kib(client.pid), "smtp-sink": peak_rss_kib(sink.pid)},
                "curve": arrivals.curve(30),
            }
        )
        ctx.log(f"bare {index + 1}/{repeats}: {n:,} messages in the sink in {arrivals.reached_s:.2f} s")
        ctx.processes.stop(client)

    service_rate = _rate(n, updates)
    bare_s = statistics.median(r["seconds"] for r in bare_runs)
    bare_rate = n / bare_s
    steady = _steady(n, updates)
    first_s = updates.seconds_to(1)
    recorded_s = [(t - clock["t0"]) / 1e9 for t in recorded if t is not None]
    all_recorded_s = max(recorded_s) if recorded_s else None
    cpu_ms = {
        "service": {k: round(1000 * v / n, 3) for k, v in usage["process_cpu_s"].items() if v is not None},
        "bare": {
            k: round(1000 * statistics.median(r["cpu"]["process_cpu_s"][k] for r in bare_runs) / n, 3)
            for k in ("client", "smtp-sink", "harness")
        },
    }
    # While the consumer was still recording notifications, and after.
    during = sum(1 for i in range(n) if updates.seconds_to(i + 1) <= (all_recorded_s or 0))
    after_rate = (n - during) / (service_s - all_recorded_s) if all_recorded_s and service_s > all_recorded_s else None
    notes = [
        f"service: the first update message reached the sink {first_s:.2f} s after the first linked event was sent, "
        f"the {n:,}th at {service_s:.2f} s; {n:,} events were on the topic {produce_s:.2f} s after the first send; "
        f"the consumer had recorded all {len(recorded_s):,} notifications {all_recorded_s:.2f} s after it; "
        f"steady rate from the first message to the last {steady or 0:.0f} msgs/s",
        f"while the consumer was recording the {n:,} notifications (the first {all_recorded_s or 0:.1f} s), the "
        f"sender put {during:,} messages in the sink ({during / (all_recorded_s or 1):.0f} msgs/s); after it, "
        f"{after_rate or 0:.0f} msgs/s",
        "service output over time (share of the messages in the sink at 25/50/75/100% of the run): "
        + ", ".join(f"{p}% by {q}%" for q, p in _quarters(updates, n)),
        "bare runs: "
        + ", ".join(f"{r['seconds']:.2f} s ({r['msgs_per_s']:.0f} msgs/s)" for r in bare_runs)
        + " (median in the table)",
        f"setup, not measured: the {n:,} acknowledgements reached the sink {acks.reached_s:.1f} s after the notifier "
        f"process started ({_rate(n, acks):.0f} msgs/s, start-up, group join and the {2 * n + 1:,} input events "
        "included)",
        "CPU per message (ms): "
        + "; ".join(
            f"{kind}: " + ", ".join(f"{k} {v}" for k, v in figures.items()) for kind, figures in cpu_ms.items()
        ),
        f"machine CPU busy {usage.get('busy_pct', '?')}% during the service run, "
        + ", ".join(f"{r['cpu'].get('busy_pct', '?')}%" for r in bare_runs)
        + " during the bare runs; hypervisor steal up to "
        + f"{max([usage.get('steal_pct', 0) or 0] + [r['cpu'].get('steal_pct', 0) or 0 for r in bare_runs]):.1f}%",
    ]
    comparisons = [
        Comparison(
            measure=f"{n:,} contribution.linked events to {n:,} update emails in the SMTP sink",
            unit="msgs/s",
            subject=service_rate,
            baseline=bare_rate,
            goal=GOAL,
            subject_label="notifier consumer + sender (`outcomes consume notifier`)",
            baseline_label=f"bare smtplib, one connection, {n:,} prebuilt messages",
        ),
    ]
    memory = [
        MemoryRow("service", "notifier consumer + sender", notifier.pid, peaks["notifier"], "peak during the fan-out"),
        MemoryRow("service", "SMTP sink", sink.pid, peaks["smtp-sink"], "peak during the fan-out"),
        MemoryRow("service", "Tansu broker", broker.pid, peaks["broker"], "peak during the fan-out"),
        MemoryRow(
            "bare",
            "bare smtplib client",
            bare_procs[-1].pid,
            bare_runs[-1]["peak_rss_kib"]["client"],
            "the last bare run's",
        ),
        MemoryRow(
            "bare", "SMTP sink", sink.pid, bare_runs[-1]["peak_rss_kib"]["smtp-sink"], "peak during the last bare run"
        ),
    ]
    details = {
        "messages": n,
        "settings": {k: v for k, v in ctx.env.items() if k.startswith(("NOTIFIER_", "SMTP_", "CONSUMER_"))},
        "bare_repeats": repeats,
        "mean_linked_event_bytes": event_bytes,
        "mean_message_bytes": message_bytes,
        "preload_s": {k: round(v, 2) for k, v in preload_s.items()},
        "acknowledgements": {
            "seconds_from_process_start": round(acks.reached_s, 3),
            "msgs_per_s": round(_rate(n, acks), 1),
            "check": ack_check,
            "curve": acks.curve(30),
        },
        "service": {
            "seconds": round(service_s, 4),
            "msgs_per_s": round(service_rate, 1),
            "steady_msgs_per_s": round(steady or 0, 1),
            "first_message_s": round(first_s, 4),
            "events_on_topic_s": round(produce_s, 4),
            "all_notifications_recorded_s": round(all_recorded_s, 4) if all_recorded_s is not None else None,
            "sent_while_recording": during,
            "msgs_per_s_while_recording": round(during / (all_recorded_s or 1), 1),
            "msgs_per_s_after_recording": round(after_rate or 0, 1),
            "statuses": statuses,
            "notifier_outbox_rows": outbox_rows,
            "check": update_check,
            "cpu": usage,
            "curve": updates.curve(60),
            "recorded_curve": [
                (round(recorded_s[i], 3), i + 1) for i in range(len(recorded_s) - 1, -1, -max(1, len(recorded_s) // 30))
            ][::-1],
        },
        "bare": bare_runs,
        "median_bare_s": bare_s,
        "cpu_ms_per_message": cpu_ms,
        "profiles": profiles,
    }
    method = f"""
- **Setup:** one Tansu broker (`ops.broker.start_tansu`) on a free port with the project's topics
  (`shared.messaging.kafka.create_topics`, 3 partitions each); the SMTP sink as a process
  (`python -m ops.cli smtp-sink --port P --dir D`, aiosmtpd, each accepted message written to one
  file before it answers 250); fresh SQLite (WAL) auth and notifier databases migrated with
  `shared.infra.migrations`; one tenant. Preloaded as real events, with acks=all, before the notifier starts:
  {n:,} `participant.registered` on `{PARTICIPANTS_TOPIC}` (each its own participant who wants email
  in English, standard format, with consent; name, email, phone and external reference sealed with
  `shared.infra.crypto.Sealer` under the `DATA_ENCRYPTION_KEYS` the notifier runs with), one
  `engagement.created` on `{ENGAGEMENTS_TOPIC}` and {n:,} `contribution.received` on
  `{CONTRIBUTIONS_TOPIC}`, one per participant.
- **Subject:** `python -m ops.cli consume notifier` (the consumer and, in a thread beside it, the
  sender, as in production) with `SMTP_HOST`/`SMTP_PORT` pointing at the sink, `LINK_SIGNING_SECRET`,
  `DATA_ENCRYPTION_KEYS`, `NOTIFIER_DATABASE_URL`, `AUTH_DATABASE_URL`, `KAFKA_BOOTSTRAP_SERVERS`;
  default settings otherwise (sender batches of 20, 0.2 s idle poll). The notifier's outbox relay is
  not running: its `notification.sent` events wait in the outbox (they do not affect sending).
  First, as setup, it takes in the inputs and sends the {n:,} acknowledgements; the run waits until
  the sink holds all of them and the database has every one marked sent (that phase's time is in the
  notes, for information). Then the measured part: {n:,} `contribution.linked` events of one
  decision (the data `_announce_link` in `services/decisions/service_layer/services.py` builds:
  link, contribution, participant, reference, engagement, sealed influence, the decision's fields
  and one resource change; about {event_bytes} bytes each, built before the clock) are produced onto
  `{DECISIONS_TOPIC}` by a kafka-python producer in the harness that already has the topic's metadata.
  The notifier is running and idle when the first is sent.
- **Clock (service):** from just before the first linked event is sent (so the {produce_s:.1f} s of
  producing them is inside the time, and the notifier may start on the first ones while the rest
  are still being written) until the sink holds {n:,} new messages. The moment the sink accepted
  each message is read from its file name (`time.time_ns()` in the sink, written before the 250),
  so the directory is only counted once a second and no precision is lost. Afterwards every new
  message's subject must be an update ("{UPDATE_SUBJECT} (REF)") naming a different one of the
  {n:,} contributions, and no further message may arrive within 1 s.
- **Baseline:** `bench/bare_smtp.py`, a separate process: the {n:,} messages the notifier just sent,
  read back from the sink and parsed into `EmailMessage` objects before the clock (same headers,
  text part and HTML alternative, about {message_bytes:,} bytes each), sent with `send_message` over
  one `smtplib.SMTP` connection to the same sink, as the notifier's SMTP provider does. It connects
  and sends 5 warm-up messages before it says it is ready; the clock runs from the signal to send
  until the sink holds {n:,} new messages, timed the same way. The notifier is stopped first.
  {repeats} run(s); the table shows the median.
- **Figure:** {n:,} / seconds to the {n:,}th message in the sink, for both.
- **Goal:** the notifier reaches at least {GOAL} of the bare client's messages per second.
- **Memory:** VmHWM of the notifier process, the sink and the broker (peaks reset when the measured
  part starts) read at its end; the bare client's and the sink's during the last bare run.
"""
    return Result(
        name=BENCHMARK.name,
        title=BENCHMARK.title,
        comparisons=comparisons,
        memory=memory,
        method=method,
        details=details,
        notes=notes,
    )


BENCHMARK = Benchmark(
    name="notifier-fanout",
    title="Notifier fan-out: one decision linked to 10,000 contributions, to 10,000 emails in an SMTP sink",
    run=run,
)
