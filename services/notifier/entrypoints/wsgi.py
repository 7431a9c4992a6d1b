"""gunicorn -c deploy/gunicorn.conf.py services.notifier.entrypoints.wsgi:app

Settings that will not do stop the worker with one line and gunicorn's "App failed to
load" status, so the master stops too (shared/infra/settings.py, settings_to_serve).
"""

from services.notifier.bootstrap import bootstrap
from services.notifier.entrypoints.web import create_app
from shared.infra.logging import configure
from shared.infra.settings import settings_to_serve

settings = settings_to_serve("notifier web")
configure("notifier", settings.log_level)
app = create_app(bootstrap(settings))
