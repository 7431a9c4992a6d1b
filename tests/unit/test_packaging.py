"""The wheel a council installs holds everything the installed product reads at run time."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tracked_files(*paths: str) -> list[str]:
    listed = subprocess.run(["git", "ls-files", *paths], cwd=ROOT, capture_output=True, text=True, check=True)
    return listed.stdout.split()


def test_the_built_wheel_holds_every_template_page_stylesheet_and_migration(tmp_path):
    # Built from a copy of the tracked files, as from a clean clone: an in-tree build/
    # left by an earlier build would hide what the package definition leaves out.
    source = tmp_path / "source"
    for path in tracked_files("pyproject.toml", "README.md", "shared", "services", "ops"):
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, source / path)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("outcome_chain-*.whl")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())

    missing = [path for path in tracked_files("shared", "services", "ops") if path not in in_wheel]

    assert not missing, f"the wheel lacks {len(missing)} file(s) the installed product needs: {missing[:10]}"
