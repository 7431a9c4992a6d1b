import pytest

from tests.support.stack import Stack


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing end-to-end test shows the tail of every process's log beside the failure."""
    outcome = yield
    report = outcome.get_result()
    stack = getattr(item, "funcargs", {}).get("system")
    if report.failed and isinstance(stack, Stack):
        report.sections.append(("outcome-chain process logs (tails)", stack.log_tails()))
