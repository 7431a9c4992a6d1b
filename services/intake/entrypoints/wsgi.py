"""gunicorn -c deploy/gunicorn.conf.py services.intake.entrypoints.wsgi:app

Settings that will not do stop the worker with one line and gunicorn's "App failed to
load" status, so the master stops too (shared/infra/settings.py, settings_to_serve).
"""

from services.intake.bootstrap import bootstrap
from services.intake.entrypoints.web import create_app
from shared.infra.logging import configure
from shared.infra.settings import settings_to_serve

settings = settings_to_serve("intake web")
configure("intake", settings.log_level)
app = create_app(bootstrap(settings))
