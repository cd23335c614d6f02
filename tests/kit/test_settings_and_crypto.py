from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from crier.kit.crypto import Keyring, KeyringError
from crier.kit.settings import CommonSettings, SettingsError, environ_for, load


@dataclass(frozen=True)
class Sample(CommonSettings):
    port: int = 8080
    ratio: float = 0.5
    enabled: bool = False
    services: tuple[str, ...] = ("a",)
    optional: str | None = None


def test_settings_read_crier_variables_with_types() -> None:
    env = {
        "CRIER_PORT": "9000",
        "CRIER_RATIO": "0.25",
        "CRIER_ENABLED": "yes",
        "CRIER_SERVICES": "x, y",
        "CRIER_NATS_URL": "nats://h:1",
        "OTHER": "ignored",
    }
    s = load(Sample, env)
    assert (s.port, s.ratio, s.enabled, s.services, s.nats_url) == (9000, 0.25, True, ("x", "y"), "nats://h:1")
    assert s.optional is None


def test_settings_round_trip_through_environment() -> None:
    s = load(Sample, {"CRIER_PORT": "1234", "CRIER_SERVICES": "p,q", "CRIER_ENABLED": "1"})
    assert load(Sample, environ_for(s)) == s


@pytest.mark.parametrize("env", [{"CRIER_PORT": "eighty"}, {"CRIER_ENABLED": "maybe"}])
def test_settings_reject_bad_values_with_the_variable_name(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="CRIER_"):
        load(Sample, env)


@given(st.text())
def test_encrypt_then_decrypt_is_identity(plaintext: str) -> None:
    ring = Keyring(Keyring.generate_spec("k1"))
    token = ring.encrypt(plaintext)
    assert token.startswith("k1:")
    assert plaintext == ring.decrypt(token)


def test_rotation_keeps_old_ciphertexts_readable() -> None:
    old = Keyring.generate_spec("old")
    token = Keyring(old).encrypt("refresh-token")
    rotated = Keyring(f"{Keyring.generate_spec('new')},{old}")
    assert rotated.decrypt(token) == "refresh-token"
    assert rotated.encrypt("x").startswith("new:")


def test_ciphertext_hides_plaintext_and_detects_tampering() -> None:
    ring = Keyring(Keyring.generate_spec())
    token = ring.encrypt("super-secret-value")
    assert "super-secret" not in token
    kid, _, body = token.partition(":")
    tampered = f"{kid}:{body[:-4]}AAAA"
    with pytest.raises(InvalidTag):
        ring.decrypt(tampered)


@pytest.mark.parametrize("spec", ["k1:notbase64!!", "k1:AAAA", ":" + "A" * 44])
def test_bad_keys_are_refused(spec: str) -> None:
    with pytest.raises(KeyringError):
        Keyring(spec)
