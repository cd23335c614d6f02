"""The intake of one platform's queue: every lane read at once, each free slot given in turn.

Each lane is a subject with a durable consumer of its own, so JetStream stays the queue: several
replicas share a lane's consumer, and a replica that dies only delays what it held (ack wait).
A reader per lane keeps a few of its messages at hand; whenever a delivery slot frees, the
`Rotation` names the lane it goes to — the due lanes first, then the others in turn. Messages at
hand are not being delivered yet, so they are kept few and sent in-progress heartbeats: the ack
wait must never hand a message still in memory to another replica.

Slots with nothing at hand for them are filled at once: a reader asks its lane for its few plus
every slot no message is held or asked for, so a burst fills hundreds of slots in one fetch instead
of a few per round trip. Once the slots are full, each lane is back to keeping its few.
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

from crier.kit.log import get
from crier.kit.outage import Outage, backoff_s
from crier.publisher.domain.rotation import Rotation

log = get(__name__)

# How long one fetch on an empty lane waits on the server. A message that comes meanwhile is
# handed over at once (a long poll), so this costs no latency; it sets how often an idle lane asks
# again: a `--platform all` publisher has some 190 lanes, and at one fetch a second each its idle
# cost was a few per cent of a core. Readers are cancelled at shutdown rather than waited for.
_IDLE_WAIT_S = 5.0
# The longest pause between a lane's fetches while the bus is away: about the connection's own
# reconnect pace, so the lanes read again soon after it is back.
_RETRY_MAX_S = 5.0
# How long a fetch that has its first message waits for the server to top the batch up.
_TOP_UP_S = 0.005


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
    # Deliveries under way, and messages asked of the lanes and not yet at hand.
    _busy: int = 0
    _asked: int = 0

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
                if self._busy < self.slots:
                    chosen = self.rotation.pick({lane.subject for lane in self.lanes if lane.at_hand})
                if chosen is None:
                    await self._changed.wait()
                    continue
                lane = by_subject[chosen]
                task = asyncio.create_task(self.settle(lane.at_hand.popleft()))
                self._busy += 1
                lane.room.set()
                deliveries.add(task)
                task.add_done_callback(deliveries.discard)
                task.add_done_callback(self._freed)
        finally:
            # A reader is in a fetch or waiting for room: neither holds a message of ours (what a
            # fetch cut short had asked for comes back after the ack wait, as after a crash).
            for task in readers:
                task.cancel()
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

    def _freed(self, _: object) -> None:
        self._busy -= 1
        self._changed.set()
        # A slot nothing is held for: every lane may ask for it.
        if self._spare() > 0:
            for lane in self.lanes:
                lane.room.set()

    def _spare(self) -> int:
        """Slots free with no message at hand or asked for to fill them."""
        held = sum(len(lane.at_hand) for lane in self.lanes)
        return self.slots - self._busy - held - self._asked

    async def _read(self, lane: Lane, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            if self.at_hand - len(lane.at_hand) <= 0 and self._spare() <= 0:
                lane.room.clear()
                await lane.room.wait()
                continue
            try:
                msgs = await self._fetch(lane)
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

    async def _fetch(self, lane: Lane) -> list[Msg]:
        """As `fetch_prompt`: one message as soon as there is one, then whatever the lane has right
        now, up to the lane's few plus the spare slots. The spare is counted only once the first
        message is in, so an idle lane waiting on the server never holds other lanes' slots."""
        msgs: list[Msg] = await lane.sub.fetch(1, timeout=_IDLE_WAIT_S)
        room = max(0, self.at_hand - len(lane.at_hand) - 1) + max(0, self._spare() - 1)
        if room <= 0:
            return msgs
        self._asked += room
        try:
            msgs += await lane.sub.fetch(room, timeout=_TOP_UP_S)
        except (NatsTimeout, TimeoutError):
            pass  # the message already in hand must not be dropped
        finally:
            self._asked -= room
        return msgs

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
