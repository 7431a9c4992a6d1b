"""A real SMTP server (aiosmtpd) on a free port that keeps what it accepts, and can be stopped."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from shared import smtp_sink
from tests.support.ports import free_port


class SmtpServer:
    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.controller = None
        self.start()

    def start(self) -> None:
        self.controller = smtp_sink.start(self.directory, "127.0.0.1", self.port)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.directory.glob("*.eml"))
        ]
