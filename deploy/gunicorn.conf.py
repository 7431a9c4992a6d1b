"""Gunicorn settings shared by the three web processes.

    SERVICE=intake gunicorn -c deploy/gunicorn.conf.py services.intake.entrypoints.wsgi:app

SERVICE picks the port setting (INTAKE_PORT, DECISIONS_PORT, NOTIFIER_PORT); the
defaults are the contract's. Kept free of project imports so the master stays small (the
logger class, shared/access_log.py, imports only gunicorn and two plain modules).
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
# Method, route, status, seconds. The default format logs the request line (%(r)s) and
# referer, whose query strings can carry personal data; and a path can carry it too, so
# shared/access_log.py's logger puts the route the request matched in %(U)s
# (/v1/contributions/<contribution_id>), never the path, and masks the error log.
access_log_format = "%(m)s %(U)s %(s)s %(L)s"
logger_class = "shared.access_log.AccessLogger"

# Size limits: the app answers a request target over 4,096 bytes with 414 and a header
# field over 8,190 bytes with 431, as problem+json (shared/web.py). Gunicorn lets that much
# through and answers beyond it itself (a short HTML page): a request line over 8,190 bytes
# (its maximum) 414, a header field over 16,384 bytes or more than 100 of them 431.
limit_request_line = 8190
limit_request_field_size = 16384
limit_request_fields = 100

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
