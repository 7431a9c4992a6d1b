"""`make chaos`: the soak (bench/soak.py) with faults injected while the load runs.

In turn: the SMTP server stops for a minute; every service process but the notifier's web
is SIGKILLed with its whole process group and started again; the broker is paused
(SIGSTOP) for longer than any client timeout (producer requests 10 s, consumer sessions
6 s, delivery 30 s) and resumed; PostgreSQL is restarted (`pg_ctl restart`). Then the
same reconciliation must hold, with repeated messages to the outside world within the
bound the design promises (`reconcile.duplicate_bound`: one per killed sender process; the
PostgreSQL restart is far shorter than half a sender's lease, during which it keeps trying to
record a send, so it adds none).

CHAOS_SECONDS (default 185) is the length of the load; the faults are spread over it.
"""

from __future__ import annotations

import os
import signal
import time

from bench import reconcile
from bench.soak import SENDER_PROCESSES, Fault, Soak, env_float
from tests.support.postgres import PostgresCluster
from tests.support.stack import Stack

KILLED_IN_TURN = (
    "intake-web",
    "intake-consumer",
    "intake-relay",
    "decisions-web",
    "decisions-consumer",
    "decisions-relay",
    "notifier-consumer",
    "notifier-sender",
    "notifier-relay",
)
SMTP_DOWN_S = 60
BROKER_PAUSED_S = 35  # beyond the 30 s delivery timeout, so every client gives up at least once
LONG_DATABASE_OUTAGES = 0  # the restart takes about a second; senders retry for half their lease (30 s)


def kill_and_restart(stack: Stack, name: str) -> str:
    processes = stack.ctx.processes
    proc = next(p for p in processes.started if p.name == name)
    old = proc.pid
    os.killpg(old, signal.SIGKILL)
    proc.popen.wait(10)
    time.sleep(1)  # as a supervisor would, after noticing
    return f"SIGKILL {name} (pid {old}, whole process group); restarted as pid {processes.restart(proc).pid}"


def broker_signal(stack: Stack, signum: signal.Signals) -> str:
    broker = next(p for p in stack.ctx.processes.started if p.name == "broker")
    os.kill(broker.pid, signum)
    return f"{signum.name} broker (pid {broker.pid})"


def smtp_stop(stack: Stack) -> str:
    stack.smtp.stop()
    return f"SMTP server stopped (port {stack.smtp.port}) for {SMTP_DOWN_S} s"


def smtp_start(stack: Stack) -> str:
    stack.smtp.start()
    return f"SMTP server started again on port {stack.smtp.port}"


def postgres_restart(postgres: PostgresCluster) -> str:
    started = time.monotonic()
    postgres.restart()
    return f"PostgreSQL restarted (pg_ctl restart -m fast) in {time.monotonic() - started:.1f} s"


def schedule(stack: Stack, postgres: PostgresCluster) -> list[Fault]:
    """SMTP away first (its retries, up to 80 s apart by then, finish during the rest), then
    a kill every 6 s, the broker paused, and PostgreSQL restarted."""
    faults = [
        Fault(5, lambda: smtp_stop(stack)),
        Fault(5 + SMTP_DOWN_S, lambda: smtp_start(stack)),
    ]
    faults += [
        Fault(68 + 6 * i, lambda name=name: kill_and_restart(stack, name)) for i, name in enumerate(KILLED_IN_TURN)
    ]
    paused_at = 68 + 6 * len(KILLED_IN_TURN) + 4
    faults += [
        Fault(paused_at, lambda: broker_signal(stack, signal.SIGSTOP) + f" for {BROKER_PAUSED_S} s"),
        Fault(paused_at + BROKER_PAUSED_S, lambda: broker_signal(stack, signal.SIGCONT)),
        Fault(paused_at + BROKER_PAUSED_S + 10, lambda: postgres_restart(postgres)),
    ]
    return faults


def duplicate_bound() -> int:
    sender_kills = sum(name in SENDER_PROCESSES for name in KILLED_IN_TURN)
    return reconcile.duplicate_bound(sender_kills, len(SENDER_PROCESSES), LONG_DATABASE_OUTAGES)


def main() -> int:
    seconds = env_float("CHAOS_SECONDS", 185)
    soak = Soak("make chaos", seconds, drain_timeout=env_float("SOAK_DRAIN_TIMEOUT", 240))
    print(f"duplicate bound: {duplicate_bound()} (see README, 'Operating it')", flush=True)
    return soak.run(schedule, duplicate_bound)


if __name__ == "__main__":
    raise SystemExit(main())
