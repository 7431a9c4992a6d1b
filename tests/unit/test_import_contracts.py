"""The import contracts in pyproject.toml hold (README "How it is built"): ops on top, then the
services, each independent of the others and layered inside, then shared; domains plain Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept():
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )

    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "4 kept, 0 broken" in lint.stdout


def test_the_readme_diagram_names_every_package_and_only_files_that_exist():
    import re

    root = ROOT
    readme = root.joinpath("README.md").read_text()
    section = readme[readme.index("## How it is built") :]
    section = section[: section.index("\n## ", 1)]
    packages = {f"shared/{p.name}/" for p in root.joinpath("shared").iterdir() if (p / "__init__.py").exists()}
    named = set(re.findall(r"(?<![\w/])((?:shared|ops)/[\w/]*?\w+(?:\.py|/))", section))

    assert packages <= named, f"not in README 'How it is built': {sorted(packages - named)}"
    assert [path for path in named if not (root / path).exists()] == []


WEB_ONLY_PACKAGES = {"flask", "werkzeug", "authlib", "apispec"}


def test_a_consumer_relay_or_sender_process_never_loads_the_web_app():
    """Each of them runs bootstrap() alone: the blueprints, Flask and sign-in stay out of its memory."""
    processes = [
        f"services.{service}.entrypoints.{process}"
        for service in ("intake", "decisions", "notifier")
        for process in ("consumer", "relay")
    ] + ["services.notifier.entrypoints.sender"]
    probe = (
        "import importlib, sys\n"
        "importlib.import_module(sys.argv[1])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[2:])))"
    )
    loaded = {
        module: subprocess.run(
            [sys.executable, "-c", probe, module, *WEB_ONLY_PACKAGES],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for module in processes
    }

    assert loaded == {module: "[]" for module in processes}
