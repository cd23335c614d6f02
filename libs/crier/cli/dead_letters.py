"""`crier dead-letters list|redrive`: the targets the publisher gave up on, and sending them out again.

The publisher keeps a dead target's command on the DEAD stream (`dead.publish.<platform>`, the error
in its headers), one copy per redrive generation. A target counts as dead while the gateway's post
says so: a copy whose target was redriven since, and published or still on its way, is history.
Redriving goes through the gateway's own use case, the one behind `POST /posts/{id}/targets/{id}/retry`,
so the post, the scheduler and the publisher all see it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import decode_header
from typing import Any

import msgspec
from nats.js.errors import NotFoundError

from crier.contracts.commands import PublishTarget, dead_subject
from crier.kit.bus import Bus, streams
from crier.kit.settings import CommonSettings
from crier.kit.sync import run_sync

_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
COLUMNS = ("dead_at", "org_id", "mode", "post_id", "target_id", "platform", "redrive", "error_code", "error_message")


@dataclass(frozen=True)
class DeadLetter:
    dead_at: datetime
    org_id: str
    mode: str
    post_id: str
    target_id: str
    platform: str
    redrive: int
    error_code: str
    error_message: str

    def row(self) -> str:
        message = " ".join(self.error_message.split())
        values = (self.dead_at.isoformat(), *(str(getattr(self, c)) for c in COLUMNS[1:-1]), message)
        return "\t".join(values)


def since_moment(raw: str, now: datetime) -> datetime:
    """`--since`: a duration back from now (`90s`, `15m`, `6h`, `7d`) or an ISO 8601 moment (UTC
    when it names no offset)."""
    duration = _DURATION.fullmatch(raw.strip())
    if duration:
        return now - timedelta(seconds=int(duration.group(1)) * _UNIT_S[duration.group(2)])
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(f"--since takes a duration (90s, 15m, 6h, 7d) or an ISO 8601 time, not {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dead_letters(settings: CommonSettings, *, platform: str | None, since: datetime | None) -> list[DeadLetter]:
    """The targets that are dead now, newest death first, each with its latest copy's details."""
    from crier.gateway.entrypoints import admin

    copies = run_sync(lambda: _read_copies(settings, platform))
    latest: dict[str, DeadLetter] = {}
    for copy in copies:
        if since is None or copy.dead_at >= since:
            latest[copy.target_id] = copy  # stream order: a later copy is a later death
    if not latest:
        return []
    states = admin.target_states(settings.database_url, list(latest))
    still_dead = [
        _with_error_from(c, states[c.target_id])
        for c in latest.values()
        if c.target_id in states and states[c.target_id]["status"] == "dead"
    ]
    return sorted(still_dead, key=lambda c: c.dead_at, reverse=True)


def redrive(settings: CommonSettings, letters: list[DeadLetter]) -> Iterator[tuple[DeadLetter, str]]:
    """Each target sent out again, with what happened: `redriven r<n>`, or why it was skipped."""
    from crier.gateway.entrypoints import admin
    from crier.kit.errors import Failure

    for letter in letters:
        try:
            done = admin.retry_target(
                settings.database_url,
                org_id=letter.org_id,
                mode=letter.mode,
                post_id=letter.post_id,
                target_id=letter.target_id,
            )
        except Failure as refused:
            yield letter, f"skipped: {refused.code}"
        else:
            yield letter, f"redriven r{done['redrive']}"


async def _read_copies(settings: CommonSettings, platform: str | None) -> list[DeadLetter]:
    bus = await Bus.connect(settings.nats_url, namespace=settings.nats_namespace, name="crier-cli")
    try:
        return [c async for c in _copies(bus, platform)]
    finally:
        await bus.close()


async def _copies(bus: Bus, platform: str | None) -> AsyncIterator[DeadLetter]:
    stream = bus.stream(streams.DEAD)
    subject = bus.subject(dead_subject(platform or "*"))
    seq = 1
    while True:
        try:
            # The next copy at or after `seq` on the subject: the stream's other dead letters
            # (messages no consumer could handle) are skipped on the server.
            raw = await bus.js.get_msg(stream, seq=seq, subject=subject, next=True)
        except NotFoundError:
            return
        seq = (raw.seq or seq) + 1
        try:
            cmd = msgspec.json.decode(raw.data or b"", type=PublishTarget)
        except msgspec.DecodeError:
            continue
        headers = raw.headers or {}
        yield DeadLetter(
            dead_at=raw.time or datetime.now(UTC),
            org_id=cmd.org_id,
            mode=cmd.mode,
            post_id=cmd.post_id,
            target_id=cmd.target_id,
            platform=cmd.platform,
            redrive=cmd.redrive,
            error_code=_text(headers.get("Crier-Error-Code", "")),
            error_message=_text(headers.get("Crier-Error", "")),
        )


def _text(value: Any) -> str:
    """A header as sent: nats-py parses headers as mail headers, which hand UTF-8 back as raw bytes."""
    if isinstance(value, str):
        return value
    parts = [p if isinstance(p, bytes) else p.encode() for p, _ in decode_header(value)]
    return b"".join(parts).decode("utf-8", "replace")


def _with_error_from(letter: DeadLetter, state: dict[str, object]) -> DeadLetter:
    """Copies made before the publisher wrote the error into their headers take it from the post."""
    if letter.error_code:
        return letter
    return dataclasses.replace(
        letter, error_code=str(state["error_code"] or ""), error_message=str(state["error_message"] or "")
    )
