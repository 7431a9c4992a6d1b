"""Gunicorn's logger, without what a request's path may carry.

A path holds whatever a client typed in it: `GET /v1/contributions/+44 7700 900731` puts a
phone number in the path, and the access log would keep it. So the access log names the
route the request matched (its template, e.g. `/v1/contributions/<contribution_id>`, which
the web app leaves in the WSGI environ, see shared/http/web.py), or `unmatched`; never the path,
the query, the request line or the referer. The error log's messages are masked as
shared/infra/logging.py masks ours, and a request gunicorn refuses as malformed is logged without
the request line it quotes.

Used by deploy/gunicorn.conf.py as `logger_class`; it imports gunicorn and the standard
library only (shared.infra.logging and shared.rules.constants are plain modules), so the master stays small.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

from shared.infra.logging import redact
from shared.rules.constants import ACCESS_LOG_ROUTE_KEY

UNMATCHED = "unmatched"
_REFUSED = re.compile(r"^(Invalid request from ip=\S+): .*", re.DOTALL)


def logged_path(environ: dict) -> str:
    """What the access log shows for the path: the matched route's template, or `unmatched`."""
    return environ.get(ACCESS_LOG_ROUTE_KEY) or UNMATCHED


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201 - gunicorn's signature
        atoms = super().atoms(resp, req, environ, request_time)
        path = logged_path(environ)
        atoms.update(
            {
                "U": path,
                "r": f"{atoms['m']} {path} {atoms['H']}",
                "q": "",
                "f": "-",
            }
        )
        # Request headers (`%({name}i)s`) and the environ (`%({name}e)s`) may carry anything
        # too, the raw path among them: none is offered to the format.
        return {name: value for name, value in atoms.items() if not name.endswith(("}i", "}e"))}

    # The error log: each message formatted, then masked, then passed on with no arguments.
    def critical(self, msg, *args, **kwargs):  # noqa: ANN001, ANN201 - gunicorn's signature
        super().critical(masked(msg, args), **kwargs)

    def error(self, msg, *args, **kwargs):  # noqa: ANN001, ANN201
        super().error(masked(msg, args), **kwargs)

    def warning(self, msg, *args, **kwargs):  # noqa: ANN001, ANN201
        super().warning(masked(msg, args), **kwargs)

    def info(self, msg, *args, **kwargs):  # noqa: ANN001, ANN201
        super().info(masked(msg, args), **kwargs)

    def debug(self, msg, *args, **kwargs):  # noqa: ANN001, ANN201
        super().debug(masked(msg, args), **kwargs)

    def exception(self, msg, *args, **kwargs):  # noqa: ANN001, ANN201
        super().exception(masked(msg, args), **kwargs)


def masked(msg: object, args: tuple) -> str:
    """An error-log message with anything shaped like contact details masked, and a refused
    request's quoted request line or header left out."""
    try:
        text = str(msg) % args if args else str(msg)
    except (TypeError, ValueError):
        text = str(msg)
    return _REFUSED.sub(r"\1: (details not logged: they quote the request)", redact(text))
