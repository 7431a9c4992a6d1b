"""Sealing personal data with rotatable keys."""

from __future__ import annotations

import json

import pytest

from shared.infra.crypto import MissingEncryptionKey, Sealer, UnreadableCiphertext
from tests.support import factories


@pytest.fixture
def contact() -> dict:
    participant = factories.participant_payload()
    return {key: participant[key] for key in ("name", "email", "phone")}


class TestSealing:
    def test_a_sealed_value_opens_to_the_original(self, contact):
        sealer = Sealer([Sealer.generate_key()])

        assert sealer.open(sealer.seal(contact)) == contact

    def test_the_sealed_form_does_not_show_the_value(self, contact):
        sealer = Sealer([Sealer.generate_key()])

        sealed = sealer.seal(contact)

        for value in contact.values():
            assert value not in sealed

    def test_an_absent_value_stays_absent(self, contact):
        sealer = Sealer([Sealer.generate_key()])

        assert sealer.seal_optional(None) is None
        assert sealer.open_optional(None) is None
        assert sealer.open_optional(sealer.seal_optional(contact["email"])) == contact["email"]


class TestRotation:
    def test_values_sealed_with_the_old_key_open_after_a_new_key_is_prepended(self, contact):
        old_key, new_key = Sealer.generate_key(), Sealer.generate_key()
        sealed_before = Sealer([old_key]).seal(contact)

        assert Sealer([new_key, old_key]).open(sealed_before) == contact

    def test_new_values_are_sealed_with_the_newest_key(self, contact):
        old_key, new_key = Sealer.generate_key(), Sealer.generate_key()

        sealed_after = Sealer([new_key, old_key]).seal(contact)

        assert Sealer([new_key]).open(sealed_after) == contact
        with pytest.raises(UnreadableCiphertext):
            Sealer([old_key]).open(sealed_after)


class TestRefusals:
    def test_a_value_sealed_by_another_deployment_is_unreadable(self, contact):
        foreign = Sealer([Sealer.generate_key()]).seal(contact)

        with pytest.raises(UnreadableCiphertext):
            Sealer([Sealer.generate_key()]).open(foreign)

    def test_a_value_that_was_never_sealed_is_unreadable(self, contact):
        with pytest.raises(UnreadableCiphertext) as caught:
            Sealer([Sealer.generate_key()]).open_optional(contact["email"])

        assert contact["email"] not in str(caught.value)

    def test_no_keys_says_which_setting_to_set_and_how(self):
        with pytest.raises(MissingEncryptionKey) as caught:
            Sealer(())

        assert "DATA_ENCRYPTION_KEYS" in str(caught.value)
        assert "outcomes keys generate-data-key" in str(caught.value)


class TestResealing:
    def test_a_value_on_an_old_key_moves_to_the_new_one_and_a_second_pass_leaves_it(self, contact):
        old_key, new_key = Sealer.generate_key(), Sealer.generate_key()
        both = Sealer([new_key, old_key])

        resealed = both.reseal(Sealer([old_key]).seal(contact))

        assert Sealer([new_key]).open(resealed) == contact
        assert both.reseal(resealed) is None

    def test_tokens_inside_a_sealed_event_move_too(self, contact):
        old_key, new_key = Sealer.generate_key(), Sealer.generate_key()
        old = Sealer([old_key])
        event = {"type": "participant.registered", "data": {"sealed_contact": old.seal(contact)}}
        kept_whole = Sealer([new_key]).seal_bytes(json.dumps(event).encode())  # e.g. a dead letter's original

        resealed = Sealer([new_key, old_key]).reseal(kept_whole)

        inner = json.loads(Sealer([new_key]).open_bytes(resealed))["data"]["sealed_contact"]
        assert Sealer([new_key]).open(inner) == contact
