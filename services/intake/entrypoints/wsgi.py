"""gunicorn -c deploy/gunicorn.conf.py services.intake.entrypoints.wsgi:app"""

from services.intake.bootstrap import create_app
from shared.logging import configure
from shared.settings import Settings

configure("intake", Settings.from_env().log_level)
app = create_app()
