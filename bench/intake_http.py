"""HTTP intake: POST /v1/contributions per second under gunicorn (2 sync workers),
beside a bare Flask endpoint doing one INSERT under the same gunicorn config."""

from __future__ import annotations

import json
import statistics

from bench import database, loadgen, payloads, stack
from bench.bare_app import create_schema
from bench.harness import (
    Benchmark,
    BenchmarkFailed,
    Comparison,
    Result,
    RunContext,
    free_port,
    http_json,
    memory_rows,
    span,
)

GOAL = 0.7
TENANT = "bench"
PATH = "/v1/contributions"
NAMES = ("service", "bare")
CONNECTIONS = 8


def run(ctx: RunContext) -> Result:
    from shared.rules.constants import ROLE_CASE_SYSTEM, ROLE_STAFF

    opts = ctx.options
    connections = opts.connections_or(CONNECTIONS)
    generator, why = loadgen.choose(opts.loadgen)
    ctx.log(f"load generator: {generator.name} ({why})")

    intake_db = stack.migrate(ctx, "intake")
    keys = stack.create_tenant(ctx, TENANT, (ROLE_STAFF, ROLE_CASE_SYSTEM))
    ctx.env.setdefault("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")  # the web process never needs one
    bare_db = ctx.database_url("bare")
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
        result = generator.run(ctx, label, targets[name], template_file, headers_file, seconds, connections)
        accepted[name] += result.count(201)
        return result

    rounds = loadgen.alternate(ctx, {name: procs[name][0] for name in NAMES}, load, first=("bare", "service"))
    slice_s = rounds.slice_s

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

    rows = {
        "service": database.count(intake_db, "contributions"),
        "bare": database.count(bare_db, "submissions"),
    }
    notes = []
    for name in NAMES:
        bad, codes = sum(rounds.non_2xx(name).values()), rounds.non_2xx(name)
        errors = rounds.socket_errors(name)
        if bad or errors:
            notes.append(
                f"{name}: {bad} non-2xx responses {codes} and {errors} socket errors in {rounds.requests(name)} requests"
            )
        # The load generator stops at its deadline with requests in flight: those may be stored unanswered.
        slack = connections * (opts.rounds + 1)
        if not accepted[name] <= rows[name] <= accepted[name] + slack:
            notes.append(f"{name}: {accepted[name]} responses were 201 but the database holds {rows[name]} rows")
    if not any("non-2xx" in n or "database holds" in n for n in notes):
        notes.append("every measured response was 201, with no socket errors; stored rows match the 201s")

    per_round = rounds.per_round("service", "bare", lambda r: r.rps)
    cpu_per_request = {name: rounds.cpu_ms_per_request(name) for name in NAMES}
    if len(per_round) > 1:
        notes.append(
            f"per-round ratios: median {statistics.median(per_round):.2f}, range {min(per_round):.2f}-{max(per_round):.2f} "
            f"over {len(per_round)} rounds (noise on this shared machine)"
        )
    notes.append(
        f"CPU per request (gunicorn master + workers): intake {cpu_per_request['service']} ms, "
        f"bare {cpu_per_request['bare']} ms; machine CPU busy during intake slices "
        f"{span(rounds.busy('service'))}%, during bare slices {span(rounds.busy('bare'))}%; "
        f"hypervisor steal up to {rounds.max_steal():.1f}%"
    )

    comparison = Comparison(
        measure=f"POST {PATH}, {connections} connections",
        unit="req/s",
        subject=rounds.rate("service"),
        baseline=rounds.rate("bare"),
        goal=GOAL,
        subject_label="intake (gunicorn, 2 workers)",
        baseline_label="bare Flask + one INSERT (gunicorn, 2 workers)",
    )
    details = {
        "loadgen": generator.name,
        "loadgen_reason": why,
        "connections": connections,
        "measured_s_per_endpoint": slice_s * opts.rounds,
        "slice_s": slice_s,
        "warmup_s": opts.warmup,
        "rounds": opts.rounds,
        "per_round_ratio": per_round,
        "cpu_ms_per_request": cpu_per_request,
        "cpu": rounds.cpu,
        **rounds.to_dict(),
        "rows_written": rows,
        "responses_201": accepted,
        "body_bytes": len(payloads.fill(template, 12345678)),
        "profiles": rounds.profiles,
    }
    method = f"""
- **Subject:** `python -m gunicorn -c deploy/gunicorn.conf.py services.intake.entrypoints.wsgi:app`
  with `SERVICE=intake`, `WEB_CONCURRENCY=2` (sync workers, access log on, `PROMETHEUS_MULTIPROC_DIR`
  set as in `deploy/k8s/intake.yaml`), on fresh SQLite (WAL) databases migrated with
  `shared.infra.migrations` (auth and intake), one tenant, one `staff` and one `case-system` key.
- **Baseline:** `bench/bare_app.py` under the same command and config file: Flask, parse the
  JSON body, one `INSERT` through `shared.infra.db.create_engine` (same WAL/`BEGIN IMMEDIATE` settings)
  into its own SQLite file, answer `201 {{"id": ...}}`. No auth, validation, encryption or outbox.
- **Requests:** one engagement is created through the API with the staff key; then every request is
  `POST {PATH}` with the case-system key and a ~{details["body_bytes"]}-byte body: a view of a few
  sentences with the participant inline (external reference, name, email, phone, preferences), each
  request with its own participant. Both endpoints get the same bytes and headers.
- **Load:** {generator.name} ({why}), {connections} connections, closed loop (a connection sends its
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


BENCHMARK = Benchmark(name="intake-http", title="HTTP intake: POST /v1/contributions", run=run)
