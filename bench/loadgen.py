"""HTTP load generators, `wrk` (preferred: C, little CPU) or a Python fallback, and the
alternating slices every HTTP benchmark measures with.

Two kinds of load, each on either tool, reporting the same figures (one `WRKJSON {...}`
line: completed requests, seconds, responses by status, socket errors, latency):

- POST a templated body (`run`): every request its own body (bench/wrk_post.lua).
- GET paths from a list (`run_paths`): each connection walks the list from its own
  offset, and every request's latency is recorded, in microseconds one per line, to a
  file (bench/wrk_get_paths.lua runs one connection per wrk thread so it can time each
  request itself; wrk's own histogram is not kept per slice, so slices could not be pooled).

The fallback runs as `python -m bench.loadgen --url ... (--template F | --paths F)
--headers F --connections C --duration S [--processes P] [--latencies F]`: P processes,
each with C/P threads holding one keep-alive `http.client` connection apiece
(reconnecting when the server closes, as gunicorn's sync workers do after every response).
"""

from __future__ import annotations

import abc
import argparse
import http.client
import json
import math
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import profiling
from bench.harness import PYTHON, ROOT, BenchmarkFailed, CpuMeter, Proc, RunContext, child_pids

LUA_SCRIPT = ROOT / "bench" / "wrk_post.lua"
LUA_PATHS_SCRIPT = ROOT / "bench" / "wrk_get_paths.lua"
MARKER = "WRKJSON "


@dataclass
class LoadResult:
    tool: str
    requests: int
    duration_s: float
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    latency_ms: dict[str, float] = field(default_factory=dict)
    latencies: list[float] | None = None  # ms, every request's (GET-paths runs only); not in to_dict

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def count(self, status: int) -> int:
        return self.statuses.get(str(status), 0)

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("2"))

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


class LoadGenerator(abc.ABC):
    """wrk or the Python client: the command lines they run, and how their results are read."""

    name = "?"

    @abc.abstractmethod
    def argv(self, url: str, template: Path, headers: Path, duration: float, connections: int) -> list[str]: ...

    @abc.abstractmethod
    def paths_argv(
        self, base_url: str, paths: Path, headers: Path, duration: float, connections: int, latencies: Path
    ) -> list[str]: ...

    def _execute(self, ctx: RunContext, label: str, argv: list[str], duration: float) -> LoadResult:
        log_path = ctx.logs / f"{label}.log"
        earlier = log_path.stat().st_size if log_path.exists() else 0  # the same label run before (another size)
        proc = ctx.processes.start(label, argv)
        try:
            proc.popen.wait(duration + 60)
        except subprocess.TimeoutExpired:
            raise BenchmarkFailed(f"{self.name} did not finish within {duration + 60:.0f} s") from None
        finally:
            proc.stop()
        output = proc.log_path.read_bytes()[earlier:].decode(errors="replace") if proc.log_path else ""
        if proc.popen.returncode != 0:
            raise BenchmarkFailed(f"{self.name} exited with {proc.popen.returncode}:\n{output[-2000:]}")
        return _parse(self.name, output)

    def run(
        self, ctx: RunContext, label: str, url: str, template: Path, headers: Path, duration: float, connections: int
    ) -> LoadResult:
        """POST the template to `url` for `duration` seconds over `connections` connections."""
        return self._execute(ctx, label, self.argv(url, template, headers, duration, connections), duration)

    def run_paths(
        self, ctx: RunContext, label: str, base_url: str, paths: Path, headers: Path, duration: float, connections: int
    ) -> LoadResult:
        """GET `base_url` + each line of `paths` in turn; the result carries every latency."""
        latencies_file = ctx.tmp / f"{label}.latencies"
        latencies_file.unlink(missing_ok=True)  # the same label run before (another size)
        result = self._execute(
            ctx, label, self.paths_argv(base_url, paths, headers, duration, connections, latencies_file), duration
        )
        result.latencies = read_latencies(latencies_file)
        result.latency_ms = latency_summary(sorted(result.latencies))
        return result


def read_latencies(path: Path) -> list[float]:
    """Microseconds, one per line, as milliseconds."""
    if not path.exists():
        raise BenchmarkFailed(f"the load generator wrote no latencies to {path}")
    return [float(line) / 1000 for line in path.read_text().split()]


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def latency_summary(sorted_ms: list[float]) -> dict[str, float]:
    if not sorted_ms:
        return {"count": 0}
    return {
        "count": len(sorted_ms),
        "mean": round(sum(sorted_ms) / len(sorted_ms), 3),
        "p50": round(percentile(sorted_ms, 50), 3),
        "p90": round(percentile(sorted_ms, 90), 3),
        "p99": round(percentile(sorted_ms, 99), 3),
        "p99.9": round(percentile(sorted_ms, 99.9), 3),
        "max": round(sorted_ms[-1], 3),
    }


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

    def paths_argv(self, base_url, paths, headers, duration, connections, latencies):
        # One connection per thread: the script times each request between request() and response().
        return [
            self.path,
            f"-t{connections}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA_PATHS_SCRIPT),
            base_url,
            "--",
            str(paths),
            str(headers),
            str(latencies),
            str(connections),
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

    def paths_argv(self, base_url, paths, headers, duration, connections, latencies):
        return [
            PYTHON,
            "-m",
            "bench.loadgen",
            "--url",
            base_url,
            "--paths",
            str(paths),
            "--headers",
            str(headers),
            "--latencies",
            str(latencies),
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


def _requests(url: str, template: str | None, paths: list[str] | None, base: int, offset: int):
    """(method, path, body) for each request of one connection: the template filled with
    its own number (POST), or the paths from `offset` on, wrapping (GET)."""
    from bench.payloads import fill

    prefix = urllib.parse.urlsplit(url).path.rstrip("/")
    number = base
    position = offset
    while True:
        if paths is not None:
            position = position % len(paths)
            yield "GET", prefix + paths[position], None
            position += 1
        else:
            number += 1
            yield "POST", prefix or "/", fill(template, number).encode()


def _client_thread(url, template, paths, headers, deadline, base, offset, out) -> None:
    parts = urllib.parse.urlsplit(url)
    statuses: dict[str, int] = {}
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    latencies: list[float] = []
    connection = None
    began = time.time()
    for method, path, body in _requests(url, template, paths, base, offset):
        if time.monotonic() >= deadline:
            break
        if connection is None:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
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


def _client_process(url, template, paths, headers, deadline_in, threads, first, total, base, queue) -> None:
    deadline = time.monotonic() + deadline_in
    out: list = []
    workers = []
    for i in range(threads):
        connection_no = first + i  # this connection's place among all of them: its offset in the paths
        offset = (connection_no * len(paths) // total) if paths else 0
        workers.append(
            threading.Thread(
                target=_client_thread,
                args=(url, template, paths, headers, deadline, base + i * 10_000_000, offset, out),
            )
        )
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(deadline_in + 30)
    queue.put(out)


def python_client(
    url: str,
    template: str | None,
    headers: dict,
    connections: int,
    duration: float,
    processes: int,
    paths: list[str] | None = None,
) -> tuple[dict, list[float]]:
    """The WRKJSON figures, and every latency (ms) in the order the threads returned them."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    per_process = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    firsts = [sum(per_process[:i]) for i in range(processes)]
    workers = [
        context.Process(
            target=_client_process,
            args=(url, template, paths, headers, duration, n, firsts[i], connections, (i + 1) * 100_000_000, queue),
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
    summary = latency_summary(sorted(latencies))
    summary.pop("count", None)
    return {
        "requests": sum(statuses.values()),
        "duration_s": max(ended - began, 1e-9),  # from the first thread's start, not process spawn
        "bytes": 0,
        "socket_errors": errors,
        "statuses": statuses,
        "latency_ms": summary,
    }, latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description="Python HTTP load generator.")
    parser.add_argument("--url", required=True, help="the URL to POST to, or the base URL of --paths")
    body = parser.add_mutually_exclusive_group(required=True)
    body.add_argument("--template", type=Path, help="POST this body, @@N@@ filled per request")
    body.add_argument("--paths", type=Path, help="GET each of these paths (one a line) in turn")
    parser.add_argument("--headers", required=True, type=Path)
    parser.add_argument("--latencies", type=Path, help="write every latency here (microseconds, one a line)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    paths = [line for line in args.paths.read_text().splitlines() if line] if args.paths else None
    result, latencies = python_client(
        args.url,
        args.template.read_text() if args.template else None,
        _read_headers(args.headers),
        args.connections,
        args.duration,
        max(1, args.processes),
        paths,
    )
    if args.latencies:
        args.latencies.write_text("".join(f"{ms * 1000:.1f}\n" for ms in latencies))
    result["latencies_written"] = len(latencies) if args.latencies else 0
    print(MARKER + json.dumps(result), flush=True)
    return 0


# Alternating measured slices -----------------------------------------------------------


@dataclass
class Rounds:
    """What `alternate` measured: per endpoint, each slice's load result and CPU use."""

    names: tuple[str, ...]
    slice_s: float
    measured: dict[str, list[LoadResult]]
    cpu: dict[str, list[dict]]
    profiles: dict

    def rate(self, name: str) -> float:
        runs = self.measured[name]
        seconds = sum(r.duration_s for r in runs)
        return sum(r.requests for r in runs) / seconds if seconds else 0.0

    def requests(self, name: str) -> int:
        return sum(r.requests for r in self.measured[name])

    def non_2xx(self, name: str) -> dict[str, int]:
        codes: dict[str, int] = {}
        for r in self.measured[name]:
            for code, n in r.statuses.items():
                if not code.startswith("2"):
                    codes[code] = codes.get(code, 0) + n
        return codes

    def socket_errors(self, name: str) -> int:
        return sum(r.errors for r in self.measured[name])

    def latencies(self, name: str) -> list[float]:
        """Every measured request's latency (ms), all slices pooled, sorted."""
        return sorted(ms for r in self.measured[name] for ms in (r.latencies or ()))

    def cpu_ms_per_request(self, name: str) -> float | None:
        seconds = [sum(v for v in u["process_cpu_s"].values() if v is not None) for u in self.cpu[name]]
        requests = self.requests(name)
        return round(1000 * sum(seconds) / requests, 3) if requests else None

    def per_round(self, subject: str, baseline: str, figure: Callable[[LoadResult], float]) -> list[float]:
        """figure(subject slice) / figure(baseline slice), round by round."""
        return [
            round(figure(s) / figure(b), 3)
            for s, b in zip(self.measured[subject], self.measured[baseline], strict=True)
            if figure(b)
        ]

    def client_cpu_ms_per_request(self, name: str) -> float | None:
        """The load generator's CPU per request (it runs on the same two cores)."""
        seconds = sum(u.get("client_cpu_s") or 0 for u in self.cpu[name])
        requests = self.requests(name)
        return round(1000 * seconds / requests, 3) if requests else None

    def busy(self, name: str) -> list:
        return [u.get("busy_pct") for u in self.cpu[name]]

    def max_steal(self) -> float:
        return max((u.get("steal_pct", 0) or 0 for name in self.names for u in self.cpu[name]), default=0.0)

    def to_dict(self) -> dict:
        return {name: [r.to_dict() for r in self.measured[name]] for name in self.names}


def _reaped_children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def alternate(
    ctx: RunContext,
    procs: dict[str, Proc],
    load: Callable[[str, str, float], LoadResult],
    *,
    first: tuple[str, ...],
) -> Rounds:
    """Warm each endpoint up, then measure `ctx.options.rounds` slices each, one endpoint at a
    time in the order `first`, reversed, `first`, ... (ABBA) so both meet the same noise.

    `procs` are the gunicorn masters by endpoint name; `load(label, name, seconds)` runs the
    load generator. CPU seconds of each master and its workers are metered per slice; with
    --profile the workers are sampled in the first round.
    """
    opts = ctx.options
    for name in first:
        ctx.log(f"{name}: warm-up {opts.warmup:.0f} s")
        load(f"load-warmup-{name}", name, opts.warmup)
    slice_s = max(1, round(opts.duration / opts.rounds))
    measured: dict[str, list[LoadResult]] = {name: [] for name in first}
    cpu: dict[str, list[dict]] = {name: [] for name in first}
    profiles: dict = {}
    width = max(len(name) for name in first)
    for round_no in range(opts.rounds):
        order = first if round_no % 2 == 0 else tuple(reversed(first))
        for name in order:
            proc = procs[name]
            workers = {f"worker{i}": pid for i, pid in enumerate(child_pids(proc.pid), 1)}
            label = f"http-{name}"
            meter = CpuMeter({"master": proc.pid, **workers})
            reaped = _reaped_children_cpu()
            with profiling.sampling(ctx, label, workers if round_no == 0 else {}, slice_s + 5) as summary:
                result = load(f"load-{name}-{round_no}", name, slice_s)
            usage = meter.stop()
            # The load generator has exited and been waited for: its CPU is in RUSAGE_CHILDREN
            # (with py-spy's, under --profile).
            usage["client_cpu_s"] = round(_reaped_children_cpu() - reaped, 3)
            if summary:
                profiles[label] = summary
            measured[name].append(result)
            cpu[name].append(usage)
            latency = result.latency_ms
            ctx.log(
                f"round {round_no + 1}/{opts.rounds} {name:>{width}}: {result.rps:8,.1f} req/s, "
                f"{result.ok} x 2xx, {result.non_2xx} non-2xx, {result.errors} socket errors, "
                f"p50 {latency.get('p50', 0):.1f} ms, p99 {latency.get('p99', 0):.1f} ms, "
                f"machine CPU busy {usage.get('busy_pct', '?')}%"
            )
            ctx.processes.check(*procs.values())
    return Rounds(tuple(first), slice_s, measured, cpu, profiles)


if __name__ == "__main__":
    sys.exit(main())
