"""The email the SMTP provider composes reads, to any mail client, exactly as the one the
email package's `EmailMessage` builds: the same headers, the same text and HTML, in
English and Welsh, whatever the text holds."""

from __future__ import annotations

import email
import email.policy
from email.generator import BytesGenerator
from io import BytesIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifier.adapters.mime import Composer
from services.notifier.adapters.providers import OutgoingMessage, SmtpEmail
from services.notifier.adapters.templates import Renderer
from shared.rules.constants import MESSAGE_KINDS
from tests.unit.services.notifier.adapters.test_letters import URLS
from tests.unit.services.notifier.adapters.test_templates import context

MAIL_FROM = "Cyngor Example <hysbysiadau@council.example.gov.uk>"
HEADERS = ("From", "To", "Subject", "Message-ID", "List-Unsubscribe-Post", "MIME-Version")


def outgoing(**overrides) -> OutgoingMessage:
    values = {
        "notification_id": "0b9c3f1e-5d2a-4c1b-9e8f-7a6d5c4b3a21",
        "channel": "email",
        "to": "ann.example+updates@example.org",
        "subject": "What happened to your contribution (DEMO-2026-000123)",
        "text": "Dear Ann,\n\nThe board decided.",
        "html": "<p>Dear Ann,</p>\n<p>The board decided.</p>",
        "sms": "",
        "unsubscribe_url": URLS["unsubscribe_url"],
    }
    return OutgoingMessage(**{**values, **overrides})


def by_email_package(message: OutgoingMessage) -> email.message.EmailMessage:
    """The message as `EmailMessage` builds it, through the bytes smtplib would send."""
    out = BytesIO()
    BytesGenerator(out).flatten(SmtpEmail("localhost", 25, mail_from=MAIL_FROM)._build(message), linesep="\r\n")
    return read(out.getvalue())


def composed(message: OutgoingMessage) -> bytes | None:
    return Composer(MAIL_FROM).compose(
        to=message.to,
        subject=message.subject,
        message_id=f"<{message.notification_id}@outcome-chain>",
        unsubscribe_url=message.unsubscribe_url,
        text=message.text,
        html=message.html,
    )


PLAIN = {
    "to": "ann@example.org",
    "subject": "s",
    "message_id": "<m@outcome-chain>",
    "unsubscribe_url": "https://outcomes.example/u",
    "text": "t",
    "html": "h",
}


def read(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def lines(part) -> list[str]:
    return part.get_content().replace("\r\n", "\n").split("\n")


def assert_reads_the_same(message: OutgoingMessage) -> bytes:
    raw = composed(message)
    assert raw is not None
    ours, theirs = read(raw), by_email_package(message)
    assert not ours.defects and not any(part.defects for part in ours.walk())
    assert {h: str(ours[h]) for h in HEADERS} == {h: str(theirs[h]) for h in HEADERS}
    # The email package folds a long link onto a line of its own, or into encoded words
    # a client does not follow; ours is the one `<URL>` RFC 2369 asks for.
    assert ours["List-Unsubscribe"] == f"<{message.unsubscribe_url}>"
    for kind in ("plain", "html"):
        # The same text; line ends as each transfer encoding gives them back (CRLF or LF).
        assert lines(ours.get_body((kind,))) == lines(theirs.get_body((kind,)))
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # every line ends CRLF, as SMTP wants
    return raw


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize("format_", ["standard", "easy_read", "large_print"])
def test_every_message_reads_as_the_email_package_writes_it(kind, language, format_):
    rendered = Renderer().render(
        kind, language=language, format_=format_, context={**context(name="Siân Llŷr"), **URLS}
    )

    assert_reads_the_same(outgoing(subject=rendered.subject, text=rendered.text, html=rendered.html))


def test_a_welsh_subject_goes_as_encoded_words_and_reads_back_in_welsh():
    raw = assert_reads_the_same(outgoing(subject="Diweddariad i Siân: beth ddigwyddodd i’ch cyfraniad ŵ ŷ"))

    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0]
    assert read(raw)["Subject"] == "Diweddariad i Siân: beth ddigwyddodd i’ch cyfraniad ŵ ŷ"


def test_the_unsubscribe_link_stays_one_angle_bracketed_url_a_mail_client_can_follow():
    long_url = "https://outcomes.example.gov.uk/v1/unsubscribe/" + "eyJ0IjoiZGVtbyJ9" * 6 + ".signature"
    raw = assert_reads_the_same(outgoing(unsubscribe_url=long_url))

    assert f"\r\nList-Unsubscribe: <{long_url}>\r\n".encode() in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw


def test_short_ascii_text_goes_as_it_is_and_the_rest_quoted_printable():
    raw = assert_reads_the_same(outgoing(text="Dear Ann,\n\nThank you.", html="<p>Diolch, Siân.</p>"))

    plain, html = raw.split(b"Content-Type: text/")[1:]
    assert b"Content-Transfer-Encoding: 7bit\r\n\r\nDear Ann,\r\n\r\nThank you.\r\n" in plain
    assert b"Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>Diolch, Si=C3=A2n.</p>\r\n" in html


def test_what_a_header_cannot_carry_as_it_is_is_left_to_the_email_package():
    assert composed(outgoing(to="siân@example.org")) is None  # needs SMTPUTF8
    assert composed(outgoing(to="Ann Example <ann@example.org>")) is None  # not just an address
    assert composed(outgoing(subject="Two\r\nBcc: someone@example.org")) is None
    assert Composer("Cyngor <hysbysiadau@cyngor.cymru>").compose(**PLAIN) is not None
    assert Composer("Cyngor <ŵ@cyngor.cymru>").compose(**PLAIN) is None


def test_a_council_s_welsh_name_as_sender_reads_back_in_welsh():
    raw = Composer("Cyngor Sir Ynys Môn <hysbysiadau@ynysmon.example>").compose(**PLAIN)

    assert read(raw)["From"].addresses[0].display_name == "Cyngor Sir Ynys Môn"
    assert read(raw)["From"].addresses[0].addr_spec == "hysbysiadau@ynysmon.example"


printable = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85") | st.sampled_from(
    " \t.=-ŵŷâ’\n"
)


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(printable.filter(lambda c: c not in "\r\n\t"), min_size=1, max_size=120)
    .map(str.strip)
    .filter(bool),
    text=st.text(printable, min_size=1, max_size=400),
    html=st.text(printable, min_size=1, max_size=400),
    to=st.from_regex(r"[a-z0-9][a-z0-9.+_-]{0,20}[a-z0-9]@[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True),
)
def test_any_text_reads_the_same(subject, text, html, to):
    assert_reads_the_same(outgoing(subject=subject, text=text, html=html, to=to.replace("..", ".")))
