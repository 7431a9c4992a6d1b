"""Notifier latency: decisions recorded one at a time at a steady rate, each linking one
contribution; the time from the POST to the participant's update email arriving at the
SMTP sink, through the whole running system (intake, decisions, notifier, broker)."""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from bench import database, payloads, stack
from bench.harness import (
    Benchmark,
    BenchmarkFailed,
    Comparison,
    CpuMeter,
    MemoryRow,
    Result,
    RunContext,
    child_pids,
    http_json,
    peak_rss_kib,
    wait_until,
)
from bench.loadgen import percentile
from bench.mail_tools import SubjectWatcher, accepted_ns

TENANT = "bench"
SERVICES = ("intake", "decisions", "notifier")
DECISIONS = 60
QUICK_DECISIONS = 10
RATE = 2.0  # decisions a second
P50_LIMIT, P95_LIMIT = 1.0, 3.0  # seconds, reported not asserted
GRACE_S = 60.0  # how long after the last POST an update may still arrive
UPDATE_SUBJECT = "What happened to your contribution"
ACK_SUBJECT = "We have received your"


def _reference(subject: str) -> str:
    return subject.rsplit("(", 1)[-1].rstrip(")")


def _post_decision(url: str, key: str, body: dict, out: dict) -> None:
    """POST, noting the wall-clock ns just before sending, the status and the answer time."""
    data = json.dumps(body, separators=(",", ":")).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    )
    out["post_ns"] = time.time_ns()
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            out["status"], raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        out["status"], raw = error.code, error.read()
    except OSError as error:
        out["status"], raw = None, str(error).encode()
    out["answer_s"] = time.monotonic() - started
    if out["status"] != 201:
        out["error"] = raw[:300]


def _median(values: list[float]) -> float | None:
    values = sorted(v for v in values if v is not None)
    return percentile(values, 50) if values else None


def run(ctx: RunContext) -> Result:
    from shared.rules.constants import ROLE_BOARD, ROLE_CASE_SYSTEM, ROLE_STAFF

    opts = ctx.options
    n = opts.sized(DECISIONS, QUICK_DECISIONS * 3 if opts.smoke else QUICK_DECISIONS)
    bootstrap = stack.start_broker(ctx)
    broker = stack.broker_proc(ctx)
    ctx.log(f"broker at {bootstrap}")
    sink, sink_port, maildir = stack.start_smtp_sink(ctx)
    urls = stack.migrate_services(ctx, SERVICES)
    keys = stack.create_tenant(ctx, TENANT, (ROLE_CASE_SYSTEM, ROLE_BOARD, ROLE_STAFF))
    ctx.env.setdefault("LINK_SIGNING_SECRET", secrets.token_urlsafe(32))

    # Everything `make run` starts (ops/devrun.py): per service its web under gunicorn,
    # its consumer and its outbox relay.
    web: dict[str, tuple] = {}
    workers: dict[str, object] = {}
    for service in SERVICES:
        web[service] = stack.start_gunicorn(
            ctx, f"{service}-web", f"services.{service}.entrypoints.wsgi:app", service=service
        )
        workers[f"{service}-consumer"] = stack.start_worker(ctx, service, "consume")
        workers[f"{service}-relay"] = stack.start_worker(ctx, service, "relay")
    procs = tuple(workers.values()) + (sink, broker) + tuple(p for p, _ in web.values())
    intake_url, decisions_url = web["intake"][1], web["decisions"][1]
    ctx.log(f"intake {intake_url}, decisions {decisions_url}, notifier {web['notifier'][1]}, sink port {sink_port}")

    staff = {"Authorization": f"Bearer {keys[ROLE_STAFF]}"}
    status, engagement = http_json("POST", intake_url + "/v1/engagements", payloads.engagement_body(), staff)
    if status != 201:
        raise BenchmarkFailed(f"creating the engagement answered {status}: {engagement}")
    status, board = http_json(
        "POST",
        decisions_url + "/v1/boards",
        {"name": "Adult Social Care Partnership Board", "remit": "Day services, transport and respite."},
        staff,
    )
    if status != 201:
        raise BenchmarkFailed(f"creating the board answered {status}: {board}")

    # One contribution per decision, plus one for the warm-up, each its own participant.
    total = n + 1
    contributions: list[dict] = []
    case_system = {"Authorization": f"Bearer {keys[ROLE_CASE_SYSTEM]}"}
    for number in range(1, total + 1):
        body = payloads.contribution_body(engagement["id"], number, f"{number % 1000:03d}", payloads.TEXTS[number % 3])
        status, created = http_json("POST", intake_url + "/v1/contributions", body, case_system)
        if status != 201:
            raise BenchmarkFailed(f"POST /v1/contributions answered {status}: {created}")
        contributions.append({"id": created["id"], "reference": created["reference"]})
    by_reference = {c["reference"]: c for c in contributions}
    ctx.log(f"{total} contributions submitted through intake; waiting for their acknowledgements")

    watcher = SubjectWatcher(maildir)
    acknowledged: set[str] = set()
    updates: dict[str, int] = {}  # reference -> ns the sink accepted its update
    stray: list[str] = []

    def collect() -> None:
        for name, subject, _to in watcher.poll():
            reference = _reference(subject)
            if subject.startswith(ACK_SUBJECT) and reference in by_reference:
                acknowledged.add(reference)
            elif subject.startswith(UPDATE_SUBJECT) and reference in by_reference and reference not in updates:
                updates[reference] = accepted_ns(name)
            else:
                stray.append(subject)

    def acks_in() -> bool:
        collect()
        return len(acknowledged) == total

    wait_until(
        acks_in,
        timeout=60 + 2 * total,
        interval=0.25,
        what=f"{total} acknowledgements",
        procs=procs,
        processes=ctx.processes,
    )
    wait_until(
        lambda: database.count(urls["decisions"], "contributions_view") >= total,
        timeout=60,
        what="decisions to know every contribution",
        procs=procs,
        processes=ctx.processes,
    )
    ctx.log("every contribution acknowledged by email and known to decisions")

    decisions_post = decisions_url + "/v1/decisions"
    board_key = keys[ROLE_BOARD]

    def decision(index: int, title: str) -> dict:
        return payloads.decision_body(board["id"], engagement["id"], [contributions[index]["id"]], title)

    # Warm-up: one decision through the whole chain, not counted.
    warm: dict = {}
    _post_decision(decisions_post, board_key, decision(0, "Warm-up decision"), warm)
    if warm["status"] != 201:
        raise BenchmarkFailed(f"the warm-up decision answered {warm['status']}: {warm.get('error')!r}")
    warm_ref = contributions[0]["reference"]

    def warm_in() -> bool:
        collect()
        return warm_ref in updates

    wait_until(warm_in, timeout=60, interval=0.1, what="the warm-up update email", procs=procs, processes=ctx.processes)
    warm_s = (updates[warm_ref] - warm["post_ns"]) / 1e9
    ctx.log(f"warm-up decision's update email in the sink {warm_s:.2f} s after its POST")

    # Measured: n decisions at RATE a second, each linking the next contribution.
    posts = [dict() for _ in range(n)]
    measured = contributions[1:]
    all_pids = {name: p.pid for name, p in workers.items()}
    for service, (master, _) in web.items():
        all_pids[f"{service}-web"] = master.pid
        all_pids.update({f"{service}-web-worker{i}": pid for i, pid in enumerate(child_pids(master.pid), 1)})
    all_pids.update({"smtp-sink": sink.pid, "broker": broker.pid, "harness": os.getpid()})
    meter = CpuMeter(all_pids)
    interval = 1.0 / RATE
    ctx.log(f"posting {n} decisions, one every {interval:.2f} s")
    started = time.monotonic() + 0.2
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="post") as pool:
        futures = []
        for index in range(n):
            while True:  # send on schedule; collect arrivals while waiting
                wait = started + index * interval - time.monotonic()
                if wait <= 0:
                    break
                collect()
                time.sleep(min(wait, 0.1))
            futures.append(
                pool.submit(
                    _post_decision,
                    decisions_post,
                    board_key,
                    decision(index + 1, f"Decision {index + 1} on Saturday opening"),
                    posts[index],
                )
            )
        for future in futures:
            future.result(timeout=60)
    last_post = time.monotonic()
    failed = [p for p in posts if p.get("status") != 201]
    if failed:
        raise BenchmarkFailed(f"{len(failed)} of {n} decision POSTs failed, e.g. {failed[0]}")
    wanted = {c["reference"] for c in measured}
    deadline = last_post + GRACE_S
    while not wanted <= set(updates) and time.monotonic() < deadline:
        ctx.processes.check(*procs)
        collect()
        time.sleep(0.1)
    time.sleep(1.0)  # a second update for the same contribution would show here
    collect()
    usage = meter.stop()
    peaks = {name: peak_rss_kib(pid) for name, pid in all_pids.items() if name != "harness"}

    # Figures -------------------------------------------------------------------------
    latencies = []
    for contribution, post in zip(measured, posts, strict=True):
        arrived = updates.get(contribution["reference"])
        contribution["post_ns"] = post["post_ns"]
        contribution["answer_s"] = post["answer_s"]
        contribution["arrived_ns"] = arrived
        latencies.append((arrived - post["post_ns"]) / 1e9 if arrived else float("inf"))
    arrived_count = sum(1 for v in latencies if v != float("inf"))
    if arrived_count < n / 2:
        raise BenchmarkFailed(
            f"only {arrived_count} of {n} update emails arrived within {GRACE_S:.0f} s of the last POST"
        )
    ordered = sorted(latencies)
    p50, p95, worst = percentile(ordered, 50), percentile(ordered, 95), ordered[-1]
    repeated = [s for s in stray if s.startswith(UPDATE_SUBJECT)]

    # Where the time went, from the services' own timestamps (same machine clock).
    ids = tuple(c["id"] for c in measured)
    marks = ",".join("?" * len(ids))
    published = dict(
        database.rows(
            urls["decisions"],
            f"SELECT message_key, min(published_at) FROM outbox WHERE message_key IN ({marks}) "
            'AND CAST(payload AS TEXT) LIKE \'%"type":"contribution.linked"%\' GROUP BY message_key',
            ids,
        )
    )
    recorded = {
        cid: (created, updated)
        for cid, created, updated in database.rows(
            urls["notifier"],
            f"SELECT contribution_id, created_at, updated_at FROM notifications WHERE kind = 'decision_linked' "
            f"AND contribution_id IN ({marks})",
            ids,
        )
    }
    stages: dict[str, list[float]] = {"answer": [], "to_topic": [], "to_notifier": [], "to_sink": []}
    for c in measured:
        if c["arrived_ns"] is None:
            continue
        answered_ns = c["post_ns"] + c["answer_s"] * 1e9
        on_topic = database.stored_ns(published.get(c["id"]))
        created = database.stored_ns((recorded.get(c["id"]) or (None, None))[0])
        stages["answer"].append(c["answer_s"])
        if on_topic:
            stages["to_topic"].append((on_topic - answered_ns) / 1e9)
        if on_topic and created:
            stages["to_notifier"].append((created - on_topic) / 1e9)
        if created:
            stages["to_sink"].append((c["arrived_ns"] - created) / 1e9)
    stage_medians = {k: _median(v) for k, v in stages.items()}
    stage_max = {k: round(max(v), 3) if v else None for k, v in stages.items()}

    def fmt(value: float | None) -> str:
        return "?" if value is None else f"{value:.3f}"

    notes = [
        f"{arrived_count} of {n} update emails arrived (within {GRACE_S:.0f} s of the last POST); "
        f"{len(repeated)} repeated; p50 {p50:.3f} s, p95 {p95:.3f} s, max {worst:.3f} s "
        f"(goals: p50 under {P50_LIMIT:g} s, p95 under {P95_LIMIT:g} s on this machine: reported, not asserted)",
        "median stages (s): POST answered "
        + fmt(stage_medians["answer"])
        + "; answer to the event on the topic (decisions outbox relay) "
        + fmt(stage_medians["to_topic"])
        + "; topic to the notification recorded (notifier consumer) "
        + fmt(stage_medians["to_notifier"])
        + "; recorded to the email in the sink (notifier sender, SMTP) "
        + fmt(stage_medians["to_sink"])
        + "; worst of each: "
        + ", ".join(f"{k} {fmt(v)}" for k, v in stage_max.items()),
        f"warm-up decision (not counted): {warm_s:.2f} s; machine CPU busy {usage.get('busy_pct', '?')}% during the "
        f"measured decisions, hypervisor steal {usage.get('steal_pct', '?')}%",
    ]
    comparisons = [
        Comparison(
            measure=f"POST /v1/decisions to the update email in the SMTP sink, {n} decisions at {RATE:g}/s, p50",
            unit="s",
            subject=p50,
            baseline=None,
            goal=None,
            lower_is_better=True,
            limit=P50_LIMIT,
            subject_label="intake + decisions + notifier, as `make run` starts them",
        ),
        Comparison(
            measure=f"the same, p95 ({arrived_count} of {n} arrived)",
            unit="s",
            subject=p95,
            baseline=None,
            goal=None,
            lower_is_better=True,
            limit=P95_LIMIT,
            subject_label="intake + decisions + notifier, as `make run` starts them",
        ),
        Comparison(
            measure="the same, max",
            unit="s",
            subject=worst,
            baseline=None,
            goal=None,
            lower_is_better=True,
            subject_label="intake + decisions + notifier, as `make run` starts them",
        ),
    ]
    memory = [
        *(
            MemoryRow(
                "service", f"{service} gunicorn {'master' if name == f'{service}-web' else 'worker'}", pid, peaks[name]
            )
            for service in SERVICES
            for name, pid in all_pids.items()
            if name.startswith(f"{service}-web")
        ),
        *(
            MemoryRow("service", name.replace("-", " "), pid, peaks[name])
            for name, pid in all_pids.items()
            if name in workers
        ),
        MemoryRow("service", "SMTP sink", sink.pid, peaks["smtp-sink"]),
        MemoryRow("service", "Tansu broker", broker.pid, peaks["broker"]),
    ]
    details = {
        "decisions": n,
        "rate_per_s": RATE,
        "arrived": arrived_count,
        "repeated_updates": len(repeated),
        "stray_subjects": stray[:20],
        "latency_s": {
            "p50": round(p50, 4),
            "p95": round(p95, 4),
            "max": round(worst, 4),
            "min": round(ordered[0], 4),
            "each": [round(v, 4) if v != float("inf") else None for v in latencies],
        },
        "stage_median_s": {k: round(v, 4) if v is not None else None for k, v in stage_medians.items()},
        "stage_max_s": stage_max,
        "post_answer_s": [round(p["answer_s"], 4) for p in posts],
        "warm_up_s": round(warm_s, 3),
        "cpu": usage,
    }
    method = f"""
- **System:** everything `make run` starts (`ops/devrun.py`), as processes in a scratch directory:
  a Tansu broker on a free port with the project's topics; the SMTP sink
  (`python -m ops.cli smtp-sink`); fresh SQLite (WAL) databases for auth, intake, decisions and
  notifier, migrated with `shared.infra.migrations`; one tenant with a `case-system`, a `board` and a
  `staff` key; then for each of intake, decisions and notifier its web
  (`python -m gunicorn -c deploy/gunicorn.conf.py services.<service>.entrypoints.wsgi:app`, 2 sync
  workers), `python -m ops.cli consume <service>` and `python -m ops.cli relay <service>`,
  with `SMTP_HOST`/`SMTP_PORT` at the sink, one `DATA_ENCRYPTION_KEYS` and `LINK_SIGNING_SECRET` for
  all, and default settings otherwise (notifier sender batches of 20 with a 0.2 s idle poll, relays
  polling every 0.05 s, consumers polling for 0.5 s).
- **Setup:** one engagement through intake's API and one board through decisions' API; {total}
  contributions through `POST /v1/contributions` with the case-system key, each with its own
  participant (email preferred, consent given). The run waits until every one's acknowledgement is
  in the sink and decisions' read model holds them all. Then one warm-up decision (linking the first
  contribution) goes through the whole chain, not counted.
- **Measured:** {n} decisions, {RATE:g} a second on a fixed schedule (each POST in its own thread, so
  a slow answer does not delay the next), each `POST /v1/decisions` with the board key: an outcome
  with its reason, one resource change and one link to the next contribution. For each, the clock
  runs from just before its POST is sent (`time.time_ns()`) to the moment the sink accepted the
  update email whose subject ("{UPDATE_SUBJECT} (REF)") names that contribution's reference, read
  from the sink's file name (`time.time_ns()` in the sink, written before it answers 250). Updates
  may arrive until {GRACE_S:.0f} s after the last POST; one not there by then counts as infinitely
  late in the percentiles; a second update for the same contribution would be counted as repeated.
- **Where the time goes:** the services' own timestamps on the same clock: the decisions outbox
  row's `published_at` (the relay's send acknowledged), the notifier's `notifications.created_at`
  (the consumer recorded it); medians per stage are in the notes.
- **Figures:** p50, p95 and max over the {n} decisions (nearest rank). There is no bare baseline:
  the issue's goals are absolute (p50 under {P50_LIMIT:g} s, p95 under {P95_LIMIT:g} s on this machine) and
  are reported, not asserted (`--strict` ignores them).
- **Memory:** VmHWM of every process at the end (since it started: setup included).
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
    name="notifier-latency",
    title="Notifier latency: from a decision's POST to the participant's email in the SMTP sink",
    run=run,
)
