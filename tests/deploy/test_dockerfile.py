"""The image installs what CI tested: the built wheel and the hash-checked runtime lock, never the
source tree and never the dev or test extras. Checked offline (no Docker engine needed)."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            pairs.append((keyword.upper(), " ".join(arguments.split())))
    return pairs


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            found.append([])
        found[-1].append((keyword, arguments))
    return found


def runs(stage) -> list[list[str]]:
    return [shlex.split(arguments) for keyword, arguments in stage if keyword == "RUN"]


def copies(stage) -> list[list[str]]:
    return [shlex.split(arguments) for keyword, arguments in stage if keyword in ("COPY", "ADD")]


def pip_installs(stage) -> list[list[str]]:
    """Each `pip install ...` of the stage's RUN commands, split at `&&`."""
    found = []
    for words in runs(stage):
        command: list[str] = []
        for word in [*words, "&&"]:
            if word in ("&&", ";", "||"):
                if command[:2] == ["pip", "install"] or command[1:3] == ["-m", "pip"]:
                    found.append(command)
                command = []
            else:
                command.append(word)
    return found


def build_stage_and_runtime_stage():
    *builds, runtime = stages()
    assert builds, "a build stage makes the wheel; the runtime stage only installs it"
    return builds, runtime


def test_a_build_stage_builds_the_wheel_from_the_sources():
    builds, _ = build_stage_and_runtime_stage()

    wheel_builds = [w for stage in builds for w in runs(stage) if w[:2] == ["pip", "wheel"] and "--no-deps" in w]

    assert wheel_builds, "the build stage runs `pip wheel --no-deps`"
    assert any(re.match(r"\S+ AS \S+", arguments, re.IGNORECASE) for keyword, arguments in builds[-1][:1])


def test_the_runtime_stage_installs_the_runtime_lock_with_hashes_then_the_wheel_alone():
    _, runtime = build_stage_and_runtime_stage()
    installs = pip_installs(runtime)

    locked = [cmd for cmd in installs if "--require-hashes" in cmd and "-r" in cmd]
    assert len(locked) == 1, installs
    lock_in_image = locked[0][locked[0].index("-r") + 1]
    (copied_lock,) = [cmd for cmd in copies(runtime) if cmd[-1] == lock_in_image]
    assert copied_lock[-2] == "requirements/runtime.txt"

    wheels = [cmd for cmd in installs if any(word.endswith(".whl") for word in cmd)]
    assert len(wheels) == 1 and "--no-deps" in wheels[0], installs
    assert installs.index(locked[0]) < installs.index(wheels[0]), "dependencies first, then the wheel"
    assert any(cmd[0].startswith("--from=") for cmd in copies(runtime)), "the wheel comes from the build stage"
    assert len(installs) == 2, f"nothing else is installed: {installs}"


def test_the_runtime_stage_holds_no_source_tree_and_no_dev_or_test_extras():
    _, runtime = build_stage_and_runtime_stage()
    from_context = [cmd for cmd in copies(runtime) if not cmd[0].startswith("--from=")]
    sources = [PurePosixPath(src) for *_, src, _dest in from_context]

    assert all(src.parts[0] not in ("shared", "services", "ops", ".", "pyproject.toml") for src in sources), sources
    assert sources == [PurePosixPath("requirements/runtime.txt"), PurePosixPath("deploy/gunicorn.conf.py")]
    text = " ".join(arguments for _, arguments in runtime)
    for word in ("[dev]", "[test]", "requirements/dev.txt", "pip install .", " -e "):
        assert word not in text


def dockerignore_patterns() -> list[str]:
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions would need Docker's own matcher"
    return patterns


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule for these patterns: a path is out if it, or a folder above it, matches."""
    parts = PurePosixPath(path).parts
    for pattern in patterns:
        anywhere = pattern.startswith("**/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if fnmatch.fnmatchcase(prefix, pattern) or (
                anywhere and fnmatch.fnmatchcase(parts[depth - 1], pattern[3:])
            ):
                return True
    return False


def test_the_build_context_leaves_out_history_environments_state_and_everything_but_the_product():
    patterns = dockerignore_patterns()
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        ".venv-lowest/bin/python",
        "var/intake.db",
        "node_modules/axe-core/axe.js",
        "tests/unit/test_packaging.py",
        "bench/harness.py",
        "docs/screenshots/dashboard.png",
        "build/lib/shared/cli.py",
        "outcome_chain.egg-info/PKG-INFO",
        "shared/__pycache__/cli.cpython-311.pyc",
        ".env",
    ):
        assert ignored(path, patterns), f"{path} would be sent to the Docker build"


def test_the_build_context_keeps_everything_the_dockerfile_copies():
    patterns = dockerignore_patterns()
    copied = [
        src for stage in stages() for cmd in copies(stage) if not cmd[0].startswith("--from=") for src in cmd[:-1]
    ]

    assert copied
    for src in copied:
        assert not ignored(src, patterns), f".dockerignore leaves out {src}, which the Dockerfile copies"
        assert (ROOT / src).exists(), src
