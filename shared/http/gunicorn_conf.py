"""Gunicorn settings shared by the three web processes, installed with the package:

    SERVICE=intake gunicorn -c python:shared.http.gunicorn_conf <the service's entrypoints.wsgi>:app

(`-c deploy/gunicorn.conf.py`, which imports this module, does the same from a checkout.)

SERVICE picks the port setting (INTAKE_PORT, DECISIONS_PORT, NOTIFIER_PORT); the
defaults are the contract's. The master reads the settings (shared/infra/settings.py, which
imports no framework) and refuses, in one line, settings that will not do, before any
worker starts.
"""

import os
import sys

from shared.infra.settings import EXIT_BAD_SETTINGS, SERVICES, SettingsError, check_to_serve

try:
    _settings = check_to_serve()
    if _settings.service is None:
        raise SettingsError([f"SERVICE is not set: it must be one of {', '.join(SERVICES)}"])
except SettingsError as _error:
    print(f"gunicorn cannot start: {_error}", file=sys.stderr, flush=True)
    sys.exit(EXIT_BAD_SETTINGS)

_host = _settings.bind_host
_port = _settings.port(_settings.service)
bind = f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"  # IPv6 needs brackets

workers = _settings.web_concurrency
worker_class = "sync"
timeout = 30
graceful_timeout = 20  # below Kubernetes' default 30 s grace period
# gunicorn >= 25 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl),
# which the three services on one machine would fight over; nothing here uses gunicornc.
control_socket_disable = True

loglevel = _settings.log_level.lower()
accesslog = "-"
# Method, route, status, seconds. The default format logs the request line (%(r)s) and
# referer, whose query strings can carry personal data; and a path can carry it too, so
# shared/http/access_log.py's logger puts the route the request matched in %(U)s
# (/v1/contributions/<contribution_id>), never the path, and masks the error log.
access_log_format = "%(m)s %(U)s %(s)s %(L)s"
logger_class = "shared.http.access_log.AccessLogger"

# Size limits: the app answers a request target over 4,096 bytes with 414 and a header
# field over 8,190 bytes with 431, as problem+json (shared/http/web.py). Gunicorn lets that much
# through and answers beyond it itself (a short HTML page): a request line over 8,190 bytes
# (its maximum) 414, a header field over 16,384 bytes or more than 100 of them 431.
limit_request_line = 8190
limit_request_field_size = 16384
limit_request_fields = 100

# Prometheus multi-process mode: each worker writes its metrics to files in this
# directory and /metrics adds them up, so a scrape sees the whole process, not one worker.
_metrics_dir = _settings.prometheus_multiproc_dir and str(_settings.prometheus_multiproc_dir)
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
