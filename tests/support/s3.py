"""An S3-compatible server for the tests: moto's server mode on a free loopback port.

    def test_x(s3_endpoint: str) -> None:
        settings = CommonSettings(media_store="s3://media/test", media_s3_endpoint=s3_endpoint)

moto runs as its own process (`python -m moto.server`) rather than `ThreadedMotoServer` in ours:
moto keeps every stored object in its heap, and in-process that heap would be the test process's,
which would hide what a memory test measures (and hold the GIL while the test's event loop streams).
Fake credentials are put into the environment for the session, for our clients in this process and
for the Crier services a stack starts (they inherit it); `CREDENTIALS` is there for anything that
builds an environment of its own.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from crier.kit.embedded import free_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def start_moto(timeout_s: float = 30.0) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with {proc.returncode}")
        try:
            if httpx.get(f"{endpoint}/moto-api/", timeout=1).status_code < 500:
                return proc, endpoint
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"moto server not answering on {endpoint} after {timeout_s}s")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a running S3-compatible server; the AWS_* credentials it accepts are set."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in CREDENTIALS.items():
            mp.setenv(name, value)
        # Nothing of the developer's own AWS configuration may leak into the tests.
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            mp.delenv(name, raising=False)
        proc, endpoint = start_moto()
        try:
            yield endpoint
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
