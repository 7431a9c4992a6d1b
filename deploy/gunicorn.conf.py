"""Gunicorn settings for the web processes: those of the installed package (shared/gunicorn_conf.py)."""
from shared.gunicorn_conf import *  # noqa: F403
