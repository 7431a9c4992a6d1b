"""`make run` stopped every way a user stops it (Ctrl-C, a service manager's SIGTERM, the
terminal closed, the supervisor killed outright) leaves none of its processes running; and
with a council's SMTP server configured it starts no sink of its own and mail goes there."""

from __future__ import annotations

import signal

import pytest

from tests.e2e.conftest import DEMO_TIMEOUT, MakeRun, free_ports
from tests.support import processes
from tests.support.smtp import SmtpServer

SERVICES_AND_BROKER = {
    "broker",
    "smtp-sink",
    *(f"{s}-{kind}" for s in ("intake", "decisions", "notifier") for kind in ("web", "consumer", "relay")),
}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=lambda s: s.name)
def test_stopping_make_run_leaves_no_process_of_it_running(tmp_path, signum):
    run = MakeRun(tmp_path / "var", free_ports(), {"OUTCOMES_DEMO": "0"})
    try:
        assert set(run.children()) == SERVICES_AND_BROKER
        everything = processes.of_run(run.var)
        assert len(everything) > len(SERVICES_AND_BROKER)  # gunicorn's workers too

        status = run.stop(signum)

        if signum == signal.SIGKILL:
            assert status == -signal.SIGKILL
        else:
            assert status == 0
            assert "Stopped." in run.read_until(lambda line: "Stopped." in line, 60)
        assert processes.wait_until_none(run.var, timeout=60) == {}
    finally:
        run.close()


def test_with_smtp_host_set_make_run_starts_no_sink_and_mail_goes_to_that_server(tmp_path):
    council = SmtpServer(tmp_path / "council-mail")
    try:
        run = MakeRun(tmp_path / "var", free_ports(), {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(council.port)})
        try:
            assert f"to the SMTP server at 127.0.0.1:{council.port} (SMTP_HOST is set: no local sink)" in run.output
            assert "SMTP sink" not in run.output
            assert "smtp-sink" not in run.children()

            summary = run.demo_summary()
            assert "Demo council 'demo'" in summary, summary

            # The demo's acknowledgements arrive at the council's server, none at a local sink.
            processes.wait_for(lambda: len(council.messages()) >= 1, DEMO_TIMEOUT, "no mail reached the SMTP server")
            assert any("DEMO-" in str(message.get_body(("plain",))) for message in council.messages())
            assert not list((run.var / "mail").glob("*.eml"))
            assert "stopped unexpectedly" not in "".join(run.lines)
        finally:
            run.close()
    finally:
        council.stop()
