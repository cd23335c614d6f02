"""The media tests' delivery path with the media stored in an S3-compatible bucket
(`CRIER_MEDIA_STORE=s3://…`, moto's server) instead of the JetStream object store: an upload
platform streaming the bytes from the bucket, a platform pulling them from the gateway's signed URL,
and a video uploaded in chunks, each arriving byte for byte; the bytes are in the bucket."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import boto3
import pytest

from crier.contracts.common import Platform
from tests.e2e.conftest import wait_post
from tests.support.live import Live, connect_live, live_stack
from tests.support.media_live import CASES, media_post
from tests.support.stack import Infra

BUCKET = f"crier-media-{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def s3_live(infra: Infra, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    env = {"CRIER_MEDIA_STORE": f"s3://{BUCKET}/media", "CRIER_MEDIA_S3_ENDPOINT": s3_endpoint}
    yield from live_stack(infra, tmp_path_factory.mktemp("live-s3"), env)


@pytest.mark.parametrize("platform", ["mastodon", "instagram", "youtube"])
def test_media_from_an_s3_bucket_lands_with_the_exact_bytes(
    s3_live: Live, s3_endpoint: str, platform: Platform
) -> None:
    sim = s3_live.sim
    account = connect_live(s3_live, platform)
    with account.org.live() as api:
        created, media = media_post(api, account, CASES[platform].files)
        assert created.status_code == 201, created.text
        done = wait_post(api, created.json()["id"], timeout=60)
    [target] = done["targets"]
    assert (done["status"], target["status"]) == ("published", "published"), target
    received = {m["sha256"] for m in sim.media(platform)}
    assert {m["sha256"] for m in media} <= received
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="media/").get("Contents", [])}
    assert {f"media/{m['id']}" for m in media} <= keys
