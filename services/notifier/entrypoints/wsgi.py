"""gunicorn -c deploy/gunicorn.conf.py services.notifier.entrypoints.wsgi:app"""

from services.notifier.bootstrap import create_app
from shared.logging import configure
from shared.settings import Settings

configure("notifier", Settings.from_env().log_level)
app = create_app()
