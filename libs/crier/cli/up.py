"""`crier up`: the whole stack on one machine, embedded servers unless real ones are configured."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from crier.cli.services import migrate_all
from crier.cli.supervisor import Supervisor
from crier.kit.crypto import Keyring
from crier.kit.embedded import EmbeddedNats, EmbeddedPostgres
from crier.kit.settings import CommonSettings, load


def _ensure_database(server_url: str, name: str) -> None:
    import asyncio

    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())


def _secret_file(path: Path, make) -> str:  # type: ignore[no-untyped-def]
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def up(data_dir: str, host: str, port: int, platform: str) -> int:
    root = Path(data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    settings = load(CommonSettings)
    env_present = set(k for k in os.environ if k.startswith("CRIER_"))
    started: list = []
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        nats_url = settings.nats_url
        if "CRIER_NATS_URL" not in env_present:
            nats = EmbeddedNats(root / "nats").start()
            started.append(nats)
            nats_url = nats.url
            print(f"embedded NATS JetStream on {nats_url}", flush=True)
        database_url = settings.database_url
        if "CRIER_DATABASE_URL" not in env_present:
            pg = EmbeddedPostgres(root / "postgres").start()
            started.append(pg)
            _ensure_database(pg.url(), "crier")
            database_url = pg.url("crier")
            print(f"embedded PostgreSQL on 127.0.0.1:{pg.port}", flush=True)
        keys = settings.encryption_keys or _secret_file(root / "encryption-keys", Keyring.generate_spec)
        migrate_all(database_url)

        from crier.gateway.entrypoints import admin

        admin_key = admin.bootstrap_admin_key(database_url, root / "admin-key")
        api_url = f"http://{host}:{port}"
        env = {
            "CRIER_DATABASE_URL": database_url,
            "CRIER_NATS_URL": nats_url,
            "CRIER_ENCRYPTION_KEYS": keys,
            "CRIER_GATEWAY_HOST": host,
            "CRIER_GATEWAY_PORT": str(port),
            "CRIER_PUBLIC_URL": os.environ.get("CRIER_PUBLIC_URL", api_url),
        }
        supervisor = Supervisor(env=env, log_dir=root / "logs", publisher_platform=platform)
        supervisor.add_defaults()
        supervisor.start_all()
        supervisor.wait_ready(api_url)
        print(f"\nCrier is up: {api_url}/api/v1  (docs: {api_url}/api/v1/docs)", flush=True)
        print(f"admin key: {admin_key}  (also in {root / 'admin-key'})", flush=True)
        print(f"service logs: {root / 'logs'}   Ctrl-C stops everything.", flush=True)
        while not stopping:
            for name in supervisor.restart_crashed():
                print(f"service {name} exited; restarted it", flush=True)
            time.sleep(0.5)
        print("stopping…", flush=True)
        supervisor.stop_all()
        return 0
    finally:
        for server in reversed(started):
            server.stop()
