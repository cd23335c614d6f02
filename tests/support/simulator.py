"""Running the simulator from tests.

    sim = start_simulator()              # uvicorn in a thread, on a free loopback port
    sim.add_app("x", client_id="cid", client_secret="secret", redirect_uris=["https://crier.test/cb"])
    sim.add_user("x", username="alice")
    provider = platforms.provider("x", sim.base_url)
    ...
    sim.stop()

or, in pytest, `pytest_plugins = ["tests.support.simulator"]` and the `platform_simulator`
fixture (one per session; faults and platform settings are cleared after each test that uses it).

What adapters published is read back with `sim.posts("mastodon", author=user_id)` (oldest first:
`id`, `author`, `text`, `reply_to`, `root`, `request` — the payload as sent — and `response`), or
waited for with `sim.wait_for_posts("mastodon", 3, author=user_id)` when another process posts.
`start_simulator_process` runs it as a separate process (`python -m crier.platforms.simulator`)
for stacks that need a URL only.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from crier.platforms.simulator.server import READY_LINE, SimulatorServer, listening_socket
from crier.platforms.simulator.world import World


class Simulator:
    """A running simulator and a client for its control API."""

    def __init__(self, base_url: str, stop: Any = None) -> None:
        self.base_url = base_url
        self._stop = stop
        self._http = httpx.Client(base_url=f"{base_url}/_sim", timeout=10)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._http.close()
        if self._stop is not None:
            self._stop()
            self._stop = None

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        resp = self._http.request(method, path, json=body, params={k: v for k, v in params.items() if v})
        resp.raise_for_status()
        return resp.json()

    def reset(self) -> None:
        self._call("POST", "/reset")

    def add_app(
        self,
        platform: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uris: list[str] | tuple[str, ...] = (),
        **more: Any,
    ) -> dict[str, Any]:
        return self._call(
            "POST",
            f"/{platform}/apps",
            {"client_id": client_id, "client_secret": client_secret, "redirect_uris": list(redirect_uris), **more},
        )

    def add_user(self, platform: str, **spec: Any) -> dict[str, Any]:
        """`username`, `display_name`, `pages` (a count or a list), `instagram`, `accounts`, `app_password`…"""
        return self._call("POST", f"/{platform}/users", spec)

    def add_history(self, platform: str, user_id: str, count: int) -> int:
        """`count` more posts on the user's timeline, newer than the ones it has (`simulator.history`)."""
        return int(self._call("POST", f"/{platform}/users/{user_id}/history", {"count": count})["added"])

    def sign_in(self, platform: str, user_id: str) -> None:
        self._call("POST", f"/{platform}/session", {"user_id": user_id})

    def consent(self, platform: str, decision: str, times: int = 1) -> None:
        self._call("POST", f"/{platform}/consent", {"decision": decision, "times": times})

    def revoke_grants(self, platform: str, user_id: str | None = None) -> int:
        return self._call("POST", f"/{platform}/grants/revoke", {"user_id": user_id})["revoked"]

    def expire_tokens(self, platform: str, user_id: str | None = None) -> int:
        return self._call("POST", f"/{platform}/tokens/expire", {"user_id": user_id})["expired"]

    def invalidate_tokens(self, platform: str, user_id: str | None = None, token: str | None = None) -> int:
        """Access tokens (all, a user's, or one) are refused with 401 while their grant lives."""
        return self._call("POST", f"/{platform}/tokens/invalidate", {"user_id": user_id, "token": token})["invalidated"]

    def configure(self, platform: str, **settings: Any) -> dict[str, Any]:
        """What the platform's operator sets, e.g. `configure("mastodon", max_characters=1000)`."""
        return self._call("POST", f"/{platform}/settings", settings)

    def clear_settings(self) -> None:
        self._call("DELETE", "/settings")

    def posts(self, platform: str, author: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", f"/{platform}/posts", author=author)

    def media(self, platform: str) -> list[dict[str, Any]]:
        """What `platform` received as media (uploads and pulls), without the bytes."""
        return self._call("GET", f"/{platform}/media")  # type: ignore[no-any-return]

    def host_file(self, data: bytes, mime: str) -> str:
        """Serves `data` from the simulator; the URL it is at (for platforms that pull media)."""
        resp = self._http.post("/files", content=data, headers={"content-type": mime})
        resp.raise_for_status()
        return str(resp.json()["url"])

    def wait_for_posts(
        self, platform: str, count: int, *, author: str | None = None, timeout: float = 20
    ) -> list[dict[str, Any]]:
        """At least `count` posts, polled until a deadline (another process is publishing them)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.posts(platform, author)
            if len(found) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(found) >= count, f"{len(found)} {platform} posts after {timeout}s, wanted {count}: {found}"
        return found

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/clock", {"advance_s": seconds})

    def reset_clock(self) -> None:
        self._call("POST", "/clock", {"offset_s": 0})

    def fault(self, platform: str, endpoint: str, kind: str, *, times: int = 1, **more: Any) -> dict[str, Any]:
        return self._call(
            "POST", "/faults", {"platform": platform, "endpoint": endpoint, "kind": kind, "times": times, **more}
        )

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def requests(self, platform: str | None = None, endpoint: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "/requests", platform=platform, endpoint=endpoint)

    def state(self, platform: str) -> dict[str, Any]:
        return self._call("GET", f"/{platform}/state")


def start_simulator(host: str = "127.0.0.1", world: World | None = None) -> Simulator:
    """The simulator on a free port, served by uvicorn in a daemon thread of this process."""
    sock = listening_socket(host, 0)
    port = sock.getsockname()[1]
    server = SimulatorServer(world)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="platform-simulator", daemon=True)
    thread.start()
    if not server.ready.wait(15):
        raise RuntimeError("the platform simulator did not start")

    def stop() -> None:
        if server.loop is not None and not server.loop.is_closed():
            server.loop.call_soon_threadsafe(server.world.unhang)
        server.should_exit = True
        thread.join(10)
        sock.close()

    return Simulator(f"http://{host}:{port}", stop)


def start_simulator_process(host: str = "127.0.0.1", port: int = 0, *, via_cli: bool = False) -> Simulator:
    """The simulator as its own process (`python -m crier.platforms.simulator`, or `crier simulator` with
    `via_cli`); returns once it listens; stop() terminates it."""
    if port == 0:
        with listening_socket(host, 0) as probe:
            port = probe.getsockname()[1]
    entry = ["-m", "crier.cli", "simulator"] if via_cli else ["-m", "crier.platforms.simulator"]
    proc = subprocess.Popen(
        [sys.executable, *entry, "--host", host, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # ends when the process exits
        if line.startswith(READY_LINE):
            break
        seen.append(line)
    else:
        proc.wait()
        raise RuntimeError(f"the platform simulator exited ({proc.returncode}): {''.join(seen)}")

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    return Simulator(f"http://{host}:{port}", stop)


@pytest.fixture(scope="session")
def platform_simulator_session() -> Iterator[Simulator]:
    sim = start_simulator()
    yield sim
    sim.stop()


@pytest.fixture
def platform_simulator(platform_simulator_session: Simulator) -> Iterator[Simulator]:
    yield platform_simulator_session
    platform_simulator_session.clear_faults()
    platform_simulator_session.clear_settings()
    # A test that moved the clock must not leave later tests in its future.
    platform_simulator_session.reset_clock()
