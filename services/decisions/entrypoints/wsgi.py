"""gunicorn -c deploy/gunicorn.conf.py services.decisions.entrypoints.wsgi:app"""

from services.decisions.bootstrap import create_app
from shared.logging import configure
from shared.settings import Settings

configure("decisions", Settings.from_env().log_level)
app = create_app()
