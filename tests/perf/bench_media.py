"""Media upload: throughput (MB/s) of one large multipart upload to `POST /api/v1/media` (streamed to
disk, hashed, inspected, put into the media store: the time to the 201), and the gateway process's
peak memory during it (VmHWM from /proc/<pid>/status), beside the bare stack's figures: a plain
Litestar app on uvicorn that reads the same upload from `request.stream()` and discards it. The
file is a short MP4 followed by a `free` box of zeros up to the size asked for, so it is real media
of that size, generated as it is sent.

    python -m tests.perf.bench_media [--mb 500]

Bounded: one upload of a fixed size per server, every wait has a deadline, traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from crier.kit.embedded import free_port
from tests.perf.measure import machine
from tests.support import media_files
from tests.support.stack import Infra, close_infra, make_infra, start_stack, wait_for

MB = 1024 * 1024
CHUNK = MB
BOUNDARY = "crier-bench-boundary"


def vm_hwm_kib(pid: int) -> int:
    """The process's resident-memory high-water mark so far, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def _body_parts(size_mb: int, *, media: bool = True) -> tuple[bytes, int, bytes, int]:
    """The multipart preamble (with the MP4 and the free box's header), the zeros that follow,
    the epilogue, and the total length. Without `media`, zeros alone: no media at all."""
    video = media_files.mp4(160, 120, seconds=0.5, fps=25) if media else b""
    padding = max(0, size_mb * MB - len(video) - 8)
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    preamble = head + video + struct.pack(">I", padding + 8) + b"free" if media else head + bytes(8)
    epilogue = f"\r\n--{BOUNDARY}--\r\n".encode()
    return preamble, padding, epilogue, len(preamble) + padding + len(epilogue)


async def _stream(preamble: bytes, padding: int, epilogue: bytes) -> AsyncIterator[bytes]:
    yield preamble
    zeros = bytes(CHUNK)
    left = padding
    while left > 0:
        piece = zeros if left >= CHUNK else zeros[:left]
        left -= len(piece)
        yield piece
    yield epilogue


async def _upload(
    url: str, key: str | None, size_mb: int, timeout: float, *, media: bool = True
) -> tuple[float, httpx.Response]:
    preamble, padding, epilogue, total = _body_parts(size_mb, media=media)
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", "content-length": str(total)}
    if key:
        headers["authorization"] = f"Bearer {key}"
    async with httpx.AsyncClient(timeout=timeout) as client:
        started = time.perf_counter()
        response = await client.post(url, content=_stream(preamble, padding, epilogue), headers=headers)
        return time.perf_counter() - started, response


def _measure(url: str, key: str | None, pid: int, size_mb: int, timeout: float) -> dict[str, float]:
    # A small upload first, so what loads on first use (Pillow, PyAV) is in the baseline, not the peak.
    asyncio.run(_upload(url, key, 1, timeout))
    before = vm_hwm_kib(pid)
    elapsed, response = asyncio.run(_upload(url, key, size_mb, timeout))
    if response.status_code not in (200, 201):
        raise RuntimeError(f"upload refused: {response.status_code} {response.text[:300]}")
    return {
        "mb_s": size_mb / elapsed,
        "seconds": elapsed,
        "peak_mib": vm_hwm_kib(pid) / 1024,
        "before_mib": before / 1024,
    }


def _start_echo() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.perf.bench_media", "--serve-echo", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/upload"

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, timeout=30, what="the bare Litestar echo")
    return proc, url


def serve_echo(port: int) -> None:
    """The bare stack: Litestar on uvicorn, reading an upload's body as it streams and counting it."""
    import uvicorn
    from litestar import Litestar, Request, get, post

    @post("/upload", request_max_body_size=None)
    async def upload(request: Request[Any, Any, Any]) -> dict[str, int]:
        count = 0
        async for chunk in request.stream():
            count += len(chunk)
        return {"bytes": count}

    @get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    app = Litestar([upload, health], logging_config=None)
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def run(infra: Infra, size_mb: int, timeout: float) -> list[str]:
    stack = start_stack(infra, Path(tempfile.mkdtemp(prefix="crier-bench-media-")), {"CRIER_LOG_LEVEL": "warning"})
    try:
        org = stack.new_org("bench-media")
        gateway = stack.supervisor.processes["gateway"].proc
        crier = _measure(f"{stack.api_url}/api/v1/media", org.test_key, gateway.pid, size_mb, timeout)
        # Zeros are no media: refused by inspection once they arrived, so this times the receiving
        # (multipart parsing, disk, SHA-256) without the store.
        received_s, refused = asyncio.run(
            _upload(f"{stack.api_url}/api/v1/media", org.test_key, size_mb, timeout, media=False)
        )
        if refused.status_code != 422:
            raise RuntimeError(f"zeros were not refused: {refused.status_code} {refused.text[:300]}")
    finally:
        stack.supervisor.stop_all()
    echo, url = _start_echo()
    try:
        bare = _measure(url, None, echo.pid, size_mb, timeout)
    finally:
        echo.terminate()
        echo.wait(10)
    return [
        f"media upload, one {size_mb} MB multipart file (to disk, SHA-256, inspection, JetStream object store):"
        f" {crier['mb_s']:.0f} MB/s ({crier['seconds']:.1f}s); bare Litestar reading the same upload"
        f" {bare['mb_s']:.0f} MB/s ({bare['mb_s'] / crier['mb_s']:.1f}x the gateway's rate);"
        f" receiving alone (to disk and SHA-256, no store) {size_mb / received_s:.0f} MB/s",
        f"gateway peak memory (VmHWM) during it: {crier['peak_mib']:.0f} MiB (before: {crier['before_mib']:.0f} MiB);"
        f" bare Litestar {bare['peak_mib']:.0f} MiB (before: {bare['before_mib']:.0f} MiB);"
        f" ratio {crier['peak_mib'] / bare['peak_mib']:.1f}x",
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mb", type=int, default=500, help="size of the upload in MB (default 500)")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--serve-echo", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve_echo:
        serve_echo(args.serve_echo)
        return
    infra = make_infra()
    try:
        print(f"machine: {machine()}")
        for line in run(infra, args.mb, args.timeout):
            print(line)
    finally:
        close_infra(infra)


if __name__ == "__main__":
    main()
