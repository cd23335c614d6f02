"""DPoP (RFC 9449): proof that whoever presents a token holds the private key it was bound to.

atproto OAuth binds every token to an ES256 key the client made for that account: each request to
the authorization server or the PDS carries a fresh proof, a JWT signed with the key, naming the
method and URL (and, to the PDS, the token's hash `ath`). Servers hand out nonces (`DPoP-Nonce`)
and refuse a proof without the current one (`use_dpop_nonce`): the client retries once with it.

Keys travel as JWK JSON strings, private part included: they are secrets, sealed like tokens.
ES256 with the `cryptography` package; `verify` is for the simulator, which plays the servers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

_CURVE_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(value: int) -> str:
    return _b64(value.to_bytes(_CURVE_BYTES, "big"))


def new_key() -> str:
    """A fresh ES256 (P-256) key as a private JWK."""
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.private_numbers()
    public = numbers.public_numbers
    jwk = {"kty": "EC", "crv": "P-256", "x": _int(public.x), "y": _int(public.y), "d": _int(numbers.private_value)}
    return json.dumps(jwk, separators=(",", ":"))


def public_jwk(jwk: dict[str, Any]) -> dict[str, str]:
    return {"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"]}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: what a token bound to the key names (`cnf.jkt`)."""
    canonical = json.dumps(public_jwk(jwk), separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def token_hash(access_token: str) -> str:
    return _b64(hashlib.sha256(access_token.encode()).digest())


def _private(jwk: dict[str, Any]) -> ec.EllipticCurvePrivateKey:
    public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(_unb64(jwk["x"]), "big"), int.from_bytes(_unb64(jwk["y"]), "big"), ec.SECP256R1()
    )
    return ec.EllipticCurvePrivateNumbers(int.from_bytes(_unb64(jwk["d"]), "big"), public).private_key()


def sign(header: dict[str, Any], claims: dict[str, Any], jwk: dict[str, Any]) -> str:
    """A compact JWS, ES256 (the signature as r‖s, not DER)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    der = _private(jwk).sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{_b64(r.to_bytes(_CURVE_BYTES, 'big') + s.to_bytes(_CURVE_BYTES, 'big'))}"


def htu(url: str) -> str:
    """The URL a proof names: without query and fragment."""
    return url.split("#", 1)[0].split("?", 1)[0]


def proof(key: str, method: str, url: str, *, nonce: str | None = None, access_token: str | None = None) -> str:
    jwk = json.loads(key)
    claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": method.upper(), "htu": htu(url)}
    claims["iat"] = int(time.time())
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        claims["ath"] = token_hash(access_token)
    return sign({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(jwk)}, claims, jwk)


class InvalidProof(ValueError):
    pass


def verify(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a DPoP proof whose signature checks out with the key it carries."""
    try:
        head, body, signature = token.split(".")
        header, claims = json.loads(_unb64(head)), json.loads(_unb64(body))
        raw = _unb64(signature)
        jwk = header["jwk"]
        key = ec.EllipticCurvePublicNumbers(
            int.from_bytes(_unb64(jwk["x"]), "big"), int.from_bytes(_unb64(jwk["y"]), "big"), ec.SECP256R1()
        ).public_key()
        der = encode_dss_signature(int.from_bytes(raw[:_CURVE_BYTES], "big"), int.from_bytes(raw[_CURVE_BYTES:], "big"))
        key.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    except (ValueError, KeyError, TypeError, InvalidSignature) as exc:
        raise InvalidProof(f"invalid DPoP proof: {type(exc).__name__}") from None
    if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256" or "d" in jwk:
        raise InvalidProof("invalid DPoP proof header")
    return header, claims
