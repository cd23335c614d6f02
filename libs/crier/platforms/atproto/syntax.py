"""AT Protocol identifiers as the specification writes them (atproto.com/specs: handle, did,
at-uri, tid, language), checked against the interop test files in
`../shared/platform-contracts/bluesky/interop-test-files/syntax/`."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

# A DNS name of at least two labels, each 1-63 of [a-zA-Z0-9-] not starting or ending with a
# hyphen, the last not starting with a digit; 253 characters at most.
_HANDLE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
# BCP 47 well-formedness (RFC 5646 §2.1), with the irregular grandfathered tags.
_GRANDFATHERED = (
    "en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|i-pwn|i-tao|i-tay|i-tsu|"
    "sgn-BE-FR|sgn-BE-NL|sgn-CH-DE"
)
_LANGUAGE = re.compile(
    rf"^(?:{_GRANDFATHERED}"
    r"|(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})"  # language, extlangs
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"  # variants
    r"(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*"  # extensions
    r"(?:-x(?:-[a-z0-9]{1,8})+)?"  # private use
    r"|x(?:-[a-z0-9]{1,8})+)$",
    re.IGNORECASE,
)
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def is_handle(value: str) -> bool:
    return len(value) <= 253 and bool(_HANDLE.match(value))


def is_did(value: str) -> bool:
    return len(value) <= 2048 and bool(_DID.match(value))


def is_language(value: str) -> bool:
    return bool(_LANGUAGE.match(value))


@dataclass(frozen=True)
class AtUri:
    """`at://<repo>/<collection>/<rkey>`: where a record lives."""

    repo: str
    collection: str
    rkey: str

    def __str__(self) -> str:
        return f"at://{self.repo}/{self.collection}/{self.rkey}"


def parse_at_uri(uri: str) -> AtUri | None:
    if not uri.startswith("at://"):
        return None
    parts = uri[len("at://") :].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return AtUri(*parts)


def tid(micros: int, clock_id: int | None = None) -> str:
    """A timestamp identifier: 53 bits of microseconds since the epoch and 10 bits of clock id,
    in base32-sortable, 13 characters (what a PDS names a new record with)."""
    value = (micros << 10) | (secrets.randbelow(1024) if clock_id is None else clock_id)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
