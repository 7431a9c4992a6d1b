"""Talking to a running system (tests/support/stack.py) as a council's people and systems do:
staff and the board over HTTP with their keys, the case system on the submissions topic,
GOV.UK Notify with its delivery receipts."""

from __future__ import annotations

import datetime as dt
import json

import requests
from kafka import KafkaProducer

from shared.rules.constants import SUBMISSIONS_TOPIC
from tests.support.stack import Stack


class Council:
    def __init__(self, stack: Stack):
        self.stack = stack

    def call(self, method: str, service: str, path: str, role: str, expect: int = 200, **kwargs) -> dict:
        response = requests.request(
            method, self.stack.urls[service] + path, headers=self.stack.headers(role), timeout=15, **kwargs
        )
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def publish_submissions(self, events: list[tuple[str, dict]]) -> None:
        """The case system, as a council integrator writes it: kafka-python, structured CloudEvents."""
        producer = KafkaProducer(bootstrap_servers=self.stack.kafka_bootstrap, acks="all")
        for key, event in events:
            producer.send(
                SUBMISSIONS_TOPIC,
                key=key.encode(),
                value=json.dumps(event).encode(),
                headers=[("content-type", b"application/cloudevents+json")],
            )
        producer.flush(15)
        producer.close()

    def chain(self, contribution_id: str) -> dict:
        return self.call("GET", "decisions", f"/v1/contributions/{contribution_id}/outcome-chain", "board")

    def notifications(self) -> list[dict]:
        return self.call("GET", "notifier", "/v1/notifications", "staff", params={"per_page": 200})["items"]

    def notify_receipt(self, sms: dict) -> None:
        """What GOV.UK Notify posts when a text message reaches the phone."""
        now = dt.datetime.now(dt.UTC).isoformat()
        response = requests.post(
            self.stack.urls["notifier"] + "/v1/callbacks/notify",
            headers={"Authorization": f"Bearer {self.stack.notify_callback_token}"},
            json={
                "id": sms["id"],
                "reference": sms["reference"],
                "to": sms["phone_number"],
                "status": "delivered",
                "created_at": now,
                "completed_at": now,
                "sent_at": now,
                "notification_type": "sms",
                "template_id": sms["template_id"],
                "template_version": 1,
            },
            timeout=15,
        )
        assert response.status_code == 200, response.text
