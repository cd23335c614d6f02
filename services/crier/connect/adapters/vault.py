"""Sealing secrets for the connect schema: AES-GCM through the shared keyring, each ciphertext bound
to what it belongs to (associated data), so a value moved to another row fails to decrypt."""

from __future__ import annotations

from crier.kit.crypto import Keyring


class Vault:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def seal(self, plaintext: str | None, context: str) -> str | None:
        return None if plaintext is None else self._keyring.encrypt(plaintext, context.encode())

    def open(self, sealed: str | None, context: str) -> str | None:
        return None if sealed is None else self._keyring.decrypt(sealed, context.encode())
