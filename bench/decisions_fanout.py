"""Decisions fan-out: one POST /v1/decisions linking 5,000 contributions, timed until the
5,000th contribution.linked event is on outcomes.decisions (web under gunicorn, outbox
relay, Tansu), beside a bare kafka-python producer sending the same 5,000 records."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import signal
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid

from bench import database, decisions_data, kafka_tools, profiling, stack
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
    child_pids,
    peak_rss_kib,
    reset_peak_rss,
    wait_until,
)

GOAL = 3.0  # the service's time at most 3x the bare producer's
TENANT = "bench"
LINKS = 5_000
QUICK_LINKS = 1_000
REPEATS = 3  # of each, in the order service, bare, bare, service, service, bare
BARE_TOPIC = "bench.fanout.bare.{}"
LINKED = b'"type":"contribution.linked"'
INFLUENCE = "Asked for Saturday opening: one of the reasons for the pilot."


def _order(repeats: int) -> list[str]:
    """S B B S S B ...: the first bare run needs the first service run's events."""
    pattern = ("service", "bare", "bare", "service")
    return [pattern[i % 4] for i in range(2 * repeats)]


def _decision_body(board_id: str, engagement_id: str, title: str, contribution_ids: list[str]) -> bytes:
    return json.dumps(
        {
            "board_id": board_id,
            "engagement_id": engagement_id,
            "title": title,
            "description": "The board considered every view given about weekend opening and the costed "
            "options officers set out.",
            "decided_on": dt.date.today().isoformat(),
            "outcome": "partly_adopted",
            "rationale": "We will open on Saturday mornings for a six-month pilot; Sunday opening is "
            "not affordable this year and will be looked at again with the next budget.",
            "links": [{"contribution_id": c, "influence": INFLUENCE} for c in contribution_ids],
        },
        separators=(",", ":"),
    ).encode()


def _post(url: str, body: bytes, key: str, out: dict) -> None:
    """POST, and note the status and the seconds until the whole answer was read."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except OSError as error:
        status, raw = None, str(error).encode()
    out.update(seconds=time.monotonic() - started, status=status, raw=raw)


def _wait_ready(ctx: RunContext, proc: Proc) -> None:
    wait_until(
        lambda: "READY" in proc.tail(5),
        timeout=60,
        interval=0.02,
        what=f"{proc.name} to connect",
        procs=(proc,),
        processes=ctx.processes,
    )


def _figures(timeline: kafka_tools.Timeline) -> dict:
    first = timeline.first_output
    return {
        "seconds": round(timeline.reached_at, 4),
        "first_seen_s": first[0] if first else None,
        "final_count": timeline.final_count,
        "timeline": timeline.samples[:: max(1, len(timeline.samples) // 60)] + timeline.samples[-1:],
    }


def run(ctx: RunContext) -> Result:
    from shared.infra.crypto import Sealer
    from shared.rules.constants import DECISIONS_TOPIC, ROLE_BOARD, ROLE_STAFF

    opts = ctx.options
    n = opts.sized(LINKS, QUICK_LINKS)
    repeats = 1 if opts.quick else REPEATS
    order = _order(repeats)
    bare_topics = [BARE_TOPIC.format(i + 1) for i in range(repeats)]
    bootstrap = stack.start_broker(ctx, extra_topics=tuple(bare_topics))
    ctx.log(f"broker at {bootstrap}")
    url = stack.migrate(ctx, "decisions")
    keys = stack.create_tenant(ctx, TENANT, (ROLE_STAFF, ROLE_BOARD))
    sealer = Sealer((ctx.env["DATA_ENCRYPTION_KEYS"],))
    scale = decisions_data.Scale(contributions=n, decisions=0, per_engagement=n, messages=False)
    loaded = decisions_data.load(url, TENANT, sealer, scale, log=ctx.log)
    board_id, engagement_id = loaded.board_ids[0], loaded.engagement_ids[0]

    web, web_url = stack.start_gunicorn(
        ctx, "decisions-web", "services.decisions.entrypoints.wsgi:app", service="decisions"
    )
    relay = ctx.processes.start("decisions-relay", [PYTHON, "-m", "ops.cli", "relay", "decisions"])
    ctx.log(f"decisions at {web_url}, relay pid {relay.pid}")
    decisions_url = web_url + "/v1/decisions"
    counter = kafka_tools.RecordCounter(bootstrap, DECISIONS_TOPIC)
    try:
        broker = stack.broker_proc(ctx)
        timeout = 60 + n / 25

        # Warm-up: a small decision through the whole path, so the relay's producer has its
        # metadata and connection, as the bare producer has before its clock starts.
        warm = f"Warm-up {uuid.uuid4().hex[:8]}"
        answer: dict = {}
        _post(
            decisions_url,
            _decision_body(board_id, engagement_id, warm, loaded.contribution_ids[:10]),
            keys[ROLE_BOARD],
            answer,
        )
        if answer["status"] != 201:
            raise BenchmarkFailed(f"the warm-up POST answered {answer['status']}: {answer['raw'][:300]!r}")
        counter.wait_for(
            10,
            time.monotonic(),
            matching=(LINKED, warm.encode()),
            timeout=60,
            processes=ctx.processes,
            procs=(web, relay),
        )
        ctx.log("warm-up decision's 10 contribution.linked events are on the topic")

        records: list[tuple[bytes, bytes]] = []  # the first service run's events, for the bare producer
        records_file = ctx.tmp / "records.pickle"
        records_marker = b""  # the title that marks the first service run's records
        runs: dict[str, list[dict]] = {"service": [], "bare": []}
        profiles: dict = {}
        peaks: dict[str, int | None] = {}
        bare_procs: list[Proc] = []
        for kind in order:
            label = f"{kind} {len(runs[kind]) + 1}/{repeats}"
            if kind == "service":
                marker = f"Fanout run {len(runs['service']) + 1} {uuid.uuid4().hex[:8]}"
                body = _decision_body(board_id, engagement_id, marker, loaded.contribution_ids)
                workers = {f"web-worker{i}": pid for i, pid in enumerate(child_pids(web.pid), 1)}
                pids = {
                    "relay": relay.pid,
                    "web-master": web.pid,
                    **workers,
                    "broker": broker.pid,
                    "counter": os.getpid(),
                }
                counter.skip_existing()
                reset_peak_rss(broker.pid)
                meter = CpuMeter(pids)
                answer = {}
                poster = threading.Thread(
                    target=_post, args=(decisions_url, body, keys[ROLE_BOARD], answer), name="post", daemon=True
                )
                sample = {"relay": relay.pid, **workers} if not runs["service"] else {}
                with profiling.sampling(ctx, "fanout-service", sample, timeout) as profile:
                    started = time.monotonic()
                    poster.start()
                    timeline = counter.wait_for(
                        n,
                        started,
                        matching=(LINKED, marker.encode()),
                        timeout=timeout,
                        processes=ctx.processes,
                        procs=(web, relay),
                        linger=0.5,
                        collect=records if not records else None,
                    )
                records_marker = records_marker or marker.encode()
                usage = meter.stop()
                poster.join(120)
                if answer.get("status") != 201:
                    raise BenchmarkFailed(
                        f"POST /v1/decisions answered {answer.get('status')}: {answer.get('raw', b'')[:300]!r}"
                    )
                figures = {
                    **_figures(timeline),
                    "post_s": round(answer["seconds"], 4),
                    "after_post_s": round(timeline.reached_at - answer["seconds"], 4),
                    "request_bytes": len(body),
                    "response_bytes": len(answer["raw"]),
                    "cpu": usage,
                }
                if profile:
                    profiles["service"] = profile
                peaks.update({f"service {k}": peak_rss_kib(pid) for k, pid in pids.items() if k != "counter"})
                ctx.log(
                    f"{label}: {n} contribution.linked on the topic {timeline.reached_at:.2f} s after the POST began "
                    f"(POST answered 201 in {answer['seconds']:.2f} s; first event at {figures['first_seen_s']} s)"
                )
            else:
                index = len(runs["bare"])
                topic = bare_topics[index]
                if not records_file.exists():
                    records_file.write_bytes(pickle.dumps(records))
                producer = ctx.processes.start(
                    f"bare-producer-{index + 1}",
                    [
                        PYTHON,
                        "-m",
                        "bench.bare_produce",
                        "--bootstrap",
                        bootstrap,
                        "--topic",
                        topic,
                        "--records",
                        str(records_file),
                    ],
                )
                bare_procs.append(producer)
                _wait_ready(ctx, producer)
                bare_counter = kafka_tools.RecordCounter(bootstrap, topic)
                try:
                    bare_counter.skip_existing()  # the producer's warm-up records
                    reset_peak_rss(broker.pid)
                    meter = CpuMeter({"producer": producer.pid, "broker": broker.pid, "counter": os.getpid()})
                    sample = {"producer": producer.pid} if not runs["bare"] else {}
                    with profiling.sampling(ctx, "fanout-bare", sample, timeout) as profile:
                        started = time.monotonic()
                        os.kill(producer.pid, signal.SIGUSR1)
                        timeline = bare_counter.wait_for(
                            n,
                            started,
                            matching=(LINKED, records_marker),
                            timeout=timeout,
                            processes=ctx.processes,
                            procs=(producer,),
                            linger=0.5,
                        )
                    usage = meter.stop()
                finally:
                    bare_counter.close()
                figures = {**_figures(timeline), "cpu": usage, "topic": topic}
                if profile:
                    profiles["bare"] = profile
                peaks.update({"bare producer": peak_rss_kib(producer.pid), "bare broker": peak_rss_kib(broker.pid)})
                ctx.processes.stop(producer)
                ctx.log(f"{label}: {n} records on {topic} {timeline.reached_at:.2f} s after the first send")
            runs[kind].append(figures)
            if timeline.final_count != n:
                raise BenchmarkFailed(f"{label}: {timeline.final_count} matching records for {n} (duplicates?)")
    finally:
        counter.close()

    outbox_left = database.count(url, "outbox", where="published_at IS NULL")
    links_stored = database.count(url, "links")
    service_s = statistics.median(r["seconds"] for r in runs["service"])
    bare_s = statistics.median(r["seconds"] for r in runs["bare"])
    post_s = statistics.median(r["post_s"] for r in runs["service"])
    after_s = statistics.median(r["after_post_s"] for r in runs["service"])
    event_bytes = round(sum(len(v) for _, v in records) / len(records))

    def cpu_ms_per_event(kind: str) -> dict:
        totals: dict[str, float] = {}
        for r in runs[kind]:
            for name, seconds in r["cpu"]["process_cpu_s"].items():
                if seconds is not None:
                    totals[name] = totals.get(name, 0.0) + seconds
        return {name: round(1000 * s / (n * len(runs[kind])), 3) for name, s in totals.items()}

    cpu = {kind: cpu_ms_per_event(kind) for kind in runs}
    notes = [
        "each run: service "
        + ", ".join(f"{r['seconds']:.2f}" for r in runs["service"])
        + " s; bare "
        + ", ".join(f"{r['seconds']:.2f}" for r in runs["bare"])
        + " s (medians in the table)",
        f"of the service's {service_s:.2f} s, the POST itself took {post_s:.2f} s (median) and the last event "
        f"reached the topic {after_s:.2f} s after its answer; {outbox_left} outbox rows left unpublished, "
        f"{links_stored:,} links stored ({len(runs['service'])} x {n:,} + 10 from the warm-up)",
        "CPU per event (ms, all of a run's processes): "
        + "; ".join(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in figures.items()) for kind, figures in cpu.items()),
        "machine CPU busy in service runs "
        + ", ".join(f"{r['cpu'].get('busy_pct', '?')}%" for r in runs["service"])
        + "; in bare runs "
        + ", ".join(f"{r['cpu'].get('busy_pct', '?')}%" for r in runs["bare"]),
    ]
    comparisons = [
        Comparison(
            measure=f"POST /v1/decisions with {n:,} links to the {n:,}th contribution.linked on the topic",
            unit="s",
            subject=service_s,
            baseline=bare_s,
            goal=GOAL,
            lower_is_better=True,
            subject_label="decisions web + outbox relay",
            baseline_label=f"kafka-python producer sending {n:,} records",
        ),
        Comparison(
            measure=f"the POST's own response time ({n:,} links, {runs['service'][0]['request_bytes'] / 1e6:.2f} MB body)",
            unit="s",
            subject=post_s,
            baseline=None,
            goal=None,
            subject_label="decisions web",
        ),
    ]
    memory = [
        MemoryRow("service", "decisions gunicorn master", web.pid, peaks.get("service web-master")),
        *(
            MemoryRow("service", f"decisions gunicorn worker {i}", pid, peaks.get(f"service web-worker{i}"))
            for i, pid in enumerate(child_pids(web.pid), 1)
        ),
        MemoryRow("service", "decisions outbox relay", relay.pid, peaks.get("service relay")),
        MemoryRow(
            "service", "Tansu broker", broker.pid, peaks.get("service broker"), "peak during the last service run"
        ),
        MemoryRow("bare", "bare producer", bare_procs[-1].pid, peaks.get("bare producer"), "the last bare run's"),
        MemoryRow("bare", "Tansu broker", broker.pid, peaks.get("bare broker"), "peak during the last bare run"),
    ]
    details = {
        "links": n,
        "repeats": repeats,
        "order": order,
        "partitions": 3,
        "mean_event_bytes": event_bytes,
        "contributions_loaded_s": round(loaded.total_seconds, 2),
        "service": runs["service"],
        "bare": runs["bare"],
        "median_s": {"service": service_s, "bare": bare_s, "post": post_s, "after_post": after_s},
        "cpu_ms_per_event": cpu,
        "outbox_unpublished_at_end": outbox_left,
        "links_stored": links_stored,
        "profiles": profiles,
    }
    method = f"""
- **Setup:** one Tansu broker (`ops.broker.start_tansu`) on a free port with the project's topics
  (`shared.messaging.kafka.create_topics`, 3 partitions each) and {repeats} scratch topics for the baseline; a fresh
  SQLite (WAL) decisions database migrated with `shared.infra.migrations`, holding {n:,} contributions in
  `contributions_view` and their engagement (loaded directly, as in decisions-chain) and one board; one
  tenant with a `staff` and a `board` key. Running: the decisions web exactly as production
  (`python -m gunicorn -c deploy/gunicorn.conf.py services.decisions.entrypoints.wsgi:app`,
  `SERVICE=decisions`, `WEB_CONCURRENCY=2`) and `python -m ops.cli relay decisions`.
- **Subject:** `POST /v1/decisions` with the board key: a board, an engagement, an outcome with its
  rationale and {n:,} links `{{contribution_id, influence}}` (a {runs["service"][0]["request_bytes"] / 1e6:.2f} MB
  body, built before the clock starts). The service validates it, stores the decision and the links and
  writes one `contribution.linked` event per link to its outbox in the same transaction; the relay
  publishes them. A warm-up decision with 10 links goes through the whole path first. The clock runs
  from just before the POST is sent to the moment the {n:,}th `contribution.linked` event of that
  decision (matched by type and by the decision's title, unique per run) is read back from
  `{DECISIONS_TOPIC}`. The POST's own response time (until its whole answer is read) is reported too.
- **Baseline:** `bench/bare_produce.py`, a separate process with a kafka-python producer from
  `shared.messaging.kafka.producer` (the relay's settings: acks=all, linger 5 ms, one request in flight) on the
  same broker, sending the very records the first service run produced (same keys, same bytes, about
  {event_bytes} bytes each, same headers) to an empty scratch topic of 3 partitions. It connects, fetches
  metadata and sends a few warm-up records before it says it is ready; the clock runs from the signal
  to send to the {n:,}th record read back. (A producer with kafka-python's own defaults and acks=all
  took the same time within noise when this benchmark was written: at this size the producer is
  bound by its own CPU, about 0.27 ms a record, not by its settings.)
- **Counting:** the same counter for both (`kafka_tools.RecordCounter`): a kafka-python consumer
  assigned to every partition, reading the records themselves (fetches wait at most 20 ms) and
  matching each record's bytes, never end offsets (Tansu reports a partition's end as its last
  batch's base offset + 1). It keeps reading 0.5 s after the target, so duplicates would show; a run
  fails unless exactly {n:,} matching records arrive.
- **Runs:** {repeats} of each, in the order {", ".join(order)} (the first bare run needs the first service
  run's records); the table shows medians, the notes every run. CPU seconds of every process involved
  (`/proc/<pid>/stat`) per run, the harness's own (the counter, and the POST's client) included.
- **Goal:** the service's time at most {GOAL:.0f}x the bare producer's.
- **Memory:** VmHWM of the web processes, the relay and the bare producer after their run; the broker's
  peak is reset at the start of each run.
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
    name="decisions-fanout", title="Decisions fan-out: one decision linking 5,000 contributions to its events", run=run
)
