"""The channels a message can go by, behind one interface.

Each provider's `send` returns the provider's reference for the message, or raises
TemporaryFailure (worth retrying: the server is down, busy, or slow) or
PermanentFailure (retrying cannot help: a rejected address, an invalid number).
Details carry status codes, never the message or the address. A provider whose
`receipts` is False never reports on a message afterwards (SMTP, the outbox folders), so
the sender need not look for a receipt that came in before it recorded the send.
"""

from __future__ import annotations

import json
import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Protocol

import requests

from services.notifier.adapters.mime import Composer


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: str
    channel: str
    to: str
    subject: str
    text: str
    html: str
    sms: str
    unsubscribe_url: str
    letter: str = ""  # by post: the letter's text below its heading (`to` is its address, one line each)
    large_print: bool = False


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


class Provider(Protocol):
    name: str
    receipts: bool

    def send(self, message: OutgoingMessage) -> str: ...


def _classify_http(status: int, provider: str) -> Exception:
    if status == 429 or status >= 500:
        return TemporaryFailure(f"{provider} answered {status}")
    return PermanentFailure(f"{provider} refused the message ({status})")


class SmtpEmail:
    """Email over SMTP, one connection kept open between messages."""

    name = "smtp"
    receipts = False

    def __init__(
        self,
        host: str,
        port: int,
        *,
        mail_from: str,
        user: str | None = None,
        password: str | None = None,
        tls: str = "none",
        timeout: float = 10.0,
    ):
        self.host, self.port, self.mail_from = host, port, mail_from
        self.user, self.password, self.tls, self.timeout = user, password, tls, timeout
        self._connection: smtplib.SMTP | None = None
        self._lock = threading.Lock()
        self._composer = Composer(mail_from)

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "tls":
            connection = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.tls == "starttls":
                connection.starttls(context=ssl.create_default_context())
        if self.user:
            connection.login(self.user, self.password or "")
        # The dot that completes a staged message is a write of its own, after the data:
        # without this, Nagle's algorithm holds it until the server acknowledges the data,
        # which it delays (up to 40 ms) while it has nothing to say.
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _message_id(self, message: OutgoingMessage) -> str:
        # Derived from the notification: a resend after a crash is recognisably the same message.
        return f"<{message.notification_id}@outcome-chain>"

    def _build(self, message: OutgoingMessage) -> EmailMessage:
        """The message by the email package: for what `Composer` leaves to it (an address
        that needs SMTPUTF8, a line break in a header)."""
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = self._message_id(message)
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        return email

    def _prepare(self, message: OutgoingMessage) -> bytes | EmailMessage:
        raw = self._composer.compose(
            to=message.to,
            subject=message.subject,
            message_id=self._message_id(message),
            unsubscribe_url=message.unsubscribe_url,
            text=message.text,
            html=message.html,
        )
        return self._build(message) if raw is None else raw

    def send(self, message: OutgoingMessage) -> str:
        return self.stage(message).complete()

    def stage(self, message: OutgoingMessage) -> StagedEmail:
        """The message on its way, all but its final dot: the server has it, but has not
        accepted it until `complete()` (`abort()` drops it). The connection is this
        message's until one of them is called."""
        prepared = self._prepare(message)
        self._lock.acquire()
        try:
            for attempt in (1, 2):  # a kept connection may have been closed by the server
                try:
                    if self._connection is None:
                        self._connection = self._connect()
                    if isinstance(prepared, bytes):
                        _begin_data(self._connection, self._composer.envelope_from, message.to, prepared)
                    return StagedEmail(self, prepared, self._message_id(message))
                except smtplib.SMTPServerDisconnected:
                    self._connection = None
                    if attempt == 2:
                        raise TemporaryFailure("the SMTP server disconnected") from None
                except (OSError, smtplib.SMTPException) as exc:
                    raise self._failure(exc) from None
            raise TemporaryFailure("SMTP send did not complete")
        except BaseException:
            self._lock.release()
            raise

    def _send_whole(self, email: EmailMessage) -> dict:
        try:
            return self._connection.send_message(email)
        except smtplib.SMTPServerDisconnected:  # a kept connection the server had closed: once more
            self._connection = self._connect()
            return self._connection.send_message(email)

    def _failure(self, exc: OSError | smtplib.SMTPException) -> Exception:
        """What an SMTP error means for the message (the connection is dropped unless only the recipient was refused)."""
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = {code for code, _ in exc.recipients.values()}
            return (PermanentFailure if all(c >= 500 for c in codes) else TemporaryFailure)(
                f"recipient refused ({sorted(codes)})"
            )
        self._drop()
        if isinstance(exc, smtplib.SMTPResponseException):
            return (PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure)(f"SMTP answered {exc.smtp_code}")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return TemporaryFailure("the SMTP server disconnected")
        return TemporaryFailure(f"SMTP unreachable ({type(exc).__name__})")

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except OSError:
                pass
        self._connection = None


def _begin_data(connection: smtplib.SMTP, sender: str, to: str, raw: bytes) -> None:
    """MAIL, RCPT, DATA and the message, as `smtplib.SMTP.sendmail` sends them, all but
    the dot that ends the data (the moment the server takes the message on)."""
    connection.ehlo_or_helo_if_needed()
    options = [f"size={len(raw)}"] if connection.does_esmtp and connection.has_extn("size") else []
    code, reply = connection.mail(sender, options)
    if code != 250:
        _reset(connection)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = connection.rcpt(to)
    if code not in (250, 251):
        _reset(connection)
        raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
    connection.putcmd("data")
    code, reply = connection.getreply()
    if code != 354:
        _reset(connection)
        raise smtplib.SMTPDataError(code, reply)
    data = re.sub(rb"(?m)^\.", b"..", raw)  # a line starting with a dot gets another
    connection.send(data if data.endswith(b"\r\n") else data + b"\r\n")


def _reset(connection: smtplib.SMTP) -> None:
    try:
        connection.rset()
    except smtplib.SMTPServerDisconnected:
        pass


class StagedEmail:
    """A message the SMTP server holds but has not accepted: `complete()` sends the final
    dot and returns the reference once the server accepts it; `abort()` drops it."""

    def __init__(self, provider: SmtpEmail, prepared: bytes | EmailMessage, reference: str):
        self.provider, self.prepared, self.reference = provider, prepared, reference

    def complete(self) -> str:
        provider = self.provider
        try:
            if isinstance(self.prepared, EmailMessage):  # nothing was staged: sent whole, now
                if provider._send_whole(self.prepared):
                    raise PermanentFailure("the SMTP server refused the recipient")
                return self.reference
            connection = provider._connection
            connection.send(b".\r\n")
            code, reply = connection.getreply()
            if code != 250:
                _reset(connection)
                raise smtplib.SMTPDataError(code, reply)
            return self.reference
        except (OSError, smtplib.SMTPException) as exc:
            raise provider._failure(exc) from None
        finally:
            provider._lock.release()

    def abort(self) -> None:
        """Drop the connection: a server discards a message whose data never ended."""
        try:
            if isinstance(self.prepared, bytes):
                self.provider._drop()
        finally:
            self.provider._lock.release()


class NotifyProvider:
    """GOV.UK Notify, through its Python client; each template's body is ((body))."""

    name = "notify"
    receipts = True

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        sms_template_id: str | None,
        email_template_id: str | None,
        timeout: float = 10.0,
    ):
        from notifications_python_client.notifications import NotificationsAPIClient

        self.client = NotificationsAPIClient(api_key, base_url=base_url, timeout=timeout)
        self.sms_template_id, self.email_template_id = sms_template_id, email_template_id

    def send(self, message: OutgoingMessage) -> str:
        from notifications_python_client.errors import HTTPError

        try:
            if message.channel == "sms":
                response = self.client.send_sms_notification(
                    message.to,
                    self.sms_template_id,
                    personalisation={"body": message.sms},
                    reference=message.notification_id,
                )
            else:
                response = self.client.send_email_notification(
                    message.to,
                    self.email_template_id,
                    personalisation={"subject": message.subject, "body": message.text},
                    reference=message.notification_id,
                    one_click_unsubscribe_url=message.unsubscribe_url,
                )
        except HTTPError as exc:
            raise _classify_http(exc.status_code, "GOV.UK Notify") from None
        return str(response.get("id", message.notification_id))


class TwilioSms:
    """Twilio's Messages API (form-encoded POST, basic auth)."""

    name = "twilio"
    receipts = True

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        *,
        base_url: str = "https://api.twilio.com",
        status_callback: str | None = None,
        timeout: float = 10.0,
    ):
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.sender, self.status_callback, self.timeout = sender, status_callback, timeout
        self.session = requests.Session()

    def send(self, message: OutgoingMessage) -> str:
        form = {"To": message.to, "From": self.sender, "Body": message.sms}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        try:
            response = self.session.post(self.url, data=form, auth=self.auth, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TemporaryFailure(f"Twilio unreachable ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise _classify_http(response.status_code, "Twilio")
        return response.json()["sid"]


class OutboxSms:
    """For one-machine runs: each SMS is written as one JSON file under var/sms/."""

    name = "outbox"
    receipts = False

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, message: OutgoingMessage) -> str:
        path = self.directory / f"{message.notification_id}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"to": message.to, "body": message.sms, "at": time.time()}))
        temporary.rename(path)
        return message.notification_id


class RateLimited:
    """At most `per_minute` sends through `provider` from this process (a token bucket)."""

    def __init__(self, provider: Provider, per_minute: int):
        self.provider, self.name = provider, provider.name
        self.receipts = getattr(provider, "receipts", True)
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute / 60.0)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> str:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1:
                time.sleep((1 - self.tokens) / self.rate)
                self.tokens = 1
                self.updated = time.monotonic()
            self.tokens -= 1
        return self.provider.send(message)
