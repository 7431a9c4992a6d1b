"""Sealing personal data for topics and for storage, with rotatable Fernet keys.

`DATA_ENCRYPTION_KEYS` lists Fernet keys, newest first: the first (the primary)
encrypts, all decrypt, so a key can be rotated in without losing what older keys sealed.
`reseal` moves a sealed value onto the primary key, so an old key can then be dropped
(`outcomes reencrypt`, shared/infra/rekey.py).

By convention a field named `sealed_*` in an event or a stored document holds a token
(`sealed_contact`, `sealed_text`, `sealed_original`, ...): that is how `reseal` finds
tokens nested inside other sealed values.

A sealed value cannot be searched, so a value that must be found again (a case system's
`external_ref`) also gets a lookup key: an HMAC-SHA256 of the value under a secret derived
from a data key. `lookup_keys` gives it under every configured key, primary first: query
with all of them (IN) and a value stored under an older key is still found; `outcomes
reencrypt` rewrites stored ones onto the primary key (shared/infra/rekey.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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
        raw = [k.encode() if isinstance(k, str) else k for k in keys]
        fernets = [Fernet(k) for k in raw]
        self._primary = fernets[0]
        self._fernet = MultiFernet(fernets)
        # One lookup secret per data key, derived so it is never the key itself.
        self._lookup_secrets = [
            hmac.new(base64.urlsafe_b64decode(k), b"outcome-chain lookup", hashlib.sha256).digest() for k in raw
        ]

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def lookup_keys(self, purpose: str, value: str) -> list[str]:
        """`value`'s lookup key (64 hex digits) under each data key, the primary's first;
        `purpose` keeps the keys of different kinds of value apart."""
        message = f"{purpose}\x1f{value}".encode()
        return [hmac.new(secret, message, hashlib.sha256).hexdigest() for secret in self._lookup_secrets]

    def lookup_key(self, purpose: str, value: str | None) -> str | None:
        """`value`'s lookup key under the primary data key (None for None): what is stored."""
        return None if value is None else self.lookup_keys(purpose, value)[0]

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
