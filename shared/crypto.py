"""Sealing personal data for topics and for storage, with rotatable Fernet keys.

`DATA_ENCRYPTION_KEYS` lists Fernet keys, newest first: the first (the primary)
encrypts, all decrypt, so a key can be rotated in without losing what older keys sealed.
`reseal` moves a sealed value onto the primary key, so an old key can then be dropped
(`outcomes reencrypt`, shared/rekey.py).

By convention a field named `sealed_*` in an event or a stored document holds a token
(`sealed_contact`, `sealed_text`, `sealed_original`, ...): that is how `reseal` finds
tokens nested inside other sealed values.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class MissingEncryptionKey(RuntimeError):
    pass


class UnreadableCiphertext(Exception):
    pass


class Sealer:
    def __init__(self, keys: tuple[str, ...] | list[str]):
        if not keys:
            raise MissingEncryptionKey(
                "DATA_ENCRYPTION_KEYS is not set: generate one with "
                "`outcomes keys generate-data-key` and set it in the environment"
            )
        fernets = [Fernet(k.encode() if isinstance(k, str) else k) for k in keys]
        self._primary = fernets[0]
        self._fernet = MultiFernet(fernets)

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def seal_bytes(self, plaintext: bytes) -> str:
        return self._fernet.encrypt(plaintext).decode()

    def open_bytes(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode())
        except (InvalidToken, ValueError):
            raise UnreadableCiphertext("no configured key opens this value") from None

    def seal(self, value: Any) -> str:
        return self.seal_bytes(json.dumps(value, separators=(",", ":")).encode())

    def open(self, token: str) -> Any:
        return json.loads(self.open_bytes(token))

    def seal_optional(self, value: str | None) -> str | None:
        return None if value is None else self.seal_bytes(value.encode())

    def open_optional(self, token: str | None) -> str | None:
        return None if token is None else self.open_bytes(token).decode()

    def reseal(self, token: str) -> str | None:
        """`token` under the primary key, with any `sealed_*` token inside it resealed too;
        None if it was all on the primary key already. UnreadableCiphertext if no key opens it."""
        try:
            plaintext, on_primary = self._primary.decrypt(token.encode()), True
        except InvalidToken:
            plaintext, on_primary = self.open_bytes(token), False
        inner = self._reseal_inside(plaintext)
        if inner is not None:
            return self.seal_bytes(inner)
        return None if on_primary else self._fernet.rotate(token.encode()).decode()

    def reseal_fields(self, document: Any) -> bool:
        """Reseal, in place, every `sealed_*` string anywhere in a JSON document; True if any changed."""
        changed = False
        if isinstance(document, dict):
            for key, value in document.items():
                if key.startswith("sealed_") and isinstance(value, str):
                    resealed = self.reseal(value)
                    if resealed is not None:
                        document[key], changed = resealed, True
                elif self.reseal_fields(value):
                    changed = True
        elif isinstance(document, list):
            for item in document:
                changed = self.reseal_fields(item) or changed
        return changed

    def _reseal_inside(self, plaintext: bytes) -> bytes | None:
        """A sealed event or document (a dead letter's original) with its own tokens resealed;
        None when it holds none to change, so the original bytes are kept exactly."""
        if b'"sealed_' not in plaintext:
            return None
        try:
            document = json.loads(plaintext)
        except ValueError:
            return None
        if not self.reseal_fields(document):
            return None
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
