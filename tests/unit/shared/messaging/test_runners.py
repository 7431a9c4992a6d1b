import threading

from shared.messaging.runners import run_every


def test_a_scheduled_task_runs_again_at_once_while_it_finds_work_and_survives_a_failure(caplog):
    stop = threading.Event()
    results = iter([3, 1, RuntimeError("database gone"), 2])
    calls = []

    def task():
        calls.append(1)
        result = next(results, None)
        if result is None:
            stop.set()
            return 0
        if isinstance(result, Exception):
            raise result
        return result

    run_every(0.001, task, stop)

    assert len(calls) == 5  # all four, then the one that found nothing and stopped
    assert "scheduled task failed" in caplog.text


def test_an_idle_task_waits_its_interval_between_runs():
    stop = threading.Event()
    calls = []

    def task():
        calls.append(1)
        if len(calls) == 2:
            stop.set()
        return 0

    waiter = threading.Thread(target=run_every, args=(0.01, task, stop))
    waiter.start()
    waiter.join(timeout=30)

    assert not waiter.is_alive() and len(calls) == 2
