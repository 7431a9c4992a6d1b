"""Gunicorn settings for the web processes: those of the installed package (shared/http/gunicorn_conf.py)."""
from shared.http.gunicorn_conf import *  # noqa: F403
