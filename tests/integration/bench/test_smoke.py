"""Every benchmark still runs: `python -m bench NAME --smoke` (tiny sizes, real processes, no
verdicts read) must finish and record a result row, so `make bench` can never silently stop
working again. Figures are not checked: a smoke run on a shared machine measures nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.cli import benchmarks
from bench.harness import POSTGRESQL, ROOT, SQLITE

# Every benchmark on SQLite; on PostgreSQL the one with engine-specific code of its own
# (the bare chain endpoint's psycopg2 queries, the loader's ANALYZE) and the whole pipeline.
RUNS = [(name, SQLITE) for name in benchmarks()] + [("decisions-chain", POSTGRESQL), ("pipeline", POSTGRESQL)]


@pytest.mark.parametrize(("name", "engine"), RUNS, ids=[f"{n}-{e}" for n, e in RUNS])
def test_benchmark_runs_and_records_its_figures(tmp_path, name, engine):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            name,
            "--smoke",
            "--engine",
            engine,
            "--no-docs",
            "--results-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]

    recorded = json.loads((tmp_path / "latest.json").read_text())
    assert recorded["failures"] == {}
    [result] = recorded["results"]
    assert (result["name"], result["engine"]) == (name, engine)
    assert result["comparisons"], "a benchmark must record at least one figure"
    assert all(isinstance(c["subject"], int | float) for c in result["comparisons"])
    assert result["memory"], "every benchmark reports its processes' peak memory"
