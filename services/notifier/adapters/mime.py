"""An email as the bytes SMTP carries: headers, then the plain text and its HTML alternative.

`email.message.EmailMessage` builds the same message, but at about 2 ms of CPU a message
(every header parsed into objects and folded again, the bodies quoted-printable encoded in
Python), more than the rest of a send. Here the structured headers that vary (To,
Subject) are still folded by the email package's default policy, so they come out as
`EmailMessage` writes them (RFC 2047 words for Welsh); the fixed ones are written as
they are; each body is UTF-8, sent as it is when it is ASCII in short lines (7bit) and
otherwise quoted-printable by `binascii`. `List-Unsubscribe` stays one line: RFC 2369
and RFC 8058 want `<URL>` there, which the default policy breaks into encoded words once
the URL is longer than a line.

`compose` answers None for what it leaves to `EmailMessage`: a recipient that is not a
plain ASCII address (a dot-atom at a domain: `To` is then the envelope's recipient as it
is), a sender address that is not ASCII, or a header value with a line break in it.
"""

from __future__ import annotations

import binascii
import email.policy
import random
import re
from email.utils import formatdate, parseaddr

POLICY = email.policy.SMTP  # the default policy, lines ending CRLF: what smtplib sends
MAX_LINE = POLICY.max_line_length  # 78
_rng = random.Random()
_BREAKS = re.compile(r"[\r\n]")


# The header classes the default policy makes (it makes a class at each look-up).
_HEADER_CLASSES = {name: POLICY.header_factory[name] for name in ("From", "To", "Subject")}
# Values the default policy writes as they are: a plain address (a dot-atom at a domain),
# printable ASCII text with no encoded word in it; both short enough for one line.
_PLAIN = {
    "To": re.compile(
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*"
    ),
    "Subject": re.compile(r"(?!.*=\?)[!-~]+( [!-~]+)*"),
}


def header(name: str, value: str) -> bytes:
    """`name: value` as `EmailMessage` with the default policy writes it."""
    plain = _PLAIN.get(name)
    if plain is not None and len(name) + 2 + len(value) <= MAX_LINE and plain.fullmatch(value):
        return f"{name}: {value}\r\n".encode("ascii")
    return _HEADER_CLASSES[name](name, value).fold(policy=POLICY).encode("ascii")


def _fits(value: str) -> bool:
    return value.isascii() and not _BREAKS.search(value)


class Composer:
    """Messages from one sender address (`From`, folded once)."""

    def __init__(self, mail_from: str):
        self.envelope_from = parseaddr(mail_from)[1]
        # A Welsh display name is fine (encoded words); an address outside ASCII needs SMTPUTF8.
        plain = self.envelope_from.isascii() and not _BREAKS.search(mail_from)
        self.from_header = header("From", mail_from) if plain else None

    def compose(
        self, *, to: str, subject: str, message_id: str, unsubscribe_url: str, text: str, html: str
    ) -> bytes | None:
        """The message, CRLF line ends throughout; None when `EmailMessage` must build it."""
        if self.from_header is None or not all(_fits(v) for v in (to, message_id, unsubscribe_url)):
            return None
        if _BREAKS.search(subject) or not _PLAIN["To"].fullmatch(to):
            return None
        parts = [_part("plain", text), _part("html", html)]
        boundary = _boundary(parts)
        head = b"".join(
            [
                self.from_header,
                header("To", to),
                header("Subject", subject),
                f"Date: {formatdate(localtime=False)}\r\n".encode("ascii"),
                f"Message-ID: {message_id}\r\n".encode("ascii"),
                f"List-Unsubscribe: <{unsubscribe_url}>\r\n".encode("ascii"),
                b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                b"MIME-Version: 1.0\r\n",
                f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'.encode("ascii"),
            ]
        )
        # A delimiter's leading CRLF is its own, not the body's: each body keeps its last line end.
        delimiter = f"--{boundary}".encode("ascii")
        return head + b"".join([delimiter + b"\r\n" + part + b"\r\n" for part in parts]) + delimiter + b"--\r\n"


def _part(subtype: str, body: str) -> bytes:
    """One text part: its headers and its body, in UTF-8, 7bit if it may go as it is, else
    quoted-printable (what `EmailMessage.set_content` chooses for text like ours)."""
    lines = body.encode("utf-8").splitlines()
    data = b"\r\n".join(lines) + b"\r\n"
    if data.isascii() and all(len(line) <= MAX_LINE for line in lines):
        encoding = "7bit"
    else:
        encoding, data = "quoted-printable", binascii.b2a_qp(data)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'.encode(
            "ascii"
        )
        + data
    )


def _boundary(parts: list[bytes]) -> str:
    """A boundary found in no part (as `email.generator` makes them: quoted-printable never
    writes '==', so only a 7bit part could hold one, by chance)."""
    while True:
        boundary = f"==============={_rng.randrange(10**19):019d}=="
        if not any(boundary.encode("ascii") in part for part in parts):
            return boundary
