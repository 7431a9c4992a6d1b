"""The import contracts in pyproject.toml hold (README "How it is built"): ops on top, then the
services, each independent of the others and layered inside, then shared; domains plain Python."""

from __future__ import annotations

from importlinter.cli import lint_imports


def test_every_import_contract_is_kept(capsys):
    status = lint_imports(no_cache=True, no_logo=True)

    report = capsys.readouterr().out
    assert status == 0, report
    assert "0 broken" in report and "4 kept" in report
