"""The media stores, the same behaviour for both: the JetStream object store on a real NATS server
and an S3 bucket on a real S3-compatible server (moto), each opened through `open_store` as the
services open it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiobotocore.session import get_session  # type: ignore[import-untyped]
from nats.js.errors import NotFoundError

from crier.kit.bus import Bus
from crier.kit.media.s3_store import PART_SIZE
from crier.kit.media.store import MediaMissing, MediaStore, SourceTooShort, open_store
from crier.kit.settings import CommonSettings, SettingsError
from tests.support.s3 import s3_endpoint  # noqa: F401  (the fixture)
from tests.support.stack import Infra

BUCKET = "crier-media-tests"
MB = 1 << 20

OpenStore = Callable[[str], Awaitable[MediaStore]]


@pytest.fixture(params=["nats", "s3"])
async def open_in(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[OpenStore]:
    """Opens the store of a namespace: a NATS namespace, or a prefix in one bucket for S3."""
    endpoint = request.getfixturevalue("s3_endpoint") if request.param == "s3" else ""
    opened: list[tuple[MediaStore, Bus]] = []

    async def open_(namespace: str) -> MediaStore:
        bus = await Bus.connect(infra.nats_url, namespace=namespace)
        spec = "nats" if request.param == "nats" else f"s3://{BUCKET}/{namespace}"
        store = await open_store(CommonSettings(media_store=spec, media_s3_endpoint=endpoint), bus)
        opened.append((store, bus))
        return store

    yield open_
    for store, bus in opened:
        await store.close()
        if request.param == "nats":
            # The system NATS server keeps file streams across runs: leave no megabytes behind.
            with contextlib.suppress(NotFoundError):
                await bus.js.delete_object_store(f"{bus.namespace}_MEDIA")
        await bus.close()


@pytest.fixture
async def store(open_in: OpenStore) -> MediaStore:
    return await open_in(f"t{secrets.token_hex(4)}")


def random_file(path: Path, size: int) -> str:
    """Writes `size` random bytes a megabyte at a time (never the whole file in memory); its sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(MB, left))
            digest.update(block)
            out.write(block)
            left -= len(block)
    return digest.hexdigest()


async def put_file(store: MediaStore, key: str, path: Path) -> None:
    with path.open("rb") as source:
        await store.put(key, source, size=os.fstat(source.fileno()).st_size, mime="application/octet-stream")


async def read(store: MediaStore, key: str, size: int = 4 * MB) -> tuple[str, list[int]]:
    digest, sizes = hashlib.sha256(), []
    async for piece in store.chunks(key, size):
        digest.update(piece)
        sizes.append(len(piece))
    return digest.hexdigest(), sizes


async def test_a_multi_megabyte_file_comes_back_byte_for_byte_in_the_pieces_asked_for(
    store: MediaStore, tmp_path: Path
) -> None:
    size = 5 * MB + 12_345
    sha = random_file(tmp_path / "f", size)
    await put_file(store, "med_one", tmp_path / "f")

    got, sizes = await read(store, "med_one", MB)
    assert got == sha
    assert sizes == [MB] * 5 + [12_345]
    # Pieces smaller than the store's own chunks (128 KiB NATS messages) are honoured too.
    got, sizes = await read(store, "med_one", 100_000)
    assert got == sha and max(sizes) == 100_000 and sum(sizes) == size


async def test_an_empty_file_is_an_object_with_no_bytes(store: MediaStore, tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    await put_file(store, "med_empty", tmp_path / "empty")
    assert await read(store, "med_empty") == (hashlib.sha256(b"").hexdigest(), [])


async def test_an_absent_key_is_media_missing(store: MediaStore) -> None:
    with pytest.raises(MediaMissing):
        await read(store, "med_never")


async def test_delete_removes_and_is_idempotent(store: MediaStore, tmp_path: Path) -> None:
    random_file(tmp_path / "f", 300_000)
    await put_file(store, "med_gone", tmp_path / "f")
    await store.delete("med_gone")
    with pytest.raises(MediaMissing):
        await read(store, "med_gone")
    await store.delete("med_gone")
    await store.delete("med_never_was")


async def test_a_file_shorter_than_announced_is_refused_and_nothing_is_stored(
    store: MediaStore, tmp_path: Path
) -> None:
    random_file(tmp_path / "f", 200_000)
    with (tmp_path / "f").open("rb") as source, pytest.raises(SourceTooShort):
        await store.put("med_short", source, size=300_000, mime="image/png")
    with pytest.raises(MediaMissing):
        await read(store, "med_short")


async def test_only_the_announced_size_is_stored(store: MediaStore, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"a" * 1000 + b"trailing")
    with (tmp_path / "f").open("rb") as source:
        await store.put("med_sized", source, size=1000, mime="text/plain")
    assert await read(store, "med_sized") == (hashlib.sha256(b"a" * 1000).hexdigest(), [1000])


async def test_two_namespaces_do_not_see_each_others_media(open_in: OpenStore, tmp_path: Path) -> None:
    one, two = await open_in(f"t{secrets.token_hex(4)}"), await open_in(f"t{secrets.token_hex(4)}")
    sha_one = random_file(tmp_path / "one", 200_000)
    sha_two = random_file(tmp_path / "two", 150_000)
    await put_file(one, "med_same", tmp_path / "one")
    with pytest.raises(MediaMissing):
        await read(two, "med_same")
    await put_file(two, "med_same", tmp_path / "two")
    await two.delete("med_same")
    assert (await read(one, "med_same"))[0] == sha_one != sha_two


async def test_a_store_opened_again_finds_what_was_stored(open_in: OpenStore, tmp_path: Path) -> None:
    namespace = f"t{secrets.token_hex(4)}"
    sha = random_file(tmp_path / "f", 300_000)
    await put_file(await open_in(namespace), "med_kept", tmp_path / "f")
    assert (await read(await open_in(namespace), "med_kept"))[0] == sha


async def test_an_object_deleted_while_being_read_ends_the_read_with_media_missing(
    store: MediaStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if "s3" in request.node.callspec.id:
        pytest.skip("S3 finishes a GET already under way: the reader gets the whole object")
    random_file(tmp_path / "f", 2 * MB)
    await put_file(store, "med_racing", tmp_path / "f")
    pieces = store.chunks("med_racing", 128 * 1024)
    await anext(pieces)
    await store.delete("med_racing")
    with pytest.raises(MediaMissing):
        async for _ in pieces:
            pass


async def test_readers_that_stop_early_hold_nothing_back(store: MediaStore, tmp_path: Path) -> None:
    # More abandoned reads than the S3 client has pooled connections (10): one not handed back
    # would leave the last read below waiting for a connection forever.
    sha = random_file(tmp_path / "f", 2 * MB)
    await put_file(store, "med_abandoned", tmp_path / "f")
    for _ in range(15):
        pieces = store.chunks("med_abandoned", 64 * 1024)
        await anext(pieces)
        await pieces.aclose()  # type: ignore[attr-defined]
    assert (await asyncio.wait_for(read(store, "med_abandoned"), 20))[0] == sha


async def test_a_file_larger_than_a_part_goes_up_in_parts(
    store: MediaStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    size = 2 * PART_SIZE + 3 * MB
    sha = random_file(tmp_path / "big", size)
    await put_file(store, "med_big", tmp_path / "big")
    assert (await read(store, "med_big"))[0] == sha
    if "s3" in request.node.callspec.id:
        # A multipart object's ETag ends with its number of parts.
        endpoint = request.getfixturevalue("s3_endpoint")
        async with get_session().create_client("s3", region_name="us-east-1", endpoint_url=endpoint) as s3:
            listed = await s3.list_objects_v2(Bucket=BUCKET)
            [key] = [o["Key"] for o in listed["Contents"] if o["Key"].endswith("/med_big")]
            head = await s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ETag"].strip('"').endswith("-3") and head["ContentLength"] == size


async def test_a_64_mb_file_goes_in_and_out_without_being_held_in_memory(store: MediaStore, tmp_path: Path) -> None:
    size = 64 * MB
    sha = random_file(tmp_path / "huge", size)
    tracemalloc.start()
    try:
        await put_file(store, "med_huge", tmp_path / "huge")
        _, peak_put = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        got, _ = await read(store, "med_huge", MB)
        _, peak_get = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == sha
    # What a store may hold at once: S3 one 8 MiB part (and the copies the HTTP stack makes of
    # it), NATS a 128 KiB chunk. The whole file would be 64 MiB.
    assert peak_put < 24 * MB, f"put peaked at {peak_put / MB:.1f} MiB"
    assert peak_get < 8 * MB, f"chunks peaked at {peak_get / MB:.1f} MiB"


async def test_an_unknown_store_is_a_settings_error(infra: Infra) -> None:
    bus = await Bus.connect(infra.nats_url, namespace=f"t{secrets.token_hex(4)}")
    try:
        for spec in ("gcs://bucket", "s3://", "s3:///prefix"):
            with pytest.raises(SettingsError, match="CRIER_MEDIA_STORE"):
                await open_store(CommonSettings(media_store=spec), bus)
    finally:
        await bus.close()


@pytest.mark.parametrize(("spec", "stored_as"), [("s3://crier-root", "med_k"), ("s3://crier-nested/a/b/", "a/b/med_k")])
async def test_an_s3_store_keeps_its_objects_under_its_prefix(
    infra: Infra, request: pytest.FixtureRequest, tmp_path: Path, spec: str, stored_as: str
) -> None:
    endpoint = request.getfixturevalue("s3_endpoint")
    (tmp_path / "f").write_bytes(b"prefixed")
    bus = await Bus.connect(infra.nats_url, namespace=f"t{secrets.token_hex(4)}")
    store = await open_store(CommonSettings(media_store=spec, media_s3_endpoint=endpoint), bus)
    try:
        await put_file(store, "med_k", tmp_path / "f")
        async with get_session().create_client("s3", region_name="us-east-1", endpoint_url=endpoint) as s3:
            listed = await s3.list_objects_v2(Bucket=spec.removeprefix("s3://").partition("/")[0])
        assert [o["Key"] for o in listed["Contents"]] == [stored_as]
        assert await read(store, "med_k") == (hashlib.sha256(b"prefixed").hexdigest(), [8])
    finally:
        await store.close()
        await bus.close()
