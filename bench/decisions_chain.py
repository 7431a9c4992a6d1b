"""Decisions read side: GET /v1/contributions/{id}/outcome-chain latency under gunicorn
(2 sync workers) with 100,000 contributions and 10,000 decisions loaded, beside a bare
Flask endpoint running the same SELECTs for the same ids under the same gunicorn config."""

from __future__ import annotations

import dataclasses
import json
import random
import statistics

from bench import decisions_data, loadgen, stack
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

GOAL = 3.0  # p99 at most 3x the bare queries'
GROWTH_GOAL = 1.2  # p99 at the largest size at most 1.2x the p99 at the smallest
TENANT = "bench"
CONNECTIONS = 16
SEED = 20_261_122
FULL = decisions_data.Scale(contributions=100_000, decisions=10_000)
QUICK = decisions_data.Scale(contributions=5_000, decisions=500, per_engagement=1_000)
SAMPLE = 2_000  # ids requested, walked in the same order for both
QUICK_SAMPLE = 500
CHECKED = 60  # ids whose service and bare answers are compared row for row before the load
NAMES = ("service", "bare")
PATH = "/v1/contributions/{}/outcome-chain"


def _check_same_rows(urls: dict[str, str], headers: dict, ids: list[str], loaded) -> dict:
    """GET each id from both; fail unless both answer 200 with the same rows and the rows
    the loader wrote. Returns what the checked chains held, for the record."""
    held = {"links": 0, "with_changes": 0, "history_rows": 0, "messages": 0, "rated": 0, "statuses": {}}
    for contribution_id in ids:
        answers = {}
        for name in NAMES:
            status, body = http_json("GET", urls[name] + PATH.format(contribution_id), headers=headers, timeout=30)
            if status != 200 or not isinstance(body, dict):
                raise BenchmarkFailed(
                    f"{name}: GET {PATH.format(contribution_id)} answered {status}: {str(body)[:300]}"
                )
            answers[name] = body
        service, bare = answers["service"], answers["bare"]
        service_history = sum(len(c["history"]) for c in service["resource_changes"])
        pairs = {
            "links": (len(service["decisions"]), len(bare["links"]), loaded.links_of.get(contribution_id, 0)),
            "resource changes": (len(service["resource_changes"]), len(bare["resource_changes"]), None),
            "history rows": (service_history, len(bare["history"]), None),
            "messages": (len(service["messages"]), len(bare["messages"]), loaded.messages_of.get(contribution_id, 0)),
            "rating": (
                service["rating"] is not None,
                bare["rating"] is not None,
                contribution_id in loaded.rated,
            ),
        }
        for what, (from_service, from_bare, expected) in pairs.items():
            if from_service != from_bare or (expected is not None and from_service != expected):
                raise BenchmarkFailed(
                    f"contribution {contribution_id}: {what}: service {from_service}, bare {from_bare}, loaded {expected}"
                )
        if service["contribution"]["reference"] != bare["contribution"]["reference"]:
            raise BenchmarkFailed(f"contribution {contribution_id}: the two answers name different contributions")
        held["links"] += len(bare["links"])
        held["with_changes"] += bool(bare["resource_changes"])
        held["history_rows"] += len(bare["history"])
        held["messages"] += len(bare["messages"])
        held["rated"] += bare["rating"] is not None
        held["statuses"][service["status"]] = held["statuses"].get(service["status"], 0) + 1
    return held


def _scale(contributions: int, quick: bool) -> decisions_data.Scale:
    """The shape of FULL (or QUICK) at `contributions`: a decision for every 10 contributions."""
    base = QUICK if quick else FULL
    return dataclasses.replace(base, contributions=contributions, decisions=max(1, contributions // 10))


def _grow(into: decisions_data.Loaded | None, more: decisions_data.Loaded) -> decisions_data.Loaded:
    """What two loads into one database hold together."""
    if into is None:
        return more
    into.engagement_ids += more.engagement_ids
    into.board_ids += more.board_ids
    into.contribution_ids += more.contribution_ids
    into.decision_ids += more.decision_ids
    for name, count in more.rows.items():
        into.rows[name] = into.rows.get(name, 0) + count
    for name, seconds in more.seconds.items():
        into.seconds[name] = into.seconds.get(name, 0.0) + seconds
    into.links_of.update(more.links_of)
    into.messages_of.update(more.messages_of)
    into.rated |= more.rated
    return into


def run(ctx: RunContext) -> Result:
    """Measured at each of `--chain-sizes` in turn, the database grown in place between them
    (the same shape, more of it), then the p99 at the largest beside the p99 at the smallest."""
    from shared.infra.crypto import Sealer
    from shared.rules.constants import ROLE_STAFF

    opts = ctx.options
    url = stack.migrate(ctx, "decisions")
    keys = stack.create_tenant(ctx, TENANT, (ROLE_STAFF,))
    ctx.env.setdefault("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")  # the endpoint never needs one
    sealer = Sealer((ctx.env["DATA_ENCRYPTION_KEYS"],))  # the key the service will open them with
    loaded, results = None, []
    for size in sorted(set(opts.chain_sizes_for(ctx.engine))):
        have = len(loaded.contribution_ids) if loaded else 0
        scale = _scale(size - have, opts.quick)
        ctx.log(
            f"loading {scale.contributions:,} more contributions and {scale.decisions:,} decisions ({size:,} in all)"
        )
        more = decisions_data.load(url, TENANT, sealer, scale, seed=SEED + have, first_number=have, log=ctx.log)
        loaded = _grow(loaded, more)
        ctx.log(f"{sum(loaded.rows.values()):,} rows loaded in {loaded.total_seconds:.1f} s: {loaded.rows}")
        results.append((size, _measure(ctx, url, keys, loaded, _scale(size, opts.quick))))
    return _combined(results)


def _combined(results: list[tuple[int, Result]]) -> Result:
    """One Result: every size's figures, labelled with its size, and the p99's growth."""
    first = results[0][1]
    comparisons, memory, notes, details = [], [], [], {}
    for size, result in results:
        label = f"{size:,} contributions"
        for comparison in result.comparisons:
            comparison.measure = f"{label}: {comparison.measure}"
            comparisons.append(comparison)
        for row in result.memory:
            row.note = (row.note + "; " if row.note else "") + label
            memory.append(row)
        notes += [f"{label}: {note}" for note in result.notes]
        details[str(size)] = result.details
    if len(results) > 1:
        (small, low), (large, high) = results[0], results[-1]
        comparisons.append(
            Comparison(
                measure=f"p99 latency at {large:,} contributions beside {small:,} (growth)",
                unit="ms",
                subject=high.comparisons[0].subject,
                baseline=low.comparisons[0].subject,
                goal=GROWTH_GOAL,
                lower_is_better=True,
                subject_label=f"decisions at {large:,}",
                baseline_label=f"decisions at {small:,}",
            )
        )
    details["profiles"] = {str(size): result.details.get("profiles") for size, result in results}
    return Result(
        name=BENCHMARK.name,
        title=BENCHMARK.title,
        comparisons=comparisons,
        memory=memory,
        method=first.method,
        details=details,
        notes=notes,
    )


def _measure(ctx: RunContext, url: str, keys: dict, loaded: decisions_data.Loaded, scale) -> Result:
    """The service and the bare endpoint on the database as it is now; both stopped after."""
    from shared.rules.constants import ROLE_STAFF

    opts = ctx.options
    connections = opts.connections_or(CONNECTIONS)
    generator, why = loadgen.choose(opts.loadgen)
    ctx.log(f"load generator: {generator.name} ({why})")
    sample = random.Random(SEED).sample(loaded.contribution_ids, QUICK_SAMPLE if opts.quick else SAMPLE)
    paths_file = ctx.tmp / "paths.txt"
    paths_file.write_text("".join(PATH.format(i) + "\n" for i in sample))
    # The same headers to both (the bare app ignores the key), so both read the same bytes.
    headers = {"Authorization": f"Bearer {keys[ROLE_STAFF]}", "Accept": "application/json"}
    headers_file = ctx.tmp / "headers.txt"
    headers_file.write_text("".join(f"{k}: {v}\n" for k, v in headers.items()))

    database = url.removeprefix("sqlite:///")  # a PostgreSQL URL stays a URL
    procs = {
        "service": stack.start_gunicorn(
            ctx, "decisions-web", "services.decisions.entrypoints.wsgi:app", service="decisions"
        ),
        "bare": stack.start_gunicorn(
            ctx,
            "bare-chain-web",
            "bench.bare_chain_app:app",
            service="decisions",
            env={"BARE_CHAIN_DATABASE": database, "BARE_CHAIN_TENANT": TENANT},
        ),
    }
    urls = {name: procs[name][1] for name in NAMES}
    ctx.log(f"decisions at {urls['service']}, bare at {urls['bare']}")
    held = _check_same_rows(urls, headers, sample[:CHECKED], loaded)
    ctx.log(f"checked {CHECKED} chains: both answer the same rows ({held})")

    def load(label: str, name: str, seconds: float) -> loadgen.LoadResult:
        return generator.run_paths(ctx, label, urls[name], paths_file, headers_file, seconds, connections)

    rounds = loadgen.alternate(ctx, {name: procs[name][0] for name in NAMES}, load, first=("bare", "service"))

    memory = [
        *memory_rows(
            "service",
            "decisions gunicorn master",
            procs["service"][0],
            with_children=True,
            child_name="decisions gunicorn worker",
        ),
        *memory_rows(
            "bare", "bare gunicorn master", procs["bare"][0], with_children=True, child_name="bare gunicorn worker"
        ),
    ]

    pooled = {name: rounds.latencies(name) for name in NAMES}
    summary = {name: loadgen.latency_summary(pooled[name]) for name in NAMES}
    for name in NAMES:
        if not pooled[name]:
            raise BenchmarkFailed(f"no {name} request completed")
    notes = []
    for name in NAMES:
        codes, errors = rounds.non_2xx(name), rounds.socket_errors(name)
        if codes or errors:
            notes.append(
                f"{name}: {sum(codes.values())} non-2xx responses {codes} and {errors} socket errors "
                f"in {rounds.requests(name)} requests"
            )
    if not notes:
        notes.append(
            f"every measured response was 200 with no socket errors ({rounds.requests('service'):,} service, "
            f"{rounds.requests('bare'):,} bare requests); every latency recorded "
            f"({summary['service']['count']:,} and {summary['bare']['count']:,})"
        )
    per_round_p99 = rounds.per_round("service", "bare", lambda r: r.latency_ms.get("p99", 0))
    per_round_p50 = rounds.per_round("service", "bare", lambda r: r.latency_ms.get("p50", 0))
    if len(per_round_p99) > 1:
        notes.append(
            f"per-round p99 ratios: median {statistics.median(per_round_p99):.2f}, range "
            f"{min(per_round_p99):.2f}-{max(per_round_p99):.2f}; p50 ratios: median "
            f"{statistics.median(per_round_p50):.2f}, range {min(per_round_p50):.2f}-{max(per_round_p50):.2f} "
            f"over {len(per_round_p99)} rounds (noise on this shared machine)"
        )
    cpu_per_request = {name: rounds.cpu_ms_per_request(name) for name in NAMES}
    client_cpu = {name: rounds.client_cpu_ms_per_request(name) for name in NAMES}
    notes.append(
        f"CPU per request (gunicorn master + workers): decisions {cpu_per_request['service']} ms, "
        f"bare {cpu_per_request['bare']} ms (ratio "
        f"{cpu_per_request['service'] / cpu_per_request['bare']:.2f}); the load generator's own: "
        f"{client_cpu['service']} and {client_cpu['bare']} ms; machine CPU busy during decisions slices "
        f"{span(rounds.busy('service'))}%, during bare slices {span(rounds.busy('bare'))}%; "
        f"hypervisor steal up to {rounds.max_steal():.1f}%"
    )
    notes.append(
        f"with {connections} clients and 2 sync workers, {connections - 2} requests wait in the listen queue at "
        "any moment, so a request's latency is mostly the time to serve those ahead of it: latency ratios "
        "track CPU per request"
    )

    subject_label = "decisions (gunicorn, 2 workers)"
    baseline_label = "bare Flask + the same SELECTs (gunicorn, 2 workers)"
    what = f"GET outcome-chain, {connections} clients"
    comparisons = [
        Comparison(
            measure=f"{what}, p99 latency",
            unit="ms",
            subject=summary["service"]["p99"],
            baseline=summary["bare"]["p99"],
            goal=GOAL,
            lower_is_better=True,
            subject_label=subject_label,
            baseline_label=baseline_label,
        ),
        Comparison(
            measure=f"{what}, p50 latency",
            unit="ms",
            subject=summary["service"]["p50"],
            baseline=summary["bare"]["p50"],
            goal=None,
            lower_is_better=True,
            subject_label=subject_label,
            baseline_label=baseline_label,
        ),
        Comparison(
            measure=f"{what}, throughput",
            unit="req/s",
            subject=rounds.rate("service"),
            baseline=rounds.rate("bare"),
            goal=None,
            subject_label=subject_label,
            baseline_label=baseline_label,
        ),
    ]
    response_chars = {}  # one chain's JSON, re-serialised compactly: the answers' sizes side by side
    for name in NAMES:
        status, body = http_json("GET", urls[name] + PATH.format(sample[0]), headers=headers)
        response_chars[name] = len(json.dumps(body, separators=(",", ":"))) if status == 200 else None
    details = {
        "loadgen": generator.name,
        "loadgen_reason": why,
        "connections": connections,
        "scale": vars(scale),
        "rows_loaded": loaded.rows,
        "load_seconds": {k: round(v, 2) for k, v in loaded.seconds.items()},
        "sample_ids": len(sample),
        "checked_chains": {"ids": CHECKED, **held},
        "measured_s_per_endpoint": rounds.slice_s * opts.rounds,
        "slice_s": rounds.slice_s,
        "warmup_s": opts.warmup,
        "rounds": opts.rounds,
        "latency_ms": summary,
        "per_round_p99_ratio": per_round_p99,
        "per_round_p50_ratio": per_round_p50,
        "throughput_rps": {name: round(rounds.rate(name), 1) for name in NAMES},
        "non_2xx": {name: rounds.non_2xx(name) for name in NAMES},
        "cpu_ms_per_request": cpu_per_request,
        "client_cpu_ms_per_request": client_cpu,
        "cpu": rounds.cpu,
        **rounds.to_dict(),
        "profiles": rounds.profiles,
    }
    linked = sum(1 for n in loaded.links_of.values() if n)
    twice = sum(1 for n in loaded.links_of.values() if n == 2)
    method = f"""
- **Data:** a fresh SQLite (WAL) decisions database migrated with
  `shared.infra.migrations.upgrade_service('decisions', url)` (and `upgrade_auth` for the keys), then filled
  **directly** with SQLAlchemy Core `executemany` in chunks of {decisions_data.CHUNK:,} rows
  (`bench/decisions_data.py`; a direct load is fine for a read benchmark and takes
  {loaded.total_seconds:.0f} s instead of hours through events and the API):
  {loaded.rows["contributions_view"]:,} contributions in `contributions_view` (each one's words sealed
  with `shared.infra.crypto.Sealer` under the key the service runs with) across
  {loaded.rows["engagements_view"]} engagements (half past their feedback date),
  {loaded.rows["boards"]} boards, {loaded.rows.get("decisions", 0):,} decisions with
  {loaded.rows.get("decision_versions", 0):,} version rows (5% amended), {loaded.rows.get("links", 0):,} links
  (10-20 per decision; {linked:,} contributions linked, {twice:,} of them to 2 decisions, the rest of the
  contributions to none; 1% of links unlinked), {loaded.rows.get("resource_changes", 0):,} resource changes
  with {loaded.rows.get("resource_change_history", 0):,} history rows (1-3 each),
  {loaded.rows.get("messages_view", 0):,} `messages_view` rows and {loaded.rows.get("ratings_view", 0):,}
  ratings. One tenant, one `staff` key.
- **Subject:** `python -m gunicorn -c deploy/gunicorn.conf.py services.decisions.entrypoints.wsgi:app`
  with `SERVICE=decisions`, `WEB_CONCURRENCY=2` (sync workers, access log on, `PROMETHEUS_MULTIPROC_DIR`
  set), `DATA_ENCRYPTION_KEYS`, `AUTH_DATABASE_URL`, `DECISIONS_DATABASE_URL` and an unused
  `KAFKA_BOOTSTRAP_SERVERS`. Each request authenticates the key, reads the chain through the unit of
  work and repositories, opens the sealed text, derives the status and assembles the steps.
- **Baseline:** `bench/bare_chain_app.py` under the same command and config file, on the same database
  file: Flask and plain `sqlite3`, one read transaction (`BEGIN DEFERRED`) running the same SELECTs the
  service runs for the id (contribution, engagement, links, decisions, each decision's versions, the
  active decisions' resource changes and their history, messages, rating; same conditions and order),
  answering the rows as JSON: no auth, ORM, decryption, status or assembly. Before the load,
  {CHECKED} ids are fetched from both and must answer 200 with the same rows, matching what was loaded.
- **Requests:** a fixed random sample of {len(sample):,} contribution ids (seeded; linked, unlinked,
  with and without changes, messages and ratings, as the data falls); each client walks the list from
  its own offset, so the service and the baseline are asked for the same ids in the same order. Same
  headers (`Authorization: Bearer <staff key>`) to both.
- **Load:** {generator.name} ({why}), {connections} concurrent clients, closed loop (each sends its next
  request when the previous answer arrives; gunicorn's sync workers close the connection after each).
  With wrk: one connection per thread and `bench/wrk_get_paths.lua` timing every request with
  `CLOCK_MONOTONIC` from the moment the request is written (after the reconnect) to the end of the
  response, all of them written to a file. Each endpoint first gets {opts.warmup:.0f} s of unmeasured
  warm-up, then {opts.rounds} measured slice(s) of {rounds.slice_s:.0f} s each, one endpoint at a time,
  alternating bare/decisions, decisions/bare, ...
- **Figures:** p50 and p99 over every request of all slices of an endpoint pooled (nearest rank),
  throughput (completed responses / measured seconds), non-2xx responses and socket errors; CPU
  seconds of the gunicorn master and workers per request (`/proc/<pid>/stat`).
- **Goal:** the service's p99 at most {GOAL:.0f}x the bare queries' p99 (p50 and throughput shown for
  context).
- **Memory:** VmHWM of the gunicorn master and each worker after the last slice.
"""
    ctx.processes.stop(*(proc for proc, _ in procs.values()))
    return Result(
        name=BENCHMARK.name,
        title=BENCHMARK.title,
        comparisons=comparisons,
        memory=memory,
        method=method,
        details={**details, "response_json_chars_first_id": response_chars},
        notes=notes,
    )


BENCHMARK = Benchmark(
    name="decisions-chain", title="Decisions read side: GET /v1/contributions/{id}/outcome-chain", run=run
)
