"""HTTP intake: POST /v1/contributions per second under gunicorn (2 sync workers),
beside a bare Flask endpoint doing one INSERT under the same gunicorn config."""

from __future__ import annotations

import json
import statistics

from bench import loadgen, payloads, profiling, stack
from bench.bare_app import create_schema
from bench.harness import (
    Benchmark,
    BenchmarkFailed,
    Comparison,
    CpuMeter,
    Result,
    RunContext,
    child_pids,
    free_port,
    http_json,
    memory_rows,
)

GOAL = 0.7
TENANT = "bench"
PATH = "/v1/contributions"
NAMES = ("service", "bare")


def run(ctx: RunContext) -> Result:
    from shared.constants import ROLE_CASE_SYSTEM, ROLE_STAFF

    opts = ctx.options
    generator, why = loadgen.choose(opts.loadgen)
    ctx.log(f"load generator: {generator.name} ({why})")

    intake_db = stack.migrate(ctx, "intake")
    keys = stack.create_tenant(ctx, TENANT, (ROLE_STAFF, ROLE_CASE_SYSTEM))
    ctx.env.setdefault("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")  # the web process never needs one
    bare_db = ctx.sqlite_url("bare")
    create_schema(bare_db)

    procs = {
        "service": stack.start_gunicorn(ctx, "intake-web", "services.intake.entrypoints.wsgi:app"),
        "bare": stack.start_gunicorn(ctx, "bare-web", "bench.bare_app:app", env={"BARE_DATABASE_URL": bare_db}),
    }
    ctx.log(f"intake at {procs['service'][1]}, bare at {procs['bare'][1]}")

    status, engagement = http_json(
        "POST",
        procs["service"][1] + "/v1/engagements",
        payloads.engagement_body(),
        {"Authorization": f"Bearer {keys[ROLE_STAFF]}"},
    )
    if status != 201:
        raise BenchmarkFailed(f"creating the engagement answered {status}: {engagement}")
    template = payloads.contribution_template(engagement["id"])
    template_file = ctx.tmp / "body.json"
    template_file.write_text(template)
    # The same headers to both, so both read the same bytes; the bare app ignores the key.
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {keys[ROLE_CASE_SYSTEM]}"}
    headers_file = ctx.tmp / "headers.txt"
    headers_file.write_text("".join(f"{k}: {v}\n" for k, v in headers.items()))

    targets = {name: procs[name][1] + PATH for name in NAMES}
    accepted = dict.fromkeys(NAMES, 0)
    for name in NAMES:
        status, body = http_json("POST", targets[name], json.loads(payloads.fill(template, 0)), headers)
        if status != 201:
            raise BenchmarkFailed(f"a first POST to the {name} endpoint answered {status}: {body}")
        accepted[name] += 1

    def load(label: str, name: str, seconds: float) -> loadgen.LoadResult:
        result = generator.run(ctx, label, targets[name], template_file, headers_file, seconds, opts.connections)
        accepted[name] += result.count(201)
        return result

    for name in NAMES:
        ctx.log(f"{name}: warm-up {opts.warmup:.0f} s")
        load(f"load-warmup-{name}", name, opts.warmup)

    slice_s = max(1, round(opts.duration / opts.rounds))
    measured: dict[str, list] = {name: [] for name in NAMES}
    cpu: dict[str, list] = {name: [] for name in NAMES}
    profiles: dict = {}
    for round_no in range(opts.rounds):
        order = ("bare", "service") if round_no % 2 == 0 else ("service", "bare")  # ABBA...
        for name in order:
            proc = procs[name][0]
            workers = {f"worker{i}": pid for i, pid in enumerate(child_pids(proc.pid), 1)}
            label = f"http-{name}"
            meter = CpuMeter({"master": proc.pid, **workers})
            with profiling.sampling(ctx, label, workers if round_no == 0 else {}, slice_s + 5) as summary:
                result = load(f"load-{name}-{round_no}", name, slice_s)
            usage = meter.stop()
            if summary:
                profiles[label] = summary
            measured[name].append(result)
            cpu[name].append(usage)
            ctx.log(
                f"round {round_no + 1}/{opts.rounds} {name:>7}: {result.rps:8,.1f} req/s, "
                f"{result.count(201)} x 201, {result.non_2xx} non-2xx, {result.errors} socket errors, "
                f"p50 {result.latency_ms.get('p50', 0):.1f} ms, machine CPU busy {usage.get('busy_pct', '?')}%"
            )
            ctx.processes.check(procs["service"][0], procs["bare"][0])

    memory = [
        *memory_rows(
            "service",
            "intake gunicorn master",
            procs["service"][0],
            with_children=True,
            child_name="intake gunicorn worker",
        ),
        *memory_rows(
            "bare", "bare gunicorn master", procs["bare"][0], with_children=True, child_name="bare gunicorn worker"
        ),
    ]

    def rate(name: str) -> float:
        runs = measured[name]
        return sum(r.requests for r in runs) / sum(r.duration_s for r in runs)

    def cpu_ms_per_request(name: str) -> float | None:
        seconds = [sum(v for v in u["process_cpu_s"].values() if v is not None) for u in cpu[name]]
        requests = sum(r.requests for r in measured[name])
        return round(1000 * sum(seconds) / requests, 3) if requests else None

    rows = {
        "service": stack.sqlite_count(intake_db, "contributions"),
        "bare": stack.sqlite_count(bare_db, "submissions"),
    }
    notes = []
    for name in NAMES:
        bad = sum(r.non_2xx for r in measured[name])
        errors = sum(r.errors for r in measured[name])
        total = sum(r.requests for r in measured[name])
        if bad or errors:
            codes: dict[str, int] = {}
            for r in measured[name]:
                for code, n in r.statuses.items():
                    if not code.startswith("2"):
                        codes[code] = codes.get(code, 0) + n
            notes.append(f"{name}: {bad} non-2xx responses {codes} and {errors} socket errors in {total} requests")
        # The load generator stops at its deadline with requests in flight: those may be stored unanswered.
        slack = opts.connections * (opts.rounds + 1)
        if not accepted[name] <= rows[name] <= accepted[name] + slack:
            notes.append(f"{name}: {accepted[name]} responses were 201 but the database holds {rows[name]} rows")
    if not any("non-2xx" in n or "database holds" in n for n in notes):
        notes.append("every measured response was 201, with no socket errors; stored rows match the 201s")

    per_round = [round(s.rps / b.rps, 3) for s, b in zip(measured["service"], measured["bare"], strict=True) if b.rps]
    cpu_per_request = {name: cpu_ms_per_request(name) for name in NAMES}
    busy = {name: [u.get("busy_pct") for u in cpu[name]] for name in NAMES}
    steal = [u.get("steal_pct", 0) or 0 for name in NAMES for u in cpu[name]]
    if len(per_round) > 1:
        notes.append(
            f"per-round ratios: median {statistics.median(per_round):.2f}, range {min(per_round):.2f}-{max(per_round):.2f} "
            f"over {len(per_round)} rounds (noise on this shared machine)"
        )
    notes.append(
        f"CPU per request (gunicorn master + workers): intake {cpu_per_request['service']} ms, "
        f"bare {cpu_per_request['bare']} ms; machine CPU busy during intake slices "
        f"{_span(busy['service'])}%, during bare slices {_span(busy['bare'])}%; hypervisor steal up to {max(steal):.1f}%"
    )

    comparison = Comparison(
        measure=f"POST {PATH}, {opts.connections} connections",
        unit="req/s",
        subject=rate("service"),
        baseline=rate("bare"),
        goal=GOAL,
        subject_label="intake (gunicorn, 2 workers)",
        baseline_label="bare Flask + one INSERT (gunicorn, 2 workers)",
    )
    details = {
        "loadgen": generator.name,
        "loadgen_reason": why,
        "connections": opts.connections,
        "measured_s_per_endpoint": slice_s * opts.rounds,
        "slice_s": slice_s,
        "warmup_s": opts.warmup,
        "rounds": opts.rounds,
        "per_round_ratio": per_round,
        "cpu_ms_per_request": cpu_per_request,
        "cpu": cpu,
        "service": [r.to_dict() for r in measured["service"]],
        "bare": [r.to_dict() for r in measured["bare"]],
        "rows_written": rows,
        "responses_201": accepted,
        "body_bytes": len(payloads.fill(template, 12345678)),
        "profiles": profiles,
    }
    method = f"""
- **Subject:** `python -m gunicorn -c deploy/gunicorn.conf.py services.intake.entrypoints.wsgi:app`
  with `SERVICE=intake`, `WEB_CONCURRENCY=2` (sync workers, access log on, `PROMETHEUS_MULTIPROC_DIR`
  set as in `deploy/k8s/intake.yaml`), on fresh SQLite (WAL) databases migrated with
  `shared.migrations` (auth and intake), one tenant, one `staff` and one `case-system` key.
- **Baseline:** `bench/bare_app.py` under the same command and config file: Flask, parse the
  JSON body, one `INSERT` through `shared.db.create_engine` (same WAL/`BEGIN IMMEDIATE` settings)
  into its own SQLite file, answer `201 {{"id": ...}}`. No auth, validation, encryption or outbox.
- **Requests:** one engagement is created through the API with the staff key; then every request is
  `POST {PATH}` with the case-system key and a ~{details["body_bytes"]}-byte body: a view of a few
  sentences with the participant inline (external reference, name, email, phone, preferences), each
  request with its own participant. Both endpoints get the same bytes and headers.
- **Load:** {generator.name} ({why}), {opts.connections} connections, closed loop (a connection sends its
  next request when the previous answer arrives; gunicorn's sync workers close the connection after
  each). Each endpoint first gets {opts.warmup:.0f} s of unmeasured warm-up, then {opts.rounds} measured
  slice(s) of {slice_s} s each, one endpoint at a time, alternating bare/intake, intake/bare, ... so both
  meet the same noise from the rest of the machine.
- **Figure:** completed responses / measured seconds, over all slices. Every response's status is
  counted (non-2xx and socket errors would be listed in the notes); the rows in each database are
  checked against the 201s. CPU seconds of the gunicorn master and workers (`/proc/<pid>/stat`) are
  divided by the requests for CPU per request, which noise disturbs less than throughput.
- **Goal:** intake reaches at least {GOAL} of the bare endpoint's requests per second.
- **Memory:** VmHWM of the gunicorn master and each worker after the last slice.
"""
    return Result(
        name=BENCHMARK.name,
        title=BENCHMARK.title,
        comparisons=[comparison],
        memory=memory,
        method=method,
        details=details,
        notes=notes,
    )


def _span(values: list) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "?"
    return f"{min(values):.0f}" if min(values) == max(values) else f"{min(values):.0f}-{max(values):.0f}"


BENCHMARK = Benchmark(name="intake-http", title="HTTP intake: POST /v1/contributions", run=run)
