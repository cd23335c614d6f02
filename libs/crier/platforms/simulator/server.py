"""uvicorn serving the simulator, telling when it listens (a thread waits on `ready`; a parent
process reads the line printed by `serve`)."""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from crier.platforms.simulator.app import create_app
from crier.platforms.simulator.world import World

READY_LINE = "platform simulator listening on"


class SimulatorServer(uvicorn.Server):
    def __init__(self, world: World | None = None, *, announce: bool = False) -> None:
        self.world = world or World()
        super().__init__(uvicorn.Config(create_app(self.world), log_level="warning", timeout_graceful_shutdown=2))
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)
        self.ready.set()
        if self.announce and sockets:
            host, port = sockets[0].getsockname()[:2]
            print(f"{READY_LINE} http://{host}:{port} (control API under /_sim)", flush=True)  # noqa: T201


def listening_socket(host: str, port: int) -> socket.socket:
    # Created with IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections; without it
    # every keep-alive request waits ~40 ms on delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def serve(host: str, port: int) -> None:
    """Serve in the foreground until interrupted."""
    sock = listening_socket(host, port)
    SimulatorServer(announce=True).run(sockets=[sock])
