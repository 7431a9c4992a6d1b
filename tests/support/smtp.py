"""A real SMTP server (aiosmtpd) on a free port that keeps what it accepts, and can be stopped;
it refuses the addresses in `refused` as a mail server refuses an unknown mailbox."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from aiosmtpd.controller import Controller

from ops import smtp_sink
from tests.support.ports import free_port


class _RefusingHandler(smtp_sink.MaildirHandler):
    def __init__(self, directory: Path, refused: set[str]):
        super().__init__(directory)
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if address in self.refused:  # quoting the address, as real servers do
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class SmtpServer:
    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.refused: set[str] = set()
        self.controller = None
        self.start()

    def start(self) -> None:
        self.controller = Controller(
            _RefusingHandler(self.directory, self.refused), hostname="127.0.0.1", port=self.port
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.directory.glob("*.eml"))
        ]
