"""One listening socket served by several processes of a service: the gateway under
`crier up --gateway-processes N`. The supervisor binds it and hands it to each process it starts,
which accepts connections from it.

Why one socket handed down rather than a socket per process bound with SO_REUSEPORT: the socket
outlives any one process, so while one is restarting the others take every new connection, and no
connection is lost in the queue of a socket whose process has gone (Linux resets the connections
still queued on a SO_REUSEPORT socket when its process closes it). It is the model of gunicorn and
of uvicorn's own workers.
"""

from __future__ import annotations

import socket

# uvicorn's default listen backlog, which it sets again on the socket it is handed.
BACKLOG = 2048


class SharedListener:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None

    def fileno(self) -> int:
        """The socket's descriptor, bound and listening on first use (again after `close`)."""
        if self._sock is None:
            self._sock = listening(self.host, self.port)
        return self._sock.fileno()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def listening(host: str, port: int) -> socket.socket:
    """A socket bound and listening as the gateway's own would be, or the system's OSError: one
    socket, on the first address the name resolves to (IPv4 or IPv6)."""
    (family, kind, proto, _, address), *_ = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    sock = socket.socket(family, kind, proto)
    try:
        # As uvicorn binds its own: a restart may bind while the last run's connections linger.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def adopt(fd: int) -> socket.socket:
    """In a process handed the socket: the listening socket behind descriptor `fd`."""
    return socket.socket(fileno=fd)
