"""Gunicorn settings shared by the three web processes, installed with the package:

    SERVICE=intake gunicorn -c python:shared.gunicorn_conf services.intake.entrypoints.wsgi:app

(`-c deploy/gunicorn.conf.py`, which imports this module, does the same from a checkout.)
SERVICE picks the port setting (INTAKE_PORT, DECISIONS_PORT, NOTIFIER_PORT); the
defaults are the contract's. Kept free of project imports so the master stays small.
"""
import os

_DEFAULT_PORTS = {"intake": 8001, "decisions": 8002, "notifier": 8003}

_service = os.environ.get("SERVICE", "")
if _service not in _DEFAULT_PORTS:
    raise RuntimeError(f"SERVICE must be one of {', '.join(_DEFAULT_PORTS)}; got {_service!r}")

_host = os.environ.get("BIND_HOST") or "127.0.0.1"
_port = int(os.environ.get(f"{_service.upper()}_PORT") or _DEFAULT_PORTS[_service])
bind = f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"  # IPv6 needs brackets

workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "sync"
timeout = 30
graceful_timeout = 20  # below Kubernetes' default 30 s grace period
# gunicorn >= 25 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl),
# which the three services on one machine would fight over; nothing here uses gunicornc.
control_socket_disable = True

loglevel = os.environ.get("LOG_LEVEL", "info").lower()
accesslog = "-"
# Method, path WITHOUT the query string, status, seconds. The default format logs the
# request line (%(r)s) and referer, whose query strings can carry personal data.
access_log_format = "%(m)s %(U)s %(s)s %(L)s"

# Prometheus multi-process mode: each worker writes its metrics to files in this
# directory and /metrics adds them up, so a scrape sees the whole process, not one worker.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir:
    os.makedirs(_metrics_dir, exist_ok=True)

    def on_starting(server):
        # Files left by a previous master (e.g. a restarted container keeping its
        # volume) would be added to this one's counters.
        for name in os.listdir(_metrics_dir):
            if name.endswith(".db"):
                os.remove(os.path.join(_metrics_dir, name))

    def child_exit(server, worker):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
