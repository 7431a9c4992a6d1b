"""Local HTTP servers that speak the GOV.UK Notify and Twilio APIs, for real HTTP in tests.

The Notify server checks the JWT the official client signs (HS256 with the key's secret,
`iss` the service id, `iat` within 30 seconds), as GOV.UK Notify does. It takes SMS, email
and letters; a letter's personalisation needs address lines 1 to 3 at least (Notify's
`validation-failed` otherwise), and `GET /v2/notifications/<id>` answers any message's
status (`set_status` moves it, as Notify's printing and posting would).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import uuid
from dataclasses import dataclass, field

import jwt
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from tests.support.ports import free_port


@dataclass
class Behaviour:
    """What the fake answers next: a status code for the next `times` requests, or a delay."""

    status: int = 201
    times: int = 0
    delay: float = 0.0


class _Server:
    def __init__(self, app: Flask):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()


@dataclass
class FakeNotify:
    service_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    received: list[dict] = field(default_factory=list)
    refused_tokens: int = 0
    behaviour: Behaviour = field(default_factory=Behaviour)
    statuses: dict[str, str] = field(default_factory=dict)  # Notify's id -> its status now

    def letters(self) -> list[dict]:
        return [message for message in self.received if message["kind"] == "letter"]

    def set_status(self, notification_id: str, status: str) -> None:
        """What Notify reports for the message from now on (received: a letter posted)."""
        self.statuses[notification_id] = status

    @property
    def api_key(self) -> str:
        return f"outcome-chain-test-{self.service_id}-{self.secret}"

    def start(self) -> FakeNotify:
        app = Flask("fake-notify")

        def authorised() -> bool:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            try:
                claims = jwt.decode(token, self.secret, algorithms=["HS256"], options={"require": ["iss", "iat"]})
            except jwt.PyJWTError:
                return False
            return scheme == "Bearer" and claims["iss"] == self.service_id and abs(time.time() - claims["iat"]) < 30

        def answer(kind: str):
            if not authorised():
                self.refused_tokens += 1
                return jsonify(status_code=403, errors=[{"error": "AuthError", "message": "Invalid token"}]), 403
            if self.behaviour.delay:
                time.sleep(self.behaviour.delay)
            if self.behaviour.times > 0:
                self.behaviour.times -= 1
                status = self.behaviour.status
                return jsonify(status_code=status, errors=[{"error": "FakeError", "message": "as configured"}]), status
            body = request.get_json()
            if kind == "letter" and not all(
                (body.get("personalisation") or {}).get(f"address_line_{n}") for n in (1, 2, 3)
            ):
                errors = [{"error": "ValidationError", "message": "Address must be at least 3 lines"}]
                return jsonify(status_code=400, errors=errors), 400
            notification_id = str(uuid.uuid4())
            self.received.append({"kind": kind, "id": notification_id, "received_ns": time.time_ns(), **body})
            self.statuses[notification_id] = "accepted" if kind == "letter" else "sending"
            return jsonify(id=notification_id, reference=body.get("reference"), content={}, template={}), 201

        def status(notification_id: str):
            if not authorised():
                return jsonify(status_code=403, errors=[{"error": "AuthError", "message": "Invalid token"}]), 403
            if notification_id not in self.statuses:
                return jsonify(status_code=404, errors=[{"error": "NoResultFound", "message": "No result found"}]), 404
            sent = next(m for m in self.received if m["id"] == notification_id)
            return jsonify(
                id=notification_id,
                reference=sent.get("reference"),
                type=sent["kind"],
                status=self.statuses[notification_id],
            )

        app.post("/v2/notifications/sms")(lambda: answer("sms"))
        app.add_url_rule("/v2/notifications/email", "email", lambda: answer("email"), methods=["POST"])
        app.add_url_rule("/v2/notifications/letter", "letter", lambda: answer("letter"), methods=["POST"])
        app.add_url_rule("/v2/notifications/<notification_id>", "status", status, methods=["GET"])
        self._server = _Server(app)
        self.base_url = self._server.base_url
        return self

    def stop(self) -> None:
        self._server.stop()


@dataclass
class FakeTwilio:
    """Twilio's Messages API: form POST with basic auth; 21211 for an invalid number."""

    account_sid: str = field(default_factory=lambda: "AC" + uuid.uuid4().hex)
    auth_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    received: list[dict] = field(default_factory=list)
    invalid_numbers: set[str] = field(default_factory=set)

    def start(self) -> FakeTwilio:
        app = Flask("fake-twilio")

        @app.post("/2010-04-01/Accounts/<sid>/Messages.json")
        def messages(sid: str):
            auth = request.authorization
            if (
                sid != self.account_sid
                or auth is None
                or (auth.username, auth.password) != (self.account_sid, self.auth_token)
            ):
                return jsonify(code=20003, message="Authenticate", status=401), 401
            form = request.form.to_dict()
            if form["To"] in self.invalid_numbers:
                message = f"The 'To' number {form['To']} is not a valid phone number."  # as Twilio words it
                return jsonify(code=21211, message=message, status=400), 400
            message_sid = "SM" + uuid.uuid4().hex
            self.received.append({"sid": message_sid, **form})
            return jsonify(sid=message_sid, status="queued"), 201

        self._server = _Server(app)
        self.base_url = self._server.base_url
        return self

    def stop(self) -> None:
        self._server.stop()


def twilio_signature(url: str, form: dict, auth_token: str) -> str:
    """X-Twilio-Signature as Twilio computes it: HMAC-SHA1 of the URL and the sorted form."""
    payload = url + "".join(f"{key}{form[key]}" for key in sorted(form))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()
