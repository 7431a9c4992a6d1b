"""Optional sampling of the measured processes with py-spy (`python -m bench --profile`).

py-spy attaches from outside (ptrace), so the processes run unchanged. It samples
idle time too (`--idle`), so waiting for a lock or the broker shows. Sampling costs
CPU on a small machine, so figures from a profiled run are for finding hot spots, not
for the record. Profiles land in bench/results/profiles/ as collapsed stacks (feed them
to flamegraph.pl or speedscope) with a short summary in the results JSON.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from bench.harness import PYTHON, RESULTS_DIR, RunContext

PROFILE_DIR = RESULTS_DIR / "profiles"
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")
PROJECT_PARTS = ("/shared/", "/services/", "/ops/", "/bench/")


def py_spy() -> str | None:
    beside = Path(PYTHON).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match["file"]
    for marker in ("site-packages/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    else:
        file = file.split("/main/", 1)[-1]
    return f"{match['func']} ({file})"


def summarise(collapsed: Path, main_tid: int | None = None, top: int = 15, thread_name: str | None = None) -> dict:
    """Where the main thread spent its wall-clock time (idle included, so waits for a
    lock or the broker show): top functions by share of samples, inclusive (anywhere
    on the stack) and self (leaf). Background threads (kafka-python's I/O) are left out.
    With `thread_name`, the thread of that name instead (py-spy writes the first frame as
    `thread (TID): NAME`), e.g. the notifier's sender thread `send_due`."""
    inclusive: Counter = Counter()
    leaf: Counter = Counter()
    total = 0
    if not collapsed.exists():
        return {"samples": 0}
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        raw_frames = [f for f in stack.split(";") if f]
        if raw_frames and raw_frames[0].startswith("thread ("):
            thread = raw_frames.pop(0)
            tid = thread[len("thread (") :].split(")", 1)[0]
            if thread_name is not None:
                if thread.partition(": ")[2] != thread_name:
                    continue
            elif main_tid is not None and tid != str(main_tid):
                continue
        n = int(count)
        total += n
        frames = [_frame_name(f) for f in raw_frames]
        for name in set(frames):
            inclusive[name] += n
        if frames:
            leaf[frames[-1]] += n
    if not total:
        return {"samples": 0}

    def share(counter: Counter, keep=lambda _name: True) -> list[list]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common() if keep(name)][:top]

    return {
        "samples": total,
        "self_pct": share(leaf),
        "inclusive_pct_project": share(inclusive, lambda name: any(p.strip("/") in name for p in PROJECT_PARTS)),
        "file": str(collapsed),
    }


@contextmanager
def sampling(
    ctx: RunContext,
    label: str,
    pids: dict[str, int],
    max_seconds: float,
    threads: dict[str, tuple[str, ...]] | None = None,
):
    """Sample each pid while the block runs; yields a dict filled with summaries after:
    one per pid for its main thread, and one per thread named in `threads[pid name]`."""
    summaries: dict[str, dict] = {}
    tool = py_spy() if ctx.options.profile else None
    if not tool:
        if ctx.options.profile:
            ctx.log("--profile: py-spy not found (`.venv/bin/pip install py-spy`); not sampling")
        yield summaries
        return
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    running = []
    for name, pid in pids.items():  # the main thread's id is the pid
        out = PROFILE_DIR / f"{label}-{name}.collapsed"
        proc = ctx.processes.start(
            f"py-spy-{label}-{name}",
            [
                tool,
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "100",
                "--nonblocking",
                "--idle",
                "--threads",
                "--duration",
                str(int(max_seconds) + 1),
                "--output",
                str(out),
            ],
        )
        running.append((name, pid, proc, out))
    try:
        yield summaries
    finally:
        for name, pid, proc, out in running:
            if proc.alive():
                os.kill(proc.pid, signal.SIGINT)  # py-spy writes what it has on SIGINT
            try:
                proc.popen.wait(30)
            except subprocess.TimeoutExpired:
                pass
            proc.stop()
            summaries[name] = summarise(out, main_tid=pid)
            for thread in (threads or {}).get(name, ()):
                summaries[f"{name} thread {thread}"] = summarise(out, thread_name=thread)
