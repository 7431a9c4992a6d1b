"""The whole pipeline: contributions posted at a steady rate over HTTP and on
`intake.submissions` with every process of every service running (as `make run` starts
them), each counted when its acknowledgement is in the SMTP sink and it is in the
decisions and notifier read models; beside the sum of the bare steps measured in the same
run on the same engine (bare INSERT endpoint + bare consume-produce per Kafka hop + bare
smtplib send)."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import signal
import time
from concurrent.futures import ThreadPoolExecutor

from bench import database, kafka_tools, payloads, profiling, stack
from bench.bare_app import create_schema
from bench.harness import (
    PYTHON,
    Benchmark,
    BenchmarkFailed,
    Comparison,
    CpuMeter,
    MemoryRow,
    Result,
    RunContext,
    child_pids,
    cpu_seconds,
    http_json,
    http_ok,
    peak_rss_kib,
    wait_until,
)
from bench.loadgen import percentile
from bench.mail_tools import SubjectWatcher, accepted_ns

TENANT = "bench"
SERVICES = ("intake", "decisions", "notifier")
CPU_GOAL, RATE_GOAL = 2.0, 0.5
DURATION, QUICK_DURATION = 30.0, 3.0  # seconds of steady submissions
QUICK_RATE = 4.0  # contributions a second in a smoke run (no verdicts are read from it)
BARE_REQUESTS, QUICK_BARE_REQUESTS = 1_000, 50
BARE_EVENTS, QUICK_BARE_EVENTS = 5_000, 200
CLIENTS = 8  # HTTP posting threads
ACK_SUBJECT = "We have received your"
# Kafka hops a contribution crosses on its way to both read models and the acknowledgement:
# the outbox relay's produce, then the decisions and the notifier consumers; one more
# (intake's consumer) for those submitted on intake.submissions.
HOPS_HTTP, HOPS_KAFKA = 3, 4
BARE_IN, BARE_OUT = "bench.pipeline.bare.in", "bench.pipeline.bare.out"
GRACE_S = 120.0
# Sampled with --profile: the processes that take most of a contribution's CPU (py-spy on
# every one of the fifteen would take a core of its own from the run).
PROFILED = ("notifier-consumer", "intake-consumer", "decisions-consumer", "intake-worker1", "intake-relay")


def _reference(subject: str) -> str:
    return subject.rsplit("(", 1)[-1].rstrip(")")


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _group_pids(procs: dict) -> dict[str, int]:
    """Every pid of the named processes, gunicorn workers included."""
    pids = {}
    for name, proc in procs.items():
        pids[name] = proc.pid
        for index, child in enumerate(child_pids(proc.pid), 1):
            pids[f"{name}-worker{index}"] = child
    return pids


def _cpu_total(pids: dict[str, int]) -> float:
    return sum(cpu_seconds(pid) or 0.0 for pid in pids.values())


# The bare steps ------------------------------------------------------------------------


def _bare_insert(ctx: RunContext, body_of, n: int) -> dict:
    """The bare INSERT endpoint under the same gunicorn config: n POSTs from CLIENTS threads."""
    url = ctx.database_url("bare")
    create_schema(url)
    proc, base = stack.start_gunicorn(ctx, "bare-web", "bench.bare_app:app", env={"BARE_DATABASE_URL": url})
    pids = _group_pids({"bare-web": proc})
    target = base + "/v1/contributions"
    http_json("POST", target, body_of(0))  # warm each path once
    before, started = _cpu_total(pids), time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(lambda i: http_json("POST", target, body_of(i))[0], range(1, n + 1)))
    took, cpu = time.monotonic() - started, _cpu_total(pids) - before
    peaks = {name: peak_rss_kib(pid) for name, pid in pids.items()}
    proc.stop()
    if statuses.count(201) != n:
        raise BenchmarkFailed(f"bare INSERT endpoint: {n - statuses.count(201)} of {n} POSTs failed")
    return {"per_s": n / took, "cpu_ms": 1000 * cpu / n, "peaks": peaks, "pids": pids}


def _bare_hop(ctx: RunContext, bootstrap: str, n: int, broker_pid: int) -> dict:
    """One bare consume-produce loop (bench/bare_kafka.py) moving n events: rate and CPU from
    its first output on (start-up and group join excluded, as in intake-kafka); the broker's
    CPU over the same window too, as the service's figure counts the broker's."""
    records = [(f"k{i}".encode(), json.dumps({"n": i, "pad": "x" * 900}).encode()) for i in range(n)]
    kafka_tools.preload(bootstrap, BARE_IN, records)
    broker_at_start = cpu_seconds(broker_pid) or 0.0
    proc = ctx.processes.start(
        "bare-hop",
        [PYTHON, "-m", "bench.bare_kafka", "--bootstrap", bootstrap, "--source", BARE_IN, "--dest", BARE_OUT]
        + ["--group", "bench-pipeline-bare", "--max-seconds", "600"],
    )
    watcher = kafka_tools.OffsetWatcher(bootstrap, BARE_OUT)
    first = None
    started = time.monotonic()
    deadline = started + 120 + n / 100
    try:
        while True:
            ctx.processes.check(proc)
            count = watcher.count()
            now, cpu, broker_cpu = time.monotonic(), cpu_seconds(proc.pid) or 0.0, cpu_seconds(broker_pid) or 0.0
            if first is None and count:
                first = (now, cpu, count, broker_cpu)
            if count >= n:
                break
            if now > deadline:
                raise BenchmarkFailed(f"the bare consume-produce loop moved {count} of {n} events")
            time.sleep(0.02)
    finally:
        watcher.close()
    peak = peak_rss_kib(proc.pid)
    proc.stop()
    moved = n - first[2]
    took = max(now - first[0], 1e-6)
    if not moved:  # a tiny run lands in one batch: whole-run figures, start-up included
        moved, took, first = n, max(now - started, 1e-6), (started, 0.0, 0, broker_at_start)
    return {
        "per_s": moved / took if moved else 0.0,
        "cpu_ms": 1000 * (cpu - first[1]) / moved if moved else 0.0,
        "broker_cpu_ms": 1000 * (broker_cpu - first[3]) / moved if moved else 0.0,
        "peak": peak,
    }


def _bare_smtp(ctx: RunContext, port: int, messages: list[bytes], sink_pid: int) -> dict:
    """bench/bare_smtp.py sending the acknowledgements the notifier sent, to the same sink; the
    sink's CPU over the sends too, as the service's figure counts the sink's."""
    path = ctx.tmp / "acks.pickle"
    path.write_bytes(pickle.dumps(messages))
    proc = ctx.processes.start(
        "bare-smtp", [PYTHON, "-m", "bench.bare_smtp", "--port", str(port), "--messages", str(path)]
    )
    wait_until(
        lambda: "READY" in proc.tail(5),
        timeout=60,
        what="the bare smtplib client",
        procs=(proc,),
        processes=ctx.processes,
    )
    before, sink_before = cpu_seconds(proc.pid) or 0.0, cpu_seconds(sink_pid) or 0.0
    os.kill(proc.pid, signal.SIGUSR1)
    wait_until(
        lambda: "SENT" in proc.tail(5),
        timeout=300,
        what="the bare smtplib sends",
        procs=(proc,),
        processes=ctx.processes,
    )
    cpu, sink_cpu = (cpu_seconds(proc.pid) or 0.0) - before, (cpu_seconds(sink_pid) or 0.0) - sink_before
    line = next(line for line in proc.tail(5).splitlines() if line.startswith("SENT"))
    took = float(line.split(" in ")[1].split()[0])
    peak = peak_rss_kib(proc.pid)
    proc.stop()
    return {
        "per_s": len(messages) / took,
        "cpu_ms": 1000 * cpu / len(messages),
        "sink_cpu_ms": 1000 * sink_cpu / len(messages),
        "peak": peak,
    }


# The pipeline --------------------------------------------------------------------------


def _start_system(ctx: RunContext, sink_proc) -> tuple[dict, dict]:
    """Everything `make run` starts per service: web (gunicorn), consumer, outbox relay
    (the notifier's consumer runs its sender, as in production). Returns (web, workers)."""
    web, workers = {}, {}
    for service in SERVICES:
        web[service] = stack.start_gunicorn(
            ctx, f"{service}-web", f"services.{service}.entrypoints.wsgi:app", service=service, wait=False
        )
        workers[f"{service}-consumer"] = stack.start_worker(ctx, service, "consume")
        workers[f"{service}-relay"] = stack.start_worker(ctx, service, "relay")
    for service, (proc, url) in web.items():
        wait_until(
            lambda url=url: http_ok(url + "/healthz"),
            timeout=90,
            interval=0.2,
            what=f"{service} web",
            procs=(proc, *workers.values(), sink_proc),
            processes=ctx.processes,
        )
    return web, workers


def run(ctx: RunContext) -> Result:
    from kafka import KafkaProducer

    from shared.messaging import events
    from shared.rules.constants import CONTRIBUTION_SUBMITTED, ROLE_CASE_SYSTEM, ROLE_STAFF, SUBMISSIONS_TOPIC

    opts = ctx.options
    bootstrap = stack.start_broker(ctx, extra_topics=(BARE_IN, BARE_OUT))
    broker = stack.broker_proc(ctx)
    sink, sink_port, maildir = stack.start_smtp_sink(ctx)
    urls = stack.migrate_services(ctx, SERVICES)
    keys = stack.create_tenant(ctx, TENANT, (ROLE_CASE_SYSTEM, ROLE_STAFF), case_systems=(payloads.CASE_SYSTEM_SOURCE,))
    web, workers = _start_system(ctx, sink)
    intake_url = web["intake"][1]
    ctx.log(f"every process of every service running; intake at {intake_url}, sink port {sink_port}")
    status, engagement = http_json(
        "POST",
        intake_url + "/v1/engagements",
        payloads.engagement_body(),
        {"Authorization": f"Bearer {keys[ROLE_STAFF]}"},
    )
    if status != 201:
        raise BenchmarkFailed(f"creating the engagement answered {status}: {engagement}")

    def body_of(number: int) -> dict:
        body = payloads.contribution_body(engagement["id"], number, f"{number % 1000:03d}", payloads.TEXTS[number % 3])
        body["submitted_at"] = _now_iso()  # the clock starts here: it comes back in the intake row
        return body

    # The bare steps first (the same engine, the same machine, minutes apart).
    bare_n = opts.sized(BARE_REQUESTS, QUICK_BARE_REQUESTS)
    bare_insert = _bare_insert(ctx, lambda i: body_of(900_000 + i), bare_n)
    ctx.log(f"bare INSERT endpoint: {bare_insert['per_s']:,.0f}/s, {bare_insert['cpu_ms']:.2f} ms CPU each")
    bare_hop = _bare_hop(ctx, bootstrap, opts.sized(BARE_EVENTS, QUICK_BARE_EVENTS), broker.pid)
    ctx.log(f"bare consume-produce: {bare_hop['per_s']:,.0f}/s, {bare_hop['cpu_ms']:.3f} ms CPU each")

    # Warm-up: one contribution each way through the whole pipeline, not counted.
    case_system = {"Authorization": f"Bearer {keys[ROLE_CASE_SYSTEM]}"}
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)

    def send_kafka(number: int) -> None:
        data = body_of(number)
        envelope = events.make(
            type=CONTRIBUTION_SUBMITTED,
            source=payloads.CASE_SYSTEM_SOURCE,
            tenant=TENANT,
            data=data,
            subject=data["participant"]["external_ref"],
        )
        producer.send(
            SUBMISSIONS_TOPIC,
            key=data["participant"]["external_ref"].encode(),
            value=events.dumps(envelope),
            headers=events.KAFKA_HEADERS,
        )
        producer.flush(timeout=30)

    def post(number: int) -> int:
        return http_json("POST", intake_url + "/v1/contributions", body_of(number), case_system, timeout=60)[0]

    if post(1) != 201:
        raise BenchmarkFailed("the warm-up POST /v1/contributions failed")
    send_kafka(2)
    watcher = SubjectWatcher(maildir)
    acks: dict[str, int] = {}  # reference -> ns the sink accepted its acknowledgement
    all_procs = (*workers.values(), sink, broker, *(p for p, _ in web.values()))

    def collect() -> int:
        for name, subject, _to in watcher.poll():
            if subject.startswith(ACK_SUBJECT):
                acks.setdefault(_reference(subject), accepted_ns(name))
        return len(acks)

    wait_until(
        lambda: collect() >= 2,
        timeout=120,
        what="the warm-up acknowledgements",
        procs=all_procs,
        processes=ctx.processes,
    )
    warm = set(acks)

    # Bare smtplib: the notifier's own acknowledgements, sent again (after the run, below).
    hop_ms = bare_hop["cpu_ms"] + bare_hop["broker_cpu_ms"]  # the loop's and the broker's
    baseline_ms = bare_insert["cpu_ms"] + (HOPS_HTTP + HOPS_KAFKA) / 2 * hop_ms
    # The rate offered is the goal: half the rate of the bare steps in a row (smtplib's
    # figure comes from a first estimate here, the final one from after the run).
    base_s = 1 / bare_insert["per_s"] + (HOPS_HTTP + HOPS_KAFKA) / 2 / bare_hop["per_s"] + 1 / 400
    rate = QUICK_RATE if opts.quick else RATE_GOAL / base_s
    duration = (1.0 if opts.smoke else QUICK_DURATION) if opts.quick else DURATION
    n = max(4, int(rate * duration)) // 2 * 2
    ctx.log(f"offering {n} contributions at {rate:.1f}/s, half over HTTP, half on {SUBMISSIONS_TOPIC}")

    pids = {**_group_pids({name: p for name, (p, _) in web.items()}), **{k: p.pid for k, p in workers.items()}}
    pids.update({"smtp-sink": sink.pid, "broker": broker.pid})
    # The busiest processes, sampled while they work (the notifier's sender thread too).
    profiled = {name: pids[name] for name in PROFILED if name in pids}
    with profiling.sampling(
        ctx, "pipeline", profiled, GRACE_S + duration * 5, threads={"notifier-consumer": ("send_due",)}
    ) as profile:
        meter = CpuMeter(pids)
        statuses: list = []
        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            for index in range(n):
                wait = started + index / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                number = 10 + index
                if index % 2:
                    send_kafka(number)
                else:
                    statuses.append(pool.submit(post, number))
            failed = [f for f in statuses if f.result() != 201]
        offered_s = time.monotonic() - started
        if failed:
            raise BenchmarkFailed(f"{len(failed)} of {len(statuses)} POST /v1/contributions failed")
        producer.close()
        total = n + len(warm)

        def done() -> bool:
            return (
                collect() >= total
                and database.count(urls["decisions"], "contributions_view") >= total
                and database.count(urls["notifier"], "contributions_view") >= total
            )

        wait_until(
            done,
            timeout=GRACE_S + duration * 4,
            interval=0.1,
            what=f"{n} contributions through",
            procs=all_procs,
            processes=ctx.processes,
        )
        finished = time.monotonic()
        usage = meter.stop()
    peaks = {name: peak_rss_kib(pid) for name, pid in pids.items()}
    cpu_s = sum(v for v in usage["process_cpu_s"].values() if v is not None)

    # Latency: the submission's own `submitted_at` (set just before sending) to the sink.
    submitted = dict(database.rows(urls["intake"], "SELECT reference, submitted_at FROM contributions"))
    latencies = sorted(
        (acks[ref] - database.stored_ns(submitted[ref])) / 1e9 for ref in acks if ref not in warm and ref in submitted
    )
    sustained = n / (finished - started)

    ack_messages = [maildir.read(name) for name in sorted(maildir.names())][: max(50, min(n, 1000))]
    bare_smtp = _bare_smtp(ctx, sink_port, ack_messages, sink.pid)
    ctx.log(f"bare smtplib: {bare_smtp['per_s']:,.0f}/s, {bare_smtp['cpu_ms']:.2f} ms CPU each")
    baseline_ms += bare_smtp["cpu_ms"] + bare_smtp["sink_cpu_ms"]  # the client's and the sink's
    base_s = 1 / bare_insert["per_s"] + (HOPS_HTTP + HOPS_KAFKA) / 2 / bare_hop["per_s"] + 1 / bare_smtp["per_s"]
    cpu_ms = 1000 * cpu_s / n
    ctx.log(f"pipeline: {sustained:.1f}/s sustained, {cpu_ms:.1f} ms CPU per contribution (bare sum {baseline_ms:.2f})")

    label = "intake + decisions + notifier, every process (`make run`)"
    bare_label = "bare INSERT + bare consume-produce per hop + bare smtplib"
    comparisons = [
        Comparison(
            f"CPU per contribution, summed over every process ({n} contributions)",
            "ms",
            cpu_ms,
            baseline_ms,
            None if opts.quick else CPU_GOAL,
            subject_label=label,
            baseline_label=bare_label,
            lower_is_better=True,
        ),
        Comparison(
            f"sustained rate, offered {rate:.1f}/s for {offered_s:.0f} s (contributions/s)",
            "per s",
            sustained,
            1 / base_s,
            None if opts.quick else RATE_GOAL,
            subject_label=label,
            baseline_label=bare_label,
        ),
    ]
    for pct in (50, 95, 99):
        comparisons.append(
            Comparison(
                f"submission to acknowledgement in the sink, p{pct}",
                "s",
                percentile(latencies, pct),
                None,
                None,
                lower_is_better=True,
            )
        )
    memory = [MemoryRow("service", name.replace("-", " "), pid, peaks[name]) for name, pid in pids.items()]
    memory += [
        MemoryRow("bare", f"bare INSERT {name}", pid, peak)
        for (name, pid), peak in zip(bare_insert["pids"].items(), bare_insert["peaks"].values(), strict=True)
    ]
    memory += [
        MemoryRow("bare", "bare consume-produce loop", 0, bare_hop["peak"]),
        MemoryRow("bare", "bare smtplib client", 0, bare_smtp["peak"]),
    ]
    per_process = {k: round(1000 * v / n, 2) for k, v in usage["process_cpu_s"].items() if v is not None}
    busiest = sorted(per_process.items(), key=lambda kv: -kv[1])[:6]
    notes = [
        f"{n} contributions offered at {rate:.1f}/s ({n // 2} over HTTP, {n // 2} on {SUBMISSIONS_TOPIC}); the last one "
        f"through {finished - started - offered_s:.1f} s after the last was offered; latency p50 "
        f"{percentile(latencies, 50):.3f} s, p99 {percentile(latencies, 99):.3f} s over {len(latencies)}",
        "bare steps: INSERT endpoint {:.0f}/s at {:.2f} ms CPU; consume-produce {:.0f}/s at {:.3f} ms CPU per hop "
        "(+ {:.3f} the broker's; {:.1f} hops per contribution on average); smtplib {:.0f}/s at {:.2f} ms CPU "
        "(+ {:.2f} the sink's)".format(
            bare_insert["per_s"],
            bare_insert["cpu_ms"],
            bare_hop["per_s"],
            bare_hop["cpu_ms"],
            bare_hop["broker_cpu_ms"],
            (HOPS_HTTP + HOPS_KAFKA) / 2,
            bare_smtp["per_s"],
            bare_smtp["cpu_ms"],
            bare_smtp["sink_cpu_ms"],
        ),
        "CPU ms per contribution by process (largest): " + ", ".join(f"{k} {v}" for k, v in busiest),
        f"machine CPU busy {usage.get('busy_pct', '?')}% during the run, hypervisor steal {usage.get('steal_pct', '?')}%",
    ]
    method = f"""
- **System:** everything `make run` starts, as processes: a Tansu broker, the SMTP sink, fresh
  databases on the run's engine for auth and the three services, one tenant with a `case-system`
  and a `staff` key and the case system's CloudEvents source; for each of intake, decisions and
  notifier its web under gunicorn (`deploy/gunicorn.conf.py`, 2 sync workers), `outcomes consume
  <service>` (the notifier's runs its sender) and `outcomes relay <service>`.
- **Offered:** contributions at a steady rate for {DURATION:g} s, alternately `POST /v1/contributions`
  with the case-system key (from {CLIENTS} client threads) and a `contribution.submitted` CloudEvent on
  `intake.submissions`, each with its own participant (email, consent). The rate offered is the goal:
  half the rate of the bare steps done one after another. One contribution each way first, not counted.
- **Counted:** a contribution is through when its acknowledgement email is in the sink and both the
  decisions and the notifier read models (`contributions_view`) hold it. Latency runs from its
  `submitted_at` (set to the wall clock just before sending, kept by intake) to the sink's acceptance.
  Sustained rate: contributions / (last one through - first offered).
- **CPU:** utime + stime from `/proc/<pid>/stat` of every process (gunicorn masters and workers,
  consumers, relays, the SMTP sink, the broker), before and after, over the contributions.
- **Baseline (same run, same engine):** the bare INSERT endpoint (`bench/bare_app.py`, same gunicorn
  config, {BARE_REQUESTS:,} POSTs from the same client threads) + the bare consume-produce loop
  (`bench/bare_kafka.py`, {BARE_EVENTS:,} events, from its first output) once per Kafka hop ({HOPS_HTTP} for an
  HTTP contribution: the relay's produce, the decisions and notifier consumers; {HOPS_KAFKA} on the topic:
  intake's consumer too) + bare smtplib (`bench/bare_smtp.py`) sending the notifier's own
  acknowledgements again. CPU: the sum of each step's CPU per item, counting the broker's CPU in
  each bare hop and the sink's in the bare sends, as the service's figure counts both; rate: 1 /
  the sum of each step's time per item. Goals: CPU at most {CPU_GOAL:g}x, sustained rate at least {RATE_GOAL:g}x.
"""
    return Result(
        name=BENCHMARK.name,
        title=BENCHMARK.title,
        comparisons=comparisons,
        memory=memory,
        method=method,
        details={
            "contributions": n,
            "offered_rate": rate,
            "sustained_rate": sustained,
            "latency_s": latencies,
            "cpu_ms_per_process": per_process,
            "bare": {
                "insert": {k: v for k, v in bare_insert.items() if k in ("per_s", "cpu_ms")},
                "hop": bare_hop,
                "smtp": bare_smtp,
            },
            "cpu": usage,
            "profiles": profile,
        },
        notes=notes,
    )


BENCHMARK = Benchmark(
    name="pipeline",
    title="The whole pipeline: contributions over HTTP and Kafka to acknowledgements and both read models",
    run=run,
)
