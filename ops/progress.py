"""A progress bar for long CLI jobs, drawn on stderr only when it is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

WIDTH = 30


def bar(label: str, stream: TextIO | None = None) -> Callable[[int], Callable[[], None]]:
    """`bar(label)(total)` returns the function to call once per item done."""
    stream = stream or sys.stderr

    def start(total: int) -> Callable[[], None]:
        done = 0
        if not total or not stream.isatty():
            return lambda: None

        def advance() -> None:
            nonlocal done
            done += 1
            filled = WIDTH * done // total
            stream.write(f"\r{label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}")
            if done == total:
                stream.write("\n")
            stream.flush()

        return advance

    return start
