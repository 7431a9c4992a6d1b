"""HTTP load generators: `wrk` (preferred: C, little CPU) or a Python fallback.

Both POST the same templated body with the same headers over the same number of
connections for a fixed time, and report the same figures (one `WRKJSON {...}` line):
completed requests, seconds, responses by status, socket errors and latency.

The fallback runs as `python -m bench.loadgen --url ... --template F --headers F
--connections C --duration S [--processes P]`: P processes, each with C/P threads
holding one keep-alive `http.client` connection apiece (reconnecting when the server
closes, as gunicorn's sync workers do after every response).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import PYTHON, ROOT, BenchmarkFailed, RunContext

LUA_SCRIPT = ROOT / "bench" / "wrk_post.lua"
MARKER = "WRKJSON "


@dataclass
class LoadResult:
    tool: str
    requests: int
    duration_s: float
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    latency_ms: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def count(self, status: int) -> int:
        return self.statuses.get(str(status), 0)

    @property
    def non_2xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if not s.startswith("2"))

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())

    def to_dict(self) -> dict:
        return {
            "tool": self.tool,
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "rps": round(self.rps, 1),
            "statuses": self.statuses,
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
            "latency_ms": self.latency_ms,
        }


def _parse(tool: str, output: str) -> LoadResult:
    for line in output.splitlines():
        if line.startswith(MARKER):
            raw = json.loads(line[len(MARKER) :])
            return LoadResult(
                tool=tool,
                requests=raw["requests"],
                duration_s=raw["duration_s"],
                statuses={str(k): v for k, v in raw["statuses"].items()},
                socket_errors=raw["socket_errors"],
                latency_ms=raw["latency_ms"],
            )
    raise BenchmarkFailed(f"{tool} printed no result line; its output ended:\n{output[-2000:]}")


class LoadGenerator:
    name = "?"

    def argv(self, url: str, template: Path, headers: Path, duration: float, connections: int) -> list[str]:
        raise NotImplementedError

    def run(
        self, ctx: RunContext, label: str, url: str, template: Path, headers: Path, duration: float, connections: int
    ) -> LoadResult:
        proc = ctx.processes.start(label, self.argv(url, template, headers, duration, connections))
        try:
            proc.popen.wait(duration + 60)
        except subprocess.TimeoutExpired:
            raise BenchmarkFailed(f"{self.name} did not finish within {duration + 60:.0f} s") from None
        finally:
            proc.stop()
        output = proc.log_path.read_text(errors="replace") if proc.log_path else ""
        if proc.popen.returncode != 0:
            raise BenchmarkFailed(f"{self.name} exited with {proc.popen.returncode}:\n{output[-2000:]}")
        return _parse(self.name, output)


class Wrk(LoadGenerator):
    def __init__(self, path: str):
        self.path = path
        try:
            banner = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=5).stdout
            self.name = banner.split("[")[0].strip() or "wrk"
        except (OSError, subprocess.SubprocessError):
            self.name = "wrk"

    def argv(self, url, template, headers, duration, connections):
        threads = 1 if connections < 16 else 2  # one epoll thread easily drives 8 connections
        return [
            self.path,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA_SCRIPT),
            url,
            "--",
            str(template),
            str(headers),
        ]


class PythonClient(LoadGenerator):
    def __init__(self, processes: int = 2):
        self.processes = processes
        self.name = f"python http.client ({processes} processes)"

    def argv(self, url, template, headers, duration, connections):
        return [
            PYTHON,
            "-m",
            "bench.loadgen",
            "--url",
            url,
            "--template",
            str(template),
            "--headers",
            str(headers),
            "--connections",
            str(connections),
            "--duration",
            str(duration),
            "--processes",
            str(min(self.processes, connections)),
        ]


def find_wrk(install: bool) -> str | None:
    """wrk on PATH; else, when allowed and we are root, `apt-get install -y wrk`."""
    found = shutil.which("wrk")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("  wrk not found: trying `apt-get install -y wrk`", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for attempt in (
        ["apt-get", "install", "-y", "-q", "wrk"],
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "wrk"],
    ):
        try:
            subprocess.run(attempt, capture_output=True, timeout=300, env=env, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        if attempt[1] == "install" and shutil.which("wrk"):
            break
    return shutil.which("wrk")


def choose(preference: str, install: bool = True) -> tuple[LoadGenerator, str]:
    """The generator to use and why."""
    if preference == "python":
        return PythonClient(), "chosen with --loadgen python"
    path = find_wrk(install)
    if path:
        return Wrk(path), f"found at {path}"
    if preference == "wrk":
        raise BenchmarkFailed("--loadgen wrk, but wrk is not installed and could not be installed")
    return PythonClient(), "wrk missing and not installable: fell back to the Python client"


# The Python fallback client ------------------------------------------------------------


def _read_headers(path: Path) -> dict[str, str]:
    headers = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    return headers


def _client_thread(url, template, headers, deadline, base, out) -> None:
    from bench.payloads import fill

    parts = urllib.parse.urlsplit(url)
    path = parts.path or "/"
    statuses: dict[str, int] = {}
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    latencies: list[float] = []
    connection = None
    number = base
    began = time.time()
    while time.monotonic() < deadline:
        if connection is None:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        number += 1
        body = fill(template, number).encode()
        started = time.perf_counter()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except TimeoutError:
            errors["timeout"] += 1
            connection.close()
            connection = None
            continue
        except (ConnectionError, http.client.HTTPException, OSError):
            errors["read"] += 1
            connection.close()
            connection = None
            time.sleep(0.01)
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1
        if response.will_close:
            connection.close()
            connection = None
    if connection is not None:
        connection.close()
    out.append((statuses, errors, latencies, began, time.time()))


def _client_process(url, template, headers, deadline_in, threads, base, queue) -> None:
    deadline = time.monotonic() + deadline_in
    out: list = []
    workers = [
        threading.Thread(target=_client_thread, args=(url, template, headers, deadline, base + i * 10_000_000, out))
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(deadline_in + 30)
    queue.put(out)


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def python_client(url: str, template: str, headers: dict, connections: int, duration: float, processes: int) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    per_process = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    workers = [
        context.Process(
            target=_client_process, args=(url, template, headers, duration, n, (i + 1) * 100_000_000, queue)
        )
        for i, n in enumerate(per_process)
        if n
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=duration + 60) for _ in workers]
    for worker in workers:
        worker.join(10)
    statuses: dict[str, int] = {}
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    latencies: list[float] = []
    began, ended = float("inf"), 0.0
    for thread_results in results:
        for s, e, lat, start, end in thread_results:
            began, ended = min(began, start), max(ended, end)
            for k, v in s.items():
                statuses[k] = statuses.get(k, 0) + v
            for k, v in e.items():
                errors[k] += v
            latencies.extend(lat)
    latencies.sort()
    return {
        "requests": sum(statuses.values()),
        "duration_s": max(ended - began, 1e-9),  # from the first thread's start, not process spawn
        "bytes": 0,
        "socket_errors": errors,
        "statuses": statuses,
        "latency_ms": {
            "mean": round(sum(latencies) / len(latencies), 3) if latencies else 0.0,
            "p50": round(_percentile(latencies, 50), 3),
            "p90": round(_percentile(latencies, 90), 3),
            "p99": round(_percentile(latencies, 99), 3),
            "max": round(latencies[-1], 3) if latencies else 0.0,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description="Python HTTP POST load generator.")
    parser.add_argument("--url", required=True)
    parser.add_argument("--template", required=True, type=Path)
    parser.add_argument("--headers", required=True, type=Path)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    result = python_client(
        args.url,
        args.template.read_text(),
        _read_headers(args.headers),
        args.connections,
        args.duration,
        max(1, args.processes),
    )
    print(MARKER + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
