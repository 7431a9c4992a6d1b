"""`python -m bench [all | BENCHMARK...] [--quick] [...]`: run, print, record.

A full run of every benchmark rewrites docs/benchmarks.md; every run writes
bench/results/latest.json. Exit status: 0 when every benchmark ran (with --strict:
and met its goal), 1 with --strict when a goal is missed, 2 when a benchmark could
not run, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import time
import traceback
from contextlib import ExitStack
from pathlib import Path

from bench import database, memory, report
from bench.harness import (
    ENGINES,
    POSTGRESQL,
    ROOT,
    Benchmark,
    BenchmarkFailed,
    Options,
    Result,
    git_revision,
    install_signal_handlers,
    machine,
    now_iso,
    run_context,
    versions,
)

# Add a benchmark: write bench/<name>.py defining BENCHMARK, then list it here.
BENCHMARK_MODULES = (
    "bench.intake_http",
    "bench.intake_kafka",
    "bench.decisions_chain",
    "bench.decisions_fanout",
    "bench.notifier_fanout",
    "bench.notifier_latency",
    "bench.pipeline",
)


def _python_shown() -> str:
    """How to name this interpreter in a command someone can paste from the repository root."""
    try:
        return str(Path(sys.executable).relative_to(ROOT))
    except ValueError:
        return "python"


def benchmarks() -> dict[str, Benchmark]:
    found = {}
    for module_name in BENCHMARK_MODULES:
        benchmark = importlib.import_module(module_name).BENCHMARK
        found[benchmark.name] = benchmark
    return found


def parser(names: list[str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Outcome Chain benchmarks: each service figure beside a bare baseline measured in the same run.",
    )
    p.add_argument("which", nargs="*", default=["all"], metavar="BENCHMARK", help=f"all (default), {', '.join(names)}")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a short smoke run (3 s of load, 2,000 events, 5,000 contributions, a 1,000-link decision, "
        "1,000 notifier messages, 10 paced decisions)",
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="tinier than --quick: does every benchmark still run? (the test suite's check; no verdicts)",
    )
    p.add_argument(
        "--duration", type=float, help="measured seconds of HTTP load per endpoint, all rounds (30; quick 3)"
    )
    p.add_argument("--warmup", type=float, help="seconds of unmeasured HTTP load per endpoint first (3; quick 1)")
    p.add_argument("--rounds", type=int, help="HTTP slices per endpoint, order alternating (6; quick 1)")
    p.add_argument(
        "--connections", type=int, help="HTTP connections (intake-http 8; decisions-chain 16 concurrent clients)"
    )
    p.add_argument("--events", type=int, help="events per Kafka run (20000; quick 2000)")
    p.add_argument(
        "--loadgen", choices=["auto", "wrk", "python"], help="HTTP load generator (auto: wrk if installable)"
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every process started (e.g. RELAY_BATCH_SIZE=2000); repeatable; recorded in the results",
    )
    p.add_argument(
        "--engine",
        action="append",
        choices=list(ENGINES),
        help="the database engine(s) to run every benchmark on, baselines on the same engine (default: both)",
    )
    p.add_argument(
        "--chain-sizes",
        help="contributions loaded for decisions-chain, comma-separated, measured in turn (100000,1000000; quick 5000)",
    )
    p.add_argument(
        "--postgresql-chain-sizes",
        help="the same for the PostgreSQL run, when it should differ (default: --chain-sizes)",
    )
    p.add_argument("--profile", action="store_true", help="sample the measured processes with py-spy")
    p.add_argument("--docs", dest="docs", action="store_true", default=None, help="rewrite docs/benchmarks.md")
    p.add_argument("--no-docs", dest="docs", action="store_false", help="leave docs/benchmarks.md alone")
    p.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    p.add_argument("--results-dir", type=Path, help="where to write latest.json (default bench/results)")
    p.add_argument("--keep-tmp", action="store_true", help="keep the scratch directories (databases, logs)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return p


def _sizes(text: str | None) -> tuple[int, ...] | None:
    """'100000,1_000_000' as (100000, 1000000); None for none."""
    return tuple(int(size.replace("_", "")) for size in text.split(",") if size.strip()) if text else None


def _run_one(benchmark: Benchmark, options: Options, engine: str, postgres, failures: dict) -> Result | None:
    """One benchmark on one engine; a failure is noted in `failures` and the run goes on."""
    label = f"{benchmark.name} ({engine})"
    print(f"\n== {label}: {benchmark.title}", flush=True)
    t0 = time.monotonic()
    try:
        with run_context(options, benchmark.name, engine, postgres) as ctx:
            result = benchmark.run(ctx)
    except BenchmarkFailed as failure:
        failures[label] = str(failure)
        print(f"  FAILED: {failure}", file=sys.stderr, flush=True)
        return None
    except Exception as error:  # report, and go on with the next benchmark
        failures[label] = f"{type(error).__name__}: {error}"
        traceback.print_exc()
        return None
    result.engine = engine
    result.elapsed_s = time.monotonic() - t0
    result.comparisons += memory.comparisons(result)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    available = benchmarks()
    args = parser(list(available)).parse_args(argv)
    if args.list:
        for name, benchmark in available.items():
            print(f"{name:<16} {benchmark.title}")
        return 0
    unknown = [w for w in args.which if w != "all" and w not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from all, {', '.join(available)}", file=sys.stderr)
        return 2
    selected = list(available) if "all" in args.which else list(dict.fromkeys(args.which))
    service_env = {}
    for pair in args.env:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            print(f"--env wants NAME=VALUE, got {pair!r}", file=sys.stderr)
            return 2
        service_env[name] = value
    options = Options.for_mode(
        args.quick or args.smoke,
        args.smoke,
        duration=args.duration,
        warmup=args.warmup,
        rounds=args.rounds,
        connections=args.connections,
        events=args.events,
        loadgen=args.loadgen,
        profile=args.profile or None,
        keep_tmp=args.keep_tmp or None,
        service_env=service_env or None,
        engines=tuple(dict.fromkeys(args.engine)) if args.engine else None,
        chain_sizes=_sizes(args.chain_sizes),
        postgresql_chain_sizes=_sizes(args.postgresql_chain_sizes),
    )
    # A quick or partial run must not replace the full figures in the docs.
    write_docs = (
        args.docs
        if args.docs is not None
        else (
            not args.quick
            and selected == list(available)
            and not service_env
            and set(options.engines) == set(ENGINES)
            and 1_000_000 in options.chain_sizes
        )
    )

    install_signal_handlers()
    started = time.monotonic()
    run = {
        "date": now_iso(),
        "quick": options.quick,
        "command": shlex.join([_python_shown(), "-m", "bench", *argv]),
        "options": vars(options),
        "machine": machine(),
        "versions": versions(),
        "git": git_revision(),
    }
    results: list[Result] = []
    failures: dict[str, str] = {}
    try:
        with ExitStack() as cleanup:
            postgres = None
            if POSTGRESQL in options.engines:
                print("starting a throwaway PostgreSQL cluster for the run", flush=True)
                postgres = cleanup.enter_context(database.postgres_cluster())
            for engine in options.engines:
                for name in selected:
                    result = _run_one(available[name], options, engine, postgres, failures)
                    if result is not None:
                        results.append(result)
    except KeyboardInterrupt:
        print("\ninterrupted: every process this run started has been stopped", file=sys.stderr)
        return 130

    run["elapsed_s"] = time.monotonic() - started
    run["loadavg_at_end"] = machine()["loadavg_at_start"]
    run["loadgen"] = next((r.details.get("loadgen") for r in results if r.details.get("loadgen")), None)
    run["failures"] = failures
    if results:
        print(report.text_report(run, results), flush=True)
    latest = report.write_json(run, results, *([args.results_dir] if args.results_dir else []))
    print(f"\nresults: {latest}")
    if write_docs and results and not failures:
        print(f"docs:    {report.write_markdown(run, results)}")
    elif write_docs:
        print("docs/benchmarks.md left alone: a benchmark failed", file=sys.stderr)
    if failures:
        for name, why in failures.items():
            print(f"FAILED {name}: {why.splitlines()[0] if why else ''}", file=sys.stderr)
        return 2
    missed = [f"{r.label}: {c.measure}" for r in results for c in r.comparisons if not c.met]
    if missed:
        print("goal missed: " + "; ".join(missed), file=sys.stderr)
    return 1 if missed and args.strict else 0
