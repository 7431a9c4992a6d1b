"""A deployment installs no `dev` extra: every production command and web app works without the
embedded broker and the SMTP sink, and the one-machine commands say in one line what to install."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ops.devextras import DEV_MODULES, INSTALL

# Run first in a fresh interpreter: from then on any import of a dev-only module fails as it
# does where the package is not installed, and each attempt is recorded.
WITHOUT_DEV_EXTRAS = textwrap.dedent(
    f"""
    import importlib.abc
    import sys

    attempted = []

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in {sorted(DEV_MODULES)!r}:
                attempted.append(name)
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    """
)

# Every module of the installed product but the Alembic scripts (Alembic runs those) and the
# gunicorn entry modules (they build an app from the environment; they import only bootstrap).
IMPORT_EVERY_PRODUCTION_MODULE = textwrap.dedent(
    """
    import importlib
    import pkgutil

    import ops
    import services
    import shared

    imported = []
    for package in (shared, services, ops):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            # Entry points that start serving when imported (gunicorn's config and apps) are left out.
            if (
                ".migrations." in module.name
                and not module.ispkg
                or module.name.endswith(".wsgi")
                or module.name == "shared.http.gunicorn_conf"
            ):
                continue
            importlib.import_module(module.name)
            imported.append(module.name)
    for service in ("intake", "decisions", "notifier"):
        importlib.import_module(f"services.{service}.entrypoints.web").create_app
    print(len(imported), "modules imported; dev modules attempted:", attempted)
    """
)

RUN_OUTCOMES = textwrap.dedent(
    """
    from ops.cli import main

    sys.exit(main(sys.argv[1:]))
    """
)


def without_dev_extras(program: str, *args: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DEV_EXTRAS + program, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # no source tree on the path: the installed package, as a deployment has it
        env={**os.environ, "OUTCOMES_VAR_DIR": str(tmp_path / "var")},
    )


def test_every_production_module_imports_without_the_dev_extras(tmp_path):
    result = without_dev_extras(IMPORT_EVERY_PRODUCTION_MODULE, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("dev modules attempted: []"), result.stdout
    assert int(result.stdout.split()[0]) > 50, result.stdout  # the walk found the product


def test_the_operators_command_line_lists_its_commands_without_the_dev_extras(tmp_path):
    result = without_dev_extras(RUN_OUTCOMES, "--help", tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    for command in ("migrate", "topics", "consume", "relay", "send", "keys", "reencrypt"):
        assert command in result.stdout


@pytest.mark.parametrize(
    "command",
    [["run"], ["broker", "--port", "0"], ["smtp-sink", "--port", "0"]],
    ids=["run", "broker", "smtp-sink"],
)
def test_a_one_machine_command_without_the_dev_extras_says_what_to_install_in_one_line(command, tmp_path):
    result = without_dev_extras(RUN_OUTCOMES, *command, tmp_path=tmp_path)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], "one line, no traceback"
    assert result.stderr.strip().endswith(INSTALL)
    assert "needs" in result.stderr
