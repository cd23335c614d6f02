"""The load: posts sent at a bounded rate by a few clients that behave as a careful customer does.

Each post goes to several of its organization's accounts (a third of them scheduled a few
seconds ahead) and carries a marker unique to it, which is how the platform's copy is found again. A
request that fails on the way (refused connection, cut-off answer, timeout) or is answered 5xx,
408, 409, 425 or 429 is sent again with the same Idempotency-Key and body, with backoff, for up to a
minute; a post is accepted once an answer is 201 or 202, or 200 (the replay of a create whose first
answer was lost). A scheduled post whose time passed while its request was being retried is given a
new time, and so a new key, as a customer would.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

RETRY_FOR_S = 60
RETRIED_STATUSES = {408, 409, 425, 429}


@dataclass(frozen=True)
class Account:
    id: str
    platform: str


@dataclass(frozen=True)
class Org:
    key: str
    accounts: list[Account]


@dataclass(frozen=True)
class Accepted:
    marker: str
    post_id: str
    org: Org
    scheduled: bool
    targets: list[dict[str, Any]]
    step: int
    replayed: bool


class Load:
    def __init__(self, api_url: str, orgs: list[Org], *, rate: float, clients: int, lead_s: float, run_id: str) -> None:
        self.api_url, self.orgs, self.rate, self.run_id = api_url, orgs, rate, run_id
        self.lead_s = lead_s  # how far ahead a scheduled post is due, plus 0 to 4 s
        # The step of the run now; what the clients accept or suffer is counted against it.
        self.step = 0
        self.accepted: list[Accepted] = []
        self.errors: dict[int, Counter[str]] = defaultdict(Counter)
        self.abandoned = 0
        self._lock = threading.Lock()
        self._next_number, self._next_at = 0, time.monotonic()
        self._stopping = threading.Event()
        self._clients = [threading.Thread(target=self._client, name=f"load-{i}") for i in range(clients)]

    def start(self) -> None:
        for client in self._clients:
            client.start()

    def stop(self) -> None:
        """No new post; the ones under way are retried to their end."""
        self._stopping.set()
        for client in self._clients:
            client.join(RETRY_FOR_S + 30)

    def accepted_in(self, step: int) -> int:
        return sum(1 for a in self.accepted if a.step == step)

    def _ticket(self) -> int | None:
        with self._lock:
            number, at = self._next_number, self._next_at
            self._next_number, self._next_at = number + 1, max(at, time.monotonic()) + 1 / self.rate
        # Pacing the load, not waiting for the system: the rate is the point.
        time.sleep(max(0.0, at - time.monotonic()))
        return None if self._stopping.is_set() else number

    def _client(self) -> None:
        with httpx.Client(base_url=f"{self.api_url}/api/v1", timeout=10) as http:
            while (number := self._ticket()) is not None:
                self._send(http, number)

    def _send(self, http: httpx.Client, number: int) -> None:
        org = self.orgs[number % len(self.orgs)]
        count = 2 + (number // 3) % (len(org.accounts) - 1)
        accounts = [org.accounts[(number + i) % len(org.accounts)] for i in range(count)]
        marker = f"[{self.run_id}-{number:05d}]"
        body: dict[str, Any] = {"content": f"{marker} chaos post {number}", "accounts": [a.id for a in accounts]}
        due = self._due(number) if number % 3 == 0 else None
        if due is not None:
            body["scheduled_at"] = due.isoformat().replace("+00:00", "Z")
        key = f"chaos-{self.run_id}-{number}"
        deadline, backoff = time.monotonic() + RETRY_FOR_S, 0.2
        while True:
            try:
                answer = http.post(
                    "/posts", json=body, headers={"Authorization": f"Bearer {org.key}", "Idempotency-Key": key}
                )
            except httpx.TransportError as exc:
                self._count(type(exc).__name__)
            else:
                if answer.status_code in (200, 201, 202):
                    post = answer.json()
                    scheduled, replayed = due is not None, answer.status_code == 200
                    with self._lock:
                        self.accepted.append(
                            Accepted(marker, post["id"], org, scheduled, post["targets"], self.step, replayed)
                        )
                    return
                if answer.status_code == 422 and due is not None and datetime.now(UTC) >= due:
                    # No earlier try got in (one that had would be replayed, whatever the time): the
                    # customer picks a new time, which is a new body, so under a new key.
                    self._count("422 due time passed while retrying")
                    due, key = self._due(number), f"{key}-later"
                    body["scheduled_at"] = due.isoformat().replace("+00:00", "Z")
                    continue
                self._count(_described(answer))
                if answer.status_code < 500 and answer.status_code not in RETRIED_STATUSES:
                    return
            if time.monotonic() > deadline:
                self._count("abandoned after a minute")
                return
            time.sleep(backoff)  # a client's backoff between tries
            backoff = min(backoff * 2, 2.0)

    def _due(self, number: int) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.lead_s + number % 5)

    def _count(self, kind: str) -> None:
        with self._lock:
            self.errors[self.step][kind] += 1
            self.abandoned += kind.startswith("abandoned")


def _described(answer: httpx.Response) -> str:
    try:
        code = answer.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = ""
    return f"{answer.status_code} {code}".strip()
