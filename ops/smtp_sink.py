"""A local SMTP server (aiosmtpd) that keeps every message it accepts as a file.

`make run` starts it on 127.0.0.1:8025 writing under var/mail/; the tests start it too,
so email goes through a real SMTP conversation everywhere. aiosmtpd comes with the `dev`
extra only: a deployment sends through the council's own SMTP server.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ops import devextras

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller


class MaildirHandler:
    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 (aiosmtpd's name)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.directory / (name + ".tmp")
        temporary.write_bytes(envelope.original_content or envelope.content)
        temporary.rename(self.directory / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def start(directory: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    aiosmtpd_controller = devextras.require("aiosmtpd.controller", "the SMTP sink")
    controller = aiosmtpd_controller.Controller(MaildirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller
