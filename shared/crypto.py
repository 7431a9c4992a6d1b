"""Sealing personal data for topics and for storage, with rotatable Fernet keys.

`DATA_ENCRYPTION_KEYS` lists Fernet keys, newest first: the first encrypts, all
decrypt, so a key can be rotated in without losing what older keys sealed.
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
        self._fernet = MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])

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
