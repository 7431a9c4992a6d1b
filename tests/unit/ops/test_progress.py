"""The progress bar long imports draw: on a terminal only, never into a file or a pipe."""

from __future__ import annotations

import io

from ops.progress import bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_bar_fill_up_and_end_its_line():
    terminal = Terminal()
    advance = bar("importing", terminal)(4)
    for _ in range(4):
        advance()
    drawn = terminal.getvalue()
    assert "importing [###############...............] 2/4" in drawn
    assert drawn.endswith("importing [" + "#" * 30 + "] 4/4\n")


def test_a_file_or_pipe_gets_nothing():
    piped = io.StringIO()
    advance = bar("importing", piped)(4)
    advance()
    assert piped.getvalue() == ""
