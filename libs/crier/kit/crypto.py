"""AES-GCM encryption of secrets at rest, with key ids so keys can rotate.

Ciphertext format: ``<kid>:<base64(nonce || ciphertext+tag)>``. The first configured key
encrypts; every configured key can decrypt, so an old key stays listed until data is re-encrypted.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class KeyringError(ValueError):
    pass


class Keyring:
    def __init__(self, spec: str) -> None:
        self._keys: dict[str, AESGCM] = {}
        self._active: str | None = None
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            kid, _, b64 = part.partition(":")
            try:
                raw = base64.b64decode(b64, validate=True)
            except ValueError:
                raise KeyringError(f"encryption key {kid!r} is not valid base64") from None
            if len(raw) != 32 or not kid:
                raise KeyringError(f"encryption key {kid!r} must be 32 bytes with a non-empty id")
            self._keys[kid] = AESGCM(raw)
            self._active = self._active or kid

    @staticmethod
    def generate_spec(kid: str = "k1") -> str:
        return f"{kid}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"

    def encrypt(self, plaintext: str, associated_data: bytes = b"") -> str:
        if self._active is None:
            raise KeyringError("no encryption key configured (CRIER_ENCRYPTION_KEYS)")
        nonce = os.urandom(12)
        sealed = self._keys[self._active].encrypt(nonce, plaintext.encode(), associated_data)
        return f"{self._active}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, associated_data: bytes = b"") -> str:
        kid, _, b64 = token.partition(":")
        key = self._keys.get(kid)
        if key is None:
            raise KeyringError(f"unknown encryption key id {kid!r}")
        blob = base64.b64decode(b64)
        return key.decrypt(blob[:12], blob[12:], associated_data).decode()
