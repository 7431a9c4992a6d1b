"""Kafka intake: contribution.submitted events on intake.submissions turned into
contribution.received events on outcomes.contributions by the intake consumer and
outbox relay, beside a bare kafka-python consume-then-produce loop on the same broker."""

from __future__ import annotations

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
)

GOAL = 0.5
TENANT = "bench"
BARE_IN = "bench.bare.in"
BARE_OUT = "bench.bare.out"


def _create_engagement(ctx: RunContext, url: str) -> str:
    """One engagement in the intake database, through intake's own use case."""
    from services.intake.entrypoints.schemas import EngagementSchema
    from services.intake.service_layer import services
    from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
    from shared.infra import db
    from shared.infra.crypto import Sealer
    from shared.infra.tables import utcnow

    engine = db.create_engine(url)
    try:
        uow = IntakeUnitOfWork(db.session_factory(engine), Sealer((ctx.env["DATA_ENCRYPTION_KEYS"],)))
        data = EngagementSchema().load(payloads.engagement_body())
        return services.create_engagement(uow, TENANT, data, now=utcnow(), source="urn:outcome-chain:intake").id
    finally:
        engine.dispose()


def _phase(
    ctx: RunContext,
    label: str,
    bootstrap: str,
    out_topic: str,
    start: list[tuple[str, list[str]]],
    *,
    fail_if: dict[str, int] | None = None,
) -> tuple[kafka_tools.Timeline, dict[str, Proc], dict[str, int | None], dict, dict]:
    """Start the processes, time until `events` records are on `out_topic`, read peak
    memory while they still run, stop them."""
    n = ctx.options.events
    broker = stack.broker_proc(ctx)
    reset_peak_rss(broker.pid)
    watcher = kafka_tools.OffsetWatcher(bootstrap, out_topic, also=tuple(fail_if or ()))
    try:
        if watcher.count():
            raise BenchmarkFailed(f"{out_topic} is not empty before the {label} run")
        started = time.monotonic()
        procs = {name: ctx.processes.start(name, argv) for name, argv in start}
        pids = {**{k: p.pid for k, p in procs.items()}, "broker": broker.pid}
        meters = {"run": CpuMeter(pids)}  # from process start; "steady" from the first output event
        with profiling.sampling(ctx, f"kafka-{label}", {k: p.pid for k, p in procs.items()}, _timeout(n)) as profile:
            timeline = watcher.wait_for(
                n,
                started,
                timeout=_timeout(n),
                processes=ctx.processes,
                procs=tuple(procs.values()),
                fail_if=fail_if,
                on_first_output=lambda: meters.setdefault("steady", CpuMeter(pids)),
            )
        usage = {name: meter.stop() for name, meter in meters.items()}
        peaks = {name: peak_rss_kib(p.pid) for name, p in procs.items()}
        peaks["broker"] = peak_rss_kib(broker.pid)
        ctx.processes.stop(*procs.values())
        time.sleep(0.5)  # anything sent after the target (duplicates) would show here
        timeline.final_count = watcher.count()
    finally:
        watcher.close()
    return timeline, procs, peaks, profile, usage


def _timeout(n: int) -> float:
    return 60 + n / 25


def _figures(timeline: kafka_tools.Timeline) -> dict:
    first = timeline.first_output
    return {
        "events": timeline.target,
        "seconds_to_first_output": first[0] if first else None,
        "events_in_first_output": first[1] if first else None,
        "seconds_to_target": round(timeline.reached_at or 0, 3),
        "steady_events_per_s": round(timeline.steady_rate() or 0, 1),
        "end_to_end_events_per_s": round(timeline.end_to_end_rate() or 0, 1),
        "final_count": timeline.final_count,
        "timeline": _thin(timeline.samples),
    }


def _curve(timeline: kafka_tools.Timeline) -> list[tuple[int, int]]:
    """(percent of the run's time, percent of the events out by then) at quarters of the run:
    a steady pipeline gives about (25, 25), (50, 50)...; output held back shows low early figures."""
    if not timeline.reached_at:
        return []
    points = []
    for quarter in (25, 50, 75, 100):
        at = timeline.reached_at * quarter / 100
        out = max((n for t, n in timeline.samples if t <= at), default=0)
        points.append((quarter, round(100 * out / timeline.target)))
    return points


def _thin(samples: list[tuple[float, int]], keep: int = 120) -> list[tuple[float, int]]:
    """About `keep` samples, always including the first output and the last one."""
    if len(samples) <= keep:
        return samples
    step = len(samples) / keep
    chosen = {round(i * step) for i in range(keep)} | {len(samples) - 1}
    first = next((i for i, (_, n) in enumerate(samples) if n > 0), None)
    if first is not None:
        chosen |= {first - 1, first} - {-1}
    return [samples[i] for i in sorted(chosen)]


def run(ctx: RunContext) -> Result:
    from shared.messaging.events import KAFKA_HEADERS
    from shared.rules.constants import CONTRIBUTION_RECEIVED, CONTRIBUTIONS_TOPIC, SUBMISSIONS_TOPIC, dlq_topic

    n = ctx.options.events
    bootstrap = stack.start_broker(ctx, extra_topics=(BARE_IN, BARE_OUT))
    ctx.log(f"broker at {bootstrap}")
    intake_db = stack.migrate(ctx, "intake")
    stack.create_tenant(ctx, TENANT, (), case_systems=(payloads.CASE_SYSTEM_SOURCE,))
    engagement_id = _create_engagement(ctx, intake_db)

    records = payloads.submission_events(TENANT, engagement_id, n)
    ctx.log(f"preloading {n} contribution.submitted events onto {SUBMISSIONS_TOPIC} and {BARE_IN}")
    preload_s = {
        SUBMISSIONS_TOPIC: kafka_tools.preload(bootstrap, SUBMISSIONS_TOPIC, records, KAFKA_HEADERS),
        BARE_IN: kafka_tools.preload(bootstrap, BARE_IN, records, KAFKA_HEADERS),
    }
    event_bytes = sum(len(v) for _, v in records) / n
    del records

    ctx.log(f"bare loop: {BARE_IN} -> {BARE_OUT}")
    bare_cmd = [
        PYTHON,
        "-m",
        "bench.bare_kafka",
        "--bootstrap",
        bootstrap,
        "--source",
        BARE_IN,
        "--dest",
        BARE_OUT,
        "--group",
        "bench-bare",
        "--max-seconds",
        str(_timeout(n) + 60),
    ]
    bare_timeline, bare_procs, bare_peaks, bare_profile, bare_cpu = _phase(
        ctx, "bare", bootstrap, BARE_OUT, [("bare-loop", bare_cmd)]
    )
    ctx.log(f"  bare: {bare_timeline.steady_rate() or 0:,.0f} events/s steady, {n} in {bare_timeline.reached_at:.1f} s")

    ctx.log(f"intake: consume + relay, {SUBMISSIONS_TOPIC} -> {CONTRIBUTIONS_TOPIC}")
    dlq = dlq_topic(SUBMISSIONS_TOPIC)
    service_timeline, service_procs, service_peaks, service_profile, service_cpu = _phase(
        ctx,
        "service",
        bootstrap,
        CONTRIBUTIONS_TOPIC,
        [
            ("intake-consumer", [PYTHON, "-m", "ops.cli", "consume", "intake"]),
            ("intake-relay", [PYTHON, "-m", "ops.cli", "relay", "intake"]),
        ],
        fail_if={dlq: 0},
    )
    ctx.log(
        f"  intake: {service_timeline.steady_rate() or 0:,.0f} events/s steady, {n} in {service_timeline.reached_at:.1f} s"
    )

    ctx.log("checking what landed")
    out_types = kafka_tools.read_types(bootstrap, CONTRIBUTIONS_TOPIC)
    bare_types = kafka_tools.read_types(bootstrap, BARE_OUT)
    rows = database.count(intake_db, "contributions")
    dead = database.count(intake_db, "dead_letters")
    notes = [
        "group join: excluded from the headline figure in both (the clock starts at the first output event); "
        "the end-to-end row includes process start-up and group join in both.",
    ]
    if out_types.get(CONTRIBUTION_RECEIVED, 0) != n or rows != n or dead:
        notes.append(
            f"intake: {out_types.get(CONTRIBUTION_RECEIVED, 0)} contribution.received events for {n} submissions, "
            f"{rows} contributions stored, {dead} dead letters; other types on the topic: {dict(out_types)}"
        )
    if sum(bare_types.values()) != n:
        notes.append(f"bare: {sum(bare_types.values())} records on {BARE_OUT} for {n} consumed")

    bare_f, service_f = _figures(bare_timeline), _figures(service_timeline)
    bare_f["cpu"], service_f["cpu"] = bare_cpu, service_cpu
    service_f["output_curve"] = _curve(service_timeline)
    per_event = {}
    for name, usage, figures in (("service", service_cpu, service_f), ("bare", bare_cpu, bare_f)):
        steady = usage.get("steady", {})
        events = max(1, n - (figures["events_in_first_output"] or 0))  # a tiny run may land in one batch
        per_event[name] = {
            k: round(1000 * v / events, 3) for k, v in steady.get("process_cpu_s", {}).items() if v is not None
        }
        figures["cpu_ms_per_event_steady"] = per_event[name]
    notes.append(
        "CPU per event in the steady window (ms): "
        + "; ".join(
            f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()) for name, figures in per_event.items()
        )
    )
    s_steady, b_steady = service_cpu.get("steady", {}), bare_cpu.get("steady", {})
    notes.append(
        f"machine CPU busy {s_steady.get('busy_pct', '?')}% in the intake steady window, "
        f"{b_steady.get('busy_pct', '?')}% in the bare one; hypervisor steal up to "
        f"{max(s_steady.get('steal_pct', 0) or 0, b_steady.get('steal_pct', 0) or 0):.1f}%"
    )
    lag = service_f["output_curve"]
    if lag:
        notes.append(
            "intake output over time (share of the N events out at 25/50/75/100% of the run): "
            + ", ".join(f"{p}% by {t}%" for t, p in lag)
        )
    comparisons = [
        Comparison(
            measure=f"{n} events, steady (start-up and group join excluded)",
            unit="events/s",
            subject=service_f["steady_events_per_s"],
            baseline=bare_f["steady_events_per_s"],
            goal=GOAL,
            subject_label="intake consumer + relay",
            baseline_label="bare consume-then-produce loop",
        ),
        Comparison(
            measure=f"{n} events, end to end (start-up and group join included)",
            unit="events/s",
            subject=service_f["end_to_end_events_per_s"],
            baseline=bare_f["end_to_end_events_per_s"],
            goal=GOAL,
            subject_label="intake consumer + relay",
            baseline_label="bare consume-then-produce loop",
        ),
    ]
    memory = [
        MemoryRow("service", "intake consumer", service_procs["intake-consumer"].pid, service_peaks["intake-consumer"]),
        MemoryRow("service", "intake relay", service_procs["intake-relay"].pid, service_peaks["intake-relay"]),
        MemoryRow(
            "service", "Tansu broker", stack.broker_proc(ctx).pid, service_peaks["broker"], "peak during the intake run"
        ),
        MemoryRow("bare", "bare consume/produce loop", bare_procs["bare-loop"].pid, bare_peaks["bare-loop"]),
        MemoryRow("bare", "Tansu broker", stack.broker_proc(ctx).pid, bare_peaks["broker"], "peak during the bare run"),
    ]
    details = {
        "events": n,
        "mean_event_bytes": round(event_bytes),
        "partitions": 3,
        "preload_s": {k: round(v, 2) for k, v in preload_s.items()},
        "service": service_f,
        "bare": bare_f,
        "output_types": dict(out_types),
        "contributions_stored": rows,
        "dead_letters": dead,
        "profiles": {"service": service_profile, "bare": bare_profile},
    }
    method = f"""
- **Broker:** one Tansu broker (`ops.broker.start_tansu`, memory only) on a free port, topics made
  by `shared.messaging.kafka.create_topics` (3 partitions each) plus `{BARE_IN}` and `{BARE_OUT}` for the baseline.
- **Input:** {n} `contribution.submitted` CloudEvents (structured JSON, `shared.messaging.events.make`, about
  {round(event_bytes)} bytes each: a view with the participant inline, each with its own participant),
  keyed by the case system's reference, produced with acks=all onto `{SUBMISSIONS_TOPIC}` and the same
  bytes onto `{BARE_IN}` before anything is timed.
- **Subject:** `python -m ops.cli consume intake` and `python -m ops.cli relay intake` started
  together as processes against a fresh migrated SQLite (WAL) intake database with one tenant and one
  engagement. The figure counts `contribution.received` events arriving on `{CONTRIBUTIONS_TOPIC}`;
  each event also costs the relay a `participant.registered` event on `outcomes.participants`.
- **Baseline:** `bench/bare_kafka.py`, one process on the same broker just before: poll up to 500
  records, produce each to `{BARE_OUT}` (acks=all), flush, commit offsets. Its clients come from
  `shared.messaging.kafka.consumer`/`producer`, so client settings equal the service's.
- **Clock:** a separate kafka-python client in the harness counts the output topic every ~20 ms
  with one ListOffsets request plus a fetch of only the newest batch of each partition that grew
  (Tansu reports a partition's end as its last batch's *base* offset + 1, so end offsets alone
  undercount), which costs almost nothing beside the processes measured. The headline figure is
  (N - events already out at the first sighting) / (seconds from the first output event to the Nth):
  process start-up and the consumer group join are **excluded in both**. The end-to-end row times
  from process start to the Nth event, so start-up and group join (a few seconds on Tansu) are
  **included in both**. Afterwards the output is read back and counted by type, and the intake
  database's contributions and dead letters are counted. CPU seconds per process
  (`/proc/<pid>/stat`) over the same window give CPU per event.
- **Goal:** the intake pair reaches at least {GOAL} of the bare loop's events per second.
- **Memory:** VmHWM of the consumer, the relay and the bare loop just before they are stopped; the
  broker's peak is reset (`/proc/<pid>/clear_refs`) at the start of each run, so its row is the peak
  during that run (it keeps every event in memory, so it only grows).
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


BENCHMARK = Benchmark(name="intake-kafka", title="Kafka intake: intake.submissions to outcomes.contributions", run=run)
