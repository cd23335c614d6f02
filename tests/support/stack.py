"""Pytest fixtures: real PostgreSQL and NATS JetStream, and whole Crier stacks as OS processes.

By default the fixtures start embedded servers from the PyPI wheels. `CRIER_TEST_DATABASE_URL`
(a server URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres) and `CRIER_TEST_NATS_URL`
point them at existing servers instead; `CRIER_TEST_BACKEND=containers` uses testcontainers.
Every stack gets its own database and its own NATS namespace, so tests run in any order.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.kit.bus import Bus
from crier.kit.db import create_engine
from crier.kit.embedded import EmbeddedNats, EmbeddedPostgres, free_port


@dataclass
class Infra:
    server_url: str  # a PostgreSQL URL whose database we may CREATE DATABASE from
    nats_url: str
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def database_url(self, name: str) -> str:
        base, _, _ = self.server_url.rpartition("/")
        return f"{base}/{name}"

    def create_database(self) -> str:
        import asyncpg

        name = f"crier_t_{secrets.token_hex(6)}"

        async def create() -> None:
            conn = await asyncpg.connect(self.server_url)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create()) if not _loop_running() else _run_in_thread(create)
        return self.database_url(name)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def _run_in_thread(factory: Callable[[], Any]) -> None:
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(factory())
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]


def _containers_infra() -> Infra:
    from testcontainers.nats import NatsContainer
    from testcontainers.postgres import PostgresContainer

    pg = PostgresContainer("postgres:16", driver=None).start()
    nats = NatsContainer("nats:2.10", jetstream=True).start()
    infra = Infra(pg.get_connection_url(), nats.nats_uri())
    infra._cleanup += [pg.stop, nats.stop]
    return infra


def make_infra() -> Infra:
    """Embedded servers unless the environment names existing ones (see the module docstring)."""
    if os.environ.get("CRIER_TEST_BACKEND") == "containers":
        return _containers_infra()
    root = Path(tempfile.mkdtemp(prefix="crier-test-"))
    db_url = os.environ.get("CRIER_TEST_DATABASE_URL")
    nats_url = os.environ.get("CRIER_TEST_NATS_URL")
    cleanup: list[Callable[[], None]] = []
    if not db_url:
        pg = EmbeddedPostgres(root / "pg").start(fsync=False)
        db_url = pg.url("postgres")
        cleanup.append(pg.discard)  # its data directory is removed next
    if not nats_url:
        nats = EmbeddedNats(root / "nats").start()
        nats_url = nats.url
        cleanup.append(nats.kill)  # likewise: nothing in its store is kept
    cleanup.append(lambda: _remove_in_background(root))
    return Infra(db_url, nats_url, cleanup)


def _remove_in_background(root: Path) -> None:
    """The session's servers' data, gigabytes after a whole run, removed by a detached `rm` that
    finishes on its own: the run's last tear-down does not wait seconds for it."""
    subprocess.Popen(
        ["rm", "-rf", str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def close_infra(infra: Infra) -> None:
    for fn in reversed(infra._cleanup):
        fn()


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    infra = make_infra()
    yield infra
    close_infra(infra)


@dataclass
class Stack:
    """A running Crier: every service as its own process, against a fresh database and namespace."""

    infra: Infra
    database_url: str
    namespace: str
    api_url: str
    env: dict[str, str]
    supervisor: Any
    log_dir: Path

    def client(self, key: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=f"{self.api_url}/api/v1", headers=headers, timeout=15, **kw)

    def new_org(self, name: str = "acme") -> Org:
        from crier.gateway.entrypoints import admin

        org = admin.create_org(self.database_url, f"{name}-{secrets.token_hex(3)}")
        live = admin.create_api_key(self.database_url, org=org["id"], name="live", mode="live", scopes=None)
        test = admin.create_api_key(self.database_url, org=org["id"], name="test", mode="test", scopes=None)
        return Org(self, org["id"], live["key"], test["key"])

    def logs(self) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(self.log_dir.glob("*.log"))
        )


@dataclass
class Org:
    stack: Stack
    id: str
    live_key: str
    test_key: str

    def live(self) -> httpx.Client:
        return self.stack.client(self.live_key)

    def test(self) -> httpx.Client:
        return self.stack.client(self.test_key)


# Short retry delays so the retry and dead-letter paths finish quickly in tests.
TEST_ENV = {
    "CRIER_PUBLISHER_RETRY_BASE_S": "0.05",
    "CRIER_PUBLISHER_RETRY_MAX_S": "0.4",
    "CRIER_PUBLISHER_ACK_WAIT_S": "3",
    # Test receivers listen on loopback over plain http; a day of webhook retries runs in seconds.
    "CRIER_WEBHOOKS_ALLOWED_NETWORKS": "127.0.0.1/32",
    "CRIER_WEBHOOKS_ALLOW_HTTP": "1",
    "CRIER_WEBHOOKS_RETRY_SCALE": "0.001",
    "CRIER_LOG_LEVEL": "info",
}


def start_stack(
    infra: Infra,
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    *,
    public_host: str = "127.0.0.1",
    gateway_processes: int = 1,
) -> Stack:
    """`public_host`: the name in CRIER_PUBLIC_URL (the gateway listens on 127.0.0.1 whatever it is),
    e.g. `localhost`, which atproto OAuth takes for a client in development. `gateway_processes`:
    as `crier up --gateway-processes`."""
    from crier.cli.services import migrate_all
    from crier.cli.supervisor import Supervisor
    from crier.kit.crypto import Keyring

    database_url = infra.create_database()
    migrate_all(database_url)
    namespace = f"t{secrets.token_hex(4)}"
    port = free_port()
    api_url = f"http://{public_host}:{port}"
    env = {
        "CRIER_DATABASE_URL": database_url,
        "CRIER_NATS_URL": infra.nats_url,
        "CRIER_NATS_NAMESPACE": namespace,
        "CRIER_ENCRYPTION_KEYS": Keyring.generate_spec(),
        "CRIER_GATEWAY_HOST": "127.0.0.1",
        "CRIER_GATEWAY_PORT": str(port),
        "CRIER_PUBLIC_URL": api_url,
        **TEST_ENV,
        **(extra_env or {}),
    }
    log_dir = tmp / f"logs-{namespace}"
    log_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(env=env, log_dir=log_dir, gateway_processes=gateway_processes)
    supervisor.add_defaults()
    supervisor.start_all()
    stack = Stack(infra, database_url, namespace, api_url, env, supervisor, log_dir)
    try:
        supervisor.wait_ready(api_url)
    except Exception:
        supervisor.stop_all()
        raise RuntimeError(f"stack failed to start:\n{stack.logs()}") from None
    return stack


@pytest.fixture(scope="session")
def shared_stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the tests that only need their own organization."""
    stack = start_stack(infra, tmp_path_factory.mktemp("shared"))
    yield stack
    stack.supervisor.stop_all()


@pytest.fixture
def own_stack(infra: Infra, tmp_path: Path) -> Iterator[Stack]:
    """A stack of its own, for tests that kill or restart services."""
    stack = start_stack(infra, tmp_path)
    yield stack
    stack.supervisor.stop_all()


def wait_for(predicate: Callable[[], Any], timeout: float = 20, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll until `predicate` returns something truthy; the value is returned. No blind sleeps."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


@dataclass
class Services:
    """Some services as processes against a fresh database and namespace (no gateway needed)."""

    database_url: str
    nats_url: str
    namespace: str
    env: dict[str, str]
    supervisor: Any
    log_dir: Path

    def logs(self) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(self.log_dir.glob("*.log"))
        )

    @asynccontextmanager
    async def bus(self) -> AsyncIterator[Bus]:
        """A connection to the services' NATS namespace, its streams in place."""
        bus = await Bus.connect(self.nats_url, namespace=self.namespace)
        try:
            await bus.ensure_streams()
            yield bus
        finally:
            await bus.close()

    @asynccontextmanager
    async def database(self, schema: str) -> AsyncIterator[AsyncEngine]:
        """An engine on one service's schema, to look at what it stored."""
        engine = create_engine(self.database_url, schema, pool_size=2)
        try:
            yield engine
        finally:
            await engine.dispose()


def start_services(infra: Infra, tmp: Path, names: list[str], extra_env: dict[str, str] | None = None) -> Services:
    from crier.cli.services import migrations_dir
    from crier.cli.supervisor import Supervisor
    from crier.kit.crypto import Keyring
    from crier.kit.migrations import upgrade

    database_url = infra.create_database()
    for name in names:
        upgrade(migrations_dir(name), database_url)
    namespace = f"t{secrets.token_hex(4)}"
    env = {
        "CRIER_DATABASE_URL": database_url,
        "CRIER_NATS_URL": infra.nats_url,
        "CRIER_NATS_NAMESPACE": namespace,
        "CRIER_ENCRYPTION_KEYS": Keyring.generate_spec(),
        **TEST_ENV,
        **(extra_env or {}),
    }
    log_dir = tmp / f"logs-{namespace}"
    log_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(env=env, log_dir=log_dir)
    for name in names:
        supervisor.add(name, [name, "--platform", "all"] if name == "publisher" else [name])
    supervisor.start_all()
    services = Services(database_url, infra.nats_url, namespace, env, supervisor, log_dir)
    try:
        _run_in_thread(lambda: wait_services_ready(infra.nats_url, namespace, names, supervisor=supervisor))
    except Exception:
        supervisor.stop_all()
        raise RuntimeError(f"services failed to start:\n{services.logs()}") from None
    return services


async def wait_services_ready(
    nats_url: str, namespace: str, names: list[str], timeout: float = 60, supervisor: Any = None
) -> None:
    from crier.kit.bus import Bus, rpc
    from crier.kit.service import HealthReply, health_subject

    bus = await Bus.connect(nats_url, namespace=namespace)
    try:
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending and time.monotonic() < deadline:
            for p in supervisor.processes.values() if supervisor else []:
                if p.proc is not None and p.proc.poll() is not None:
                    raise RuntimeError(f"service {p.name} exited with code {p.proc.returncode}")
            for name in list(pending):
                try:
                    reply = await rpc.call(bus, health_subject(name), None, HealthReply, timeout=0.5)
                    if reply.ready:
                        pending.discard(name)
                except rpc.RpcUnavailable:
                    pass
            if pending:
                await asyncio.sleep(0.1)
        if pending:
            raise TimeoutError(f"services not ready: {sorted(pending)}")
    finally:
        await bus.close()
