"""The memory goal: each service process's peak RSS (VmHWM) at most 1.5x its bare counterpart's,
measured in the same benchmark (issue 14). A web worker is set beside the bare Flask worker of the
same benchmark, a consumer or relay beside the bare consume-produce loop (or bare producer), the
notifier's consumer + sender beside the bare smtplib client. The largest process of each kind is
the figure: a council sizes its containers by it."""

from __future__ import annotations

from bench.harness import Comparison, MemoryRow, Result

GOAL = 1.5

# benchmark -> (what the row calls the service's process, its rows' name prefix, the bare rows' prefix)
COUNTERPARTS: dict[str, list[tuple[str, str, str]]] = {
    "intake-http": [("intake web worker", "intake gunicorn worker", "bare gunicorn worker")],
    "decisions-chain": [("decisions web worker", "decisions gunicorn worker", "bare gunicorn worker")],
    "intake-kafka": [
        ("intake consumer", "intake consumer", "bare consume/produce loop"),
        ("intake relay", "intake relay", "bare consume/produce loop"),
    ],
    "decisions-fanout": [("decisions outbox relay", "decisions outbox relay", "bare producer")],
    "notifier-fanout": [("notifier consumer + sender", "notifier consumer + sender", "bare smtplib client")],
    "pipeline": [
        *[
            (f"{service} web worker", f"{service} worker", "bare INSERT bare-web-worker")
            for service in ("intake", "decisions", "notifier")
        ],
        *[
            (f"{service} {process}", f"{service} {process}", "bare consume-produce loop")
            for service in ("intake", "decisions", "notifier")
            for process in ("consumer", "relay")
        ],
    ],
}


def _largest(rows: list[MemoryRow], group: str, prefix: str) -> MemoryRow | None:
    matching = [r for r in rows if r.group == group and r.process.startswith(prefix) and r.peak_rss_kib]
    return max(matching, key=lambda r: r.peak_rss_kib or 0, default=None)


def comparisons(result: Result) -> list[Comparison]:
    """One verdict row per kind of process the benchmark ran beside a bare counterpart."""
    found = []
    for label, service_prefix, bare_prefix in COUNTERPARTS.get(result.name, []):
        service = _largest(result.memory, "service", service_prefix)
        bare = _largest(result.memory, "bare", bare_prefix)
        if service is None or bare is None:
            continue
        found.append(
            Comparison(
                measure=f"peak RSS: {label} beside {bare.process}",
                unit="MiB",
                subject=round(service.peak_rss_mib or 0, 1),
                baseline=round(bare.peak_rss_mib or 0, 1),
                goal=GOAL,
                subject_label=service.process,
                baseline_label=bare.process,
                lower_is_better=True,
            )
        )
    return found
