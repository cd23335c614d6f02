"""A post's media as the publisher hands it to adapters: streamed from the media store by key,
read whole for images within a bound, signed URLs; what cannot be delivered (`media_missing`,
`media_unknown`) fails the target for good. The sandbox reads every object and checks its bytes.
(Use case in-process, real Postgres.)"""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crier.contracts.common import Container, MediaRef, Platform
from crier.kit.bus import Bus
from crier.kit.crypto import Keyring
from crier.kit.media.signing import MediaUrlSigner
from crier.kit.media.store import MediaStore, open_store
from crier.kit.settings import CommonSettings
from crier.platforms.base import PlatformError
from crier.platforms.sandbox import SandboxAdapter
from crier.publisher.adapters.media import StoredMedia
from crier.publisher.adapters.sandbox_ledger import PostgresSandboxLedger
from crier.publisher.domain.routing import SANDBOX
from crier.publisher.handlers.delivery import RetryIn, deliver
from tests.publisher.factories import command, sandbox_posts
from tests.publisher.scripted import context, forget_backoff, outbox, subjects
from tests.publisher.uploading import UploadingPlatform, platform_taking_images
from tests.support.media_files import media_ref, mp4, png
from tests.support.stack import Infra

KEYS = Keyring.generate_spec()


@pytest.fixture
async def store(infra: Infra) -> AsyncIterator[MediaStore]:
    """The JetStream object store of a namespace of its own, as `crier serve publisher` opens it."""
    bus = await Bus.connect(infra.nats_url, namespace=f"t{secrets.token_hex(4)}")
    opened = await open_store(CommonSettings(), bus)
    try:
        yield opened
    finally:
        await opened.close()
        await bus.js.delete_object_store(f"{bus.namespace}_MEDIA")
        await bus.close()


@pytest.fixture
def media_platform() -> Platform:
    found = platform_taking_images()
    if found is None:
        pytest.skip("no platform's rules take images yet")
    return found


def _signer() -> MediaUrlSigner:
    return MediaUrlSigner(KEYS, "https://crier.example", 600)


async def _stored(store: MediaStore, data: bytes, **over: object) -> MediaRef:
    ref = media_ref(data, **over)
    await store.put(ref.key, io.BytesIO(data), size=len(data), mime=ref.mime)
    return ref


def _with_media(platform: Platform, mode: str, *containers: tuple[str, list[MediaRef]]):  # type: ignore[no-untyped-def]
    cmd = command(platform=platform, mode=mode)  # type: ignore[arg-type]
    return msgspec.structs.replace(cmd, containers=[Container(content=t, media=m) for t, m in containers])


async def test_media_streams_from_the_store_reads_whole_and_signs_urls(store: MediaStore) -> None:
    clip, picture = mp4(seconds=0.5), png()
    video, image = await _stored(store, clip), await _stored(store, picture)
    media = StoredMedia(store, _signer())
    pieces = [p async for p in media.chunks(video, size=1000)]
    assert len(pieces) > 1 and all(len(p) == 1000 for p in pieces[:-1])
    assert b"".join(pieces) == clip
    assert await media.read(image) == picture
    url = urlsplit(media.url(image))
    assert url.path == f"/api/v1/media/{image.id}/content" and url.netloc == "crier.example"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert _signer().verify(image.id, int(query["expires"]), query["signature"])


async def test_an_object_gone_from_the_store_is_media_missing(store: MediaStore) -> None:
    ref = media_ref(png())  # never stored
    media = StoredMedia(store, _signer())
    for read in (lambda: media.read(ref), lambda: _drain(media.chunks(ref))):
        with pytest.raises(PlatformError) as raised:
            await read()
        assert (raised.value.code, raised.value.retryable) == ("media_missing", False)


async def test_a_reference_the_gateway_never_inspected_is_media_unknown(store: MediaStore) -> None:
    media = StoredMedia(store, _signer())
    for ref in (MediaRef(id="med_old"), msgspec.structs.replace(media_ref(png()), key="")):
        for use in (lambda r=ref: media.read(r), lambda r=ref: _drain(media.chunks(r))):
            with pytest.raises(PlatformError) as raised:
                await use()
            assert (raised.value.code, raised.value.retryable) == ("media_unknown", False)
        with pytest.raises(PlatformError, match="never inspected"):
            media.url(ref)


async def test_reading_whole_is_refused_past_the_bound(store: MediaStore) -> None:
    data = png(200, 200)
    declared = await _stored(store, data)
    understated = msgspec.structs.replace(declared, size_bytes=10)
    media = StoredMedia(store, _signer(), read_max_bytes=len(data) - 1)
    for ref in (declared, understated):
        with pytest.raises(PlatformError) as raised:
            await media.read(ref)
        assert raised.value.code == "media_too_large"
    assert len(await StoredMedia(store, _signer(), read_max_bytes=len(data)).read(declared)) == len(data)


async def test_media_reaches_the_adapter_once_across_a_processing_wait(
    engine: AsyncEngine, store: MediaStore, media_platform: Platform
) -> None:
    data = png(120, 80)
    ref = await _stored(store, data, alt_text="a red rectangle")
    platform = UploadingPlatform(rounds=1)
    ctx = context(engine, platform, key=media_platform, media=StoredMedia(store, _signer()))
    cmd = _with_media(media_platform, "live", ("look", [ref]))
    assert await deliver(ctx, cmd) == RetryIn(0.5)
    await forget_backoff(engine, cmd.target_id)
    assert await deliver(ctx, cmd) is None
    assert platform.uploaded == {ref.id: data} and platform.uploads == {ref.id: 1}
    assert await subjects(engine, cmd.target_id) == ["publishing", "published"]


async def test_media_missing_at_delivery_fails_the_target(
    engine: AsyncEngine, store: MediaStore, media_platform: Platform
) -> None:
    ref = media_ref(png())  # inspected at create, deleted from the store since
    ctx = context(engine, UploadingPlatform(), key=media_platform, media=StoredMedia(store, _signer()))
    cmd = _with_media(media_platform, "live", ("look", [ref]))
    assert await deliver(ctx, cmd) is None
    assert await subjects(engine, cmd.target_id) == ["publishing", "failed"]
    assert (await outbox(engine, cmd.target_id))[-1][1]["error_code"] == "media_missing"


async def test_media_from_before_media_support_fails_as_media_unknown(
    engine: AsyncEngine, store: MediaStore, media_platform: Platform
) -> None:
    platform = UploadingPlatform()
    ctx = context(engine, platform, key=media_platform, media=StoredMedia(store, _signer()))
    cmd = _with_media(media_platform, "live", ("look", [MediaRef(id="med_from_an_old_post")]))
    assert await deliver(ctx, cmd) is None
    failed = (await outbox(engine, cmd.target_id))[-1][1]
    assert (failed["error_code"], failed["attempt"]) == ("media_unknown", 1)
    assert platform.resumed_from == []


async def test_the_sandbox_reads_each_object_and_records_its_id(
    engine: AsyncEngine, store: MediaStore, media_platform: Platform
) -> None:
    first, second = await _stored(store, png(64, 48)), await _stored(store, png(32, 32, color=(0, 200, 0)))
    ctx = context(engine, SandboxAdapter(PostgresSandboxLedger()), key=SANDBOX, media=StoredMedia(store, _signer()))
    cmd = _with_media(media_platform, "test", ("look", [first]), ("and this", [second]))
    assert await deliver(ctx, cmd) is None
    assert await subjects(engine, cmd.target_id) == ["publishing", "published"]
    posts = await sandbox_posts(engine, cmd.target_id)
    assert [(p.container_index, p.media) for p in posts] == [(0, [first.id]), (1, [second.id])]


async def test_the_sandbox_refuses_bytes_that_are_not_the_inspected_ones(
    engine: AsyncEngine, store: MediaStore, media_platform: Platform
) -> None:
    ref = media_ref(png())
    other = png(64, 48, color=(1, 2, 3))
    await store.put(ref.key, io.BytesIO(other), size=len(other), mime=ref.mime)
    ctx = context(engine, SandboxAdapter(PostgresSandboxLedger()), key=SANDBOX, media=StoredMedia(store, _signer()))
    cmd = _with_media(media_platform, "test", ("look", [ref]))
    assert await deliver(ctx, cmd) is None
    failed = (await outbox(engine, cmd.target_id))[-1][1]
    assert failed["error_code"] == "media_missing" and "not the ones inspected" in failed["error_message"]
    assert await sandbox_posts(engine, cmd.target_id) == []


async def _drain(pieces: AsyncIterator[bytes]) -> None:
    async for _ in pieces:
        pass
