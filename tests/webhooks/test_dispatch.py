"""The dispatch loop's attempt step against fakes: no database, no network."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crier.kit.crypto import Keyring
from crier.webhooks.adapters.guard import Policy
from crier.webhooks.domain.delivery import RETRY_SCHEDULE_S, Claim, Outcome
from crier.webhooks.handlers.context import Context
from crier.webhooks.handlers.dispatch import attempt_delivery
from crier.webhooks.settings import WebhooksSettings


@dataclass
class FakeSender:
    answer: Outcome
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(
        self, endpoint_id: str, url: str, message_id: str, body: bytes, secrets: list[str], *, attempt: int = 1
    ) -> Outcome:
        self.sent.append({"endpoint_id": endpoint_id, "url": url, "message_id": message_id, "secrets": secrets})
        return self.answer


def _context(sender: FakeSender, keyring: Keyring, scale: float = 1.0) -> Context:
    settings = WebhooksSettings(webhooks_retry_scale=scale)
    return Context(
        uow=None,  # type: ignore[arg-type]  # the attempt step writes nothing
        settings=settings,
        keyring=keyring,
        policy=Policy(allow_http=False),
        sender=sender,  # type: ignore[arg-type]
        wake=lambda: None,
    )


def _claim(keyring: Keyring, attempts_made: int, *secrets: str) -> Claim:
    return Claim(
        id="dlv_1",
        endpoint_id="wh_1",
        message_id="msg_1",
        attempts_made=attempts_made,
        lease=datetime.now(UTC),
        body=b"{}",
        url="https://example.com/hook",
        secret_ciphertexts=tuple(keyring.encrypt(s, b"wh_1") for s in secrets),
    )


async def test_an_attempt_signs_with_every_live_secret_and_schedules_the_retry() -> None:
    keyring = Keyring(Keyring.generate_spec())
    sender = FakeSender(Outcome(http_status=503, error="http_503"))
    ctx = _context(sender, keyring, scale=0.5)
    settlement = await attempt_delivery(ctx, _claim(keyring, 1, "whsec_new", "whsec_old"))
    assert sender.sent == [
        {
            "endpoint_id": "wh_1",
            "url": "https://example.com/hook",
            "message_id": "msg_1",
            "secrets": ["whsec_new", "whsec_old"],
        }
    ]
    assert settlement.step.status == "retrying" and settlement.claim.id == "dlv_1"
    # The second attempt failed: the third waits the second scheduled delay, ±20 %, scaled.
    assert settlement.step.delay_s is not None
    assert RETRY_SCHEDULE_S[1] * 0.8 * 0.5 <= settlement.step.delay_s <= RETRY_SCHEDULE_S[1] * 1.2 * 0.5


async def test_a_success_or_a_permanent_refusal_ends_the_delivery() -> None:
    keyring = Keyring(Keyring.generate_spec())
    delivered = await attempt_delivery(_context(FakeSender(Outcome(200, None)), keyring), _claim(keyring, 0, "whsec_a"))
    refused = await attempt_delivery(
        _context(FakeSender(Outcome(410, "http_410")), keyring), _claim(keyring, 0, "whsec_a")
    )
    assert (delivered.step.status, delivered.step.delay_s) == ("delivered", None)
    assert (refused.step.status, refused.step.delay_s) == ("failed", None)
