"""The intake of one platform's queue: every lane read at once, each free slot given in turn.

Each lane is a subject with a durable consumer of its own, so JetStream stays the queue: several
replicas share a lane's consumer, and a replica that dies only delays what it held (ack wait).
A reader per lane keeps a few of its messages at hand; whenever a delivery slot frees, the
`Rotation` names the lane it goes to — the due lanes first, then the others in turn. Messages at
hand are not being delivered yet, so they are kept few and sent in-progress heartbeats: the ack
wait must never hand a message still in memory to another replica.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from crier.kit.bus.consumer import fetch_prompt
from crier.kit.log import get
from crier.kit.outage import Outage, backoff_s
from crier.publisher.domain.rotation import Rotation

log = get(__name__)

# How long a lane's reader waits on an empty lane before looking at `stop` again.
_IDLE_WAIT_S = 1.0
# The longest pause between a lane's fetches while the bus is away: about the connection's own
# reconnect pace, so the lanes read again soon after it is back.
_RETRY_MAX_S = 5.0


@dataclass
class Lane:
    subject: str
    sub: JetStreamContext.PullSubscription
    at_hand: deque[Msg] = field(default_factory=deque)
    room: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Intake:
    platform: str
    lanes: Sequence[Lane]
    rotation: Rotation
    settle: Callable[[Msg], Coroutine[Any, Any, None]]
    slots: int
    at_hand: int
    heartbeat_s: float
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._outage = Outage("publisher.intake", logger=log.bind(platform=self.platform))

    async def run(self, stop: asyncio.Event) -> None:
        """Delivers until `stop`; then finishes the deliveries in flight and hands back the rest."""
        readers = [asyncio.create_task(self._read(lane, stop)) for lane in self.lanes]
        beats = asyncio.create_task(self._heartbeats())
        watch = asyncio.create_task(self._wake_on(stop))
        deliveries: set[asyncio.Task[None]] = set()
        by_subject = {lane.subject: lane for lane in self.lanes}
        try:
            while not stop.is_set():
                # Cleared before looking, so an arrival or a finished delivery during the look wakes us.
                self._changed.clear()
                chosen = None
                if len(deliveries) < self.slots:
                    chosen = self.rotation.pick({lane.subject for lane in self.lanes if lane.at_hand})
                if chosen is None:
                    await self._changed.wait()
                    continue
                lane = by_subject[chosen]
                task = asyncio.create_task(self.settle(lane.at_hand.popleft()))
                lane.room.set()
                deliveries.add(task)
                task.add_done_callback(deliveries.discard)
                task.add_done_callback(lambda _: self._changed.set())
        finally:
            for lane in self.lanes:
                lane.room.set()
            try:
                await asyncio.gather(*readers, return_exceptions=True)
                await asyncio.gather(*deliveries, return_exceptions=True)
            except asyncio.CancelledError:
                # The service gave up waiting: what is cut short is redelivered after the ack wait,
                # as after a crash.
                for task in [*readers, *deliveries]:
                    task.cancel()
                raise
            finally:
                beats.cancel()
                watch.cancel()
                await self._hand_back()

    async def _read(self, lane: Lane, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            room = self.at_hand - len(lane.at_hand)
            if room <= 0:
                lane.room.clear()
                await lane.room.wait()
                continue
            try:
                msgs = await fetch_prompt(lane.sub, room, wait_s=_IDLE_WAIT_S)
            except (NatsTimeout, TimeoutError):
                failures = 0
                self._outage.succeeded()
                continue
            except Exception as exc:
                if stop.is_set():
                    break
                # The platform's lanes share one outage, logged when it begins and when it ends;
                # each lane backs off on its own count, so a lane is never held back by the others'.
                self._outage.failed(exc)
                failures += 1
                await asyncio.sleep(backoff_s(failures, max_s=_RETRY_MAX_S))
                continue
            failures = 0
            self._outage.succeeded()
            lane.at_hand.extend(msgs)
            self._changed.set()

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            for lane in self.lanes:
                for msg in list(lane.at_hand):
                    await _quietly(msg.in_progress())

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._changed.set()

    async def _hand_back(self) -> None:
        # Not yet started: back to the queue at once, for another replica or the next start,
        # instead of waiting out the ack wait.
        for lane in self.lanes:
            while lane.at_hand:
                await _quietly(lane.at_hand.popleft().nak())


async def _quietly(aw: Awaitable[Any]) -> None:
    # A heartbeat or a nak that fails changes nothing: the server redelivers after the ack wait.
    try:
        await aw
    except Exception:
        pass
