"""The figures of a run: a table on stdout, bench/results/*.json and docs/benchmarks.md."""

from __future__ import annotations

import json
from pathlib import Path

from bench.harness import DOCS_PATH, RESULTS_DIR, Result


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _table(headers: list[str], rows: list[list[str]], align: str) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(cells, widths, align, strict=True))

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def comparison_rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for result in results:
        for c in result.comparisons:
            digits = 3 if c.unit in ("s", "ms") and max(c.subject, c.baseline or 0) < 10 else 1
            rows.append(
                [
                    result.label,
                    f"{c.measure} ({c.unit})",
                    _fmt(c.subject, digits),
                    _fmt(c.baseline, digits),
                    "-" if c.ratio is None else f"{c.ratio:.2f}",
                    c.goal_text,
                    c.verdict,
                ]
            )
    return rows


def _loadgens(results: list[Result]) -> str:
    """Each HTTP benchmark's load generator: 'wrk ... (intake-http); wrk ... (decisions-chain)'."""
    found = [(r.name, r.details.get("loadgen")) for r in results if r.details.get("loadgen")]
    if len({tool for _, tool in found}) == 1:
        return found[0][1]
    return "; ".join(f"{tool} ({name})" for name, tool in found)


TOP_FRAMES = 8


def _summaries(found: object, path: tuple[str, ...] = ()):
    """(where, summary) for every py-spy summary in a result's `profiles`, however nested."""
    if isinstance(found, dict) and "samples" in found:
        yield " / ".join(path), found
    elif isinstance(found, dict):
        for key, value in found.items():
            yield from _summaries(value, (*path, str(key)))


def profile_lines(result: Result) -> list[str]:
    """Markdown: the top frames of every profiled process of a result (py-spy, idle included)."""
    lines = []
    for where, summary in _summaries(result.details.get("profiles") or {}):
        if not summary.get("samples"):
            continue
        leaf = "; ".join(f"`{name}` {pct}%" for name, pct in summary.get("self_pct", [])[:TOP_FRAMES])
        ours = "; ".join(f"`{name}` {pct}%" for name, pct in summary.get("inclusive_pct_project", [])[:TOP_FRAMES])
        lines += [
            f"- **{where}** ({summary['samples']:,} samples): self: {leaf}",
            f"  - project code, inclusive: {ours}",
        ]
    if not lines:
        return []
    return [
        f"### Where the time goes ({result.engine}, py-spy, wall clock of the main thread, idle included)",
        "",
        *lines,
        "",
    ]


def memory_rows(results: list[Result]) -> list[list[str]]:
    return [[r.label, m.group, m.process, str(m.pid), _fmt(m.peak_rss_mib), m.note] for r in results for m in r.memory]


def text_report(run: dict, results: list[Result]) -> str:
    out = [
        "",
        f"Outcome Chain benchmarks, {run['date']} ({'quick smoke run' if run['quick'] else 'full run'})",
        f"machine: {run['machine']['nproc']} CPUs ({run['machine']['cpu_model']}), {run['machine']['memory_gib']} GiB; "
        f"load generator: {_loadgens(results) or run.get('loadgen') or '-'}",
        "",
    ]
    out += _table(
        ["benchmark", "measure", "service", "bare", "ratio", "goal", ""],
        comparison_rows(results),
        "llrrrll",
    )
    out += ["", "Peak memory (VmHWM) under load:"]
    out += _table(["benchmark", "group", "process", "pid", "MiB", "note"], memory_rows(results), "lllrrl")
    for result in results:
        for note in result.notes:
            out.append(f"note ({result.label}): {note}")
    out.append(f"\ntook {run['elapsed_s']:.0f} s end to end")
    return "\n".join(out)


def write_json(run: dict, results: list[Result], directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    document = {**run, "results": [r.to_dict() for r in results]}
    latest = directory / "latest.json"
    latest.write_text(json.dumps(document, indent=2, default=str) + "\n")
    stamp = run["date"].replace(":", "").replace("-", "")
    (directory / f"{stamp}-{'quick' if run['quick'] else 'full'}.json").write_text(latest.read_text())
    return latest


def _md_table(headers: list[str], rows: list[list[str]], align: str) -> list[str]:
    sep = ["---:" if a == "r" else "---" for a in align]
    return [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join(sep) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def markdown(run: dict, results: list[Result]) -> str:
    m = run["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python -m bench` (`make bench`); do not edit by hand, run it again. The",
        "machine is small, shared and noisy, so every figure is compared with a bare baseline",
        "measured in the same run on the same machine, never with an absolute threshold. The one",
        "exception is the notifier's latency, which has no bare counterpart: its issue sets absolute",
        "goals, which are reported here and never asserted.",
        "",
        f"- **Date:** {run['date']} ({'quick smoke run' if run['quick'] else 'full run'}, took {run['elapsed_s']:.0f} s)",
        f"- **Reproduce:** `{run['command']}` from the repository root (or `make bench`)",
        f"- **Code:** {run.get('git') or 'unknown revision'}",
        f"- **Machine:** {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB memory, "
        f"Linux {m['kernel']}, Python {m['python']}; load average at start {m.get('loadavg_at_start')}, "
        f"at end {run.get('loadavg_at_end')}",
        f"- **Load generator:** {_loadgens(results) or run.get('loadgen') or 'not used'}",
        "- **Versions:** " + ", ".join(f"{k} {v}" for k, v in run["versions"].items()),
        "",
        "## Results",
        "",
    ]
    lines += _md_table(
        ["benchmark", "measure", "service", "bare baseline", "ratio", "goal", "verdict"],
        comparison_rows(results),
        "llrrrll",
    )
    lines += [
        "",
        "## Peak memory under load",
        "",
        "VmHWM from `/proc/<pid>/status` of every process, read while it still runs.",
        "",
    ]
    lines += _md_table(
        ["benchmark", "group", "process", "pid", "peak RSS (MiB)", "note"], memory_rows(results), "lllrrl"
    )
    by_name: dict[str, list[Result]] = {}
    for result in results:
        by_name.setdefault(result.name, []).append(result)
    for group in by_name.values():
        lines += ["", f"## {group[0].title}", "", "### How it is measured", "", group[0].method.strip(), ""]
        lines += [
            "Run once on each engine: the databases above are SQLite (WAL) files on `sqlite`, and fresh",
            "databases in one throwaway PostgreSQL cluster (`tests/support/postgres.py`) on `postgresql`;",
            "the baseline always uses the same engine as the service.",
            "",
        ]
        for result in group:
            if result.notes:
                lines += [f"### Notes from this run ({result.engine})", ""] + [f"- {n}" for n in result.notes] + [""]
            lines += profile_lines(result)
    lines += [
        "## Running them",
        "",
        "```",
        "make bench                                    # everything, full length; rewrites this file",
        ".venv/bin/python -m bench --quick             # a smoke run of everything (about two minutes)",
        ".venv/bin/python -m bench intake-http         # one benchmark (see --list)",
        ".venv/bin/python -m bench decisions-chain decisions-fanout   # the decisions benchmarks",
        ".venv/bin/python -m bench notifier-fanout notifier-latency   # the notifier benchmarks",
        ".venv/bin/python -m bench intake-kafka --profile            # py-spy profiles of the measured processes",
        ".venv/bin/python -m bench intake-kafka --env RELAY_BATCH_SIZE=2000   # try a setting",
        "```",
        "",
        "Each benchmark starts what it needs as real processes in a scratch directory (broker on a",
        "free port, fresh SQLite databases, tenant and keys, gunicorn, consumers, relays) and stops",
        "them all on success, failure or Ctrl-C. Only a full run of every benchmark on both engines, with",
        "1,000,000 contributions among the chain sizes and no `--env`, rewrites this file (`--docs` /",
        "`--no-docs` override). Every run writes",
        "`bench/results/latest.json` (and a dated copy) with the raw figures: per-slice load-generator",
        "output, latency percentiles, Kafka timelines, CPU seconds, every process's peak memory;",
        "`--profile` adds collapsed stacks under `bench/results/profiles/`. `bench/results/` is not",
        "committed.",
        "",
        "Ratios are service / bare. For throughput the goal is a floor (`>= 0.70`: at least 70% of",
        "the bare rate); for latency and time to finish it is a ceiling (`<= 3.00`: at most three",
        "times the bare figure). Rows marked `info` are shown for context and have no goal. A goal",
        "written `< 1 s (reported)` is a fixed limit for a figure with no baseline: its verdict says",
        "`met` or `missed` `(not asserted)`, and `--strict` ignores it. `peak RSS` rows set the largest",
        "process of each kind beside its bare counterpart in the same benchmark (`bench/memory.py`: a",
        "web worker beside the bare Flask worker, a consumer or relay beside the bare consume-produce",
        "loop or producer, the notifier's consumer + sender beside the bare smtplib client); goal `<= 1.50`.",
        "",
        "To add a benchmark, write `bench/<name>.py` defining",
        "`BENCHMARK = Benchmark(name, title, run)` whose `run(ctx)` uses `bench/stack.py` to start",
        "things and returns a `Result`, and list the module in `bench/cli.py`.",
        "",
    ]
    return "\n".join(lines)


def write_markdown(run: dict, results: list[Result], path: Path = DOCS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(run, results))
    return path
