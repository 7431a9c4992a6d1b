"""Benchmarks for Outcome Chain: `python -m bench --help` (or `make bench`).

Each benchmark is a module here defining `BENCHMARK` (see bench/harness.py) and listed in
bench/cli.py's BENCHMARK_MODULES; harness.py, stack.py, loadgen.py, kafka_tools.py and
report.py hold everything they share.
"""
