"""Media in an S3-compatible bucket (`CRIER_MEDIA_STORE=s3://bucket[/prefix]`), through aiobotocore.

`CRIER_MEDIA_S3_ENDPOINT` names a server that is not AWS (MinIO, Ceph, R2, a test server) and
`CRIER_MEDIA_S3_REGION` the region; credentials come from botocore's usual chain (`AWS_*`
variables, a profile, an instance role). Keys are `<prefix>/<key>`, so one bucket can hold
several deployments side by side.

Memory stays bounded by one part: a file up to `PART_SIZE` goes up in one `PutObject`; a larger one
as a multipart upload of `PART_SIZE` parts read from the file one at a time (S3 wants at least
5 MiB per part but the last, and at most 10,000 parts: 8 MiB parts reach 78 GiB). A failed
multipart upload is aborted, so no orphan parts are billed. `chunks` reads the GET body as it
arrives.

The bucket is created when it does not exist (a fresh server in tests, a first start); credentials
that may not look at the bucket itself (no `s3:ListBucket`) are taken as "it exists".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack
from typing import Any, BinaryIO

from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from crier.kit.log import get
from crier.kit.media.store import BoundedReader, MediaMissing, rechunk

log = get(__name__)

PART_SIZE = 8 << 20


class S3MediaStore:
    def __init__(self, client: Any, exit_stack: AsyncExitStack, bucket: str, prefix: str) -> None:
        self._client = client
        self._exit_stack = exit_stack
        self._bucket = bucket
        self._prefix = prefix

    @classmethod
    async def open(
        cls, bucket: str, *, prefix: str = "", endpoint_url: str | None = None, region: str = "us-east-1"
    ) -> S3MediaStore:
        exit_stack = AsyncExitStack()
        client = await exit_stack.enter_async_context(
            get_session().create_client("s3", region_name=region, endpoint_url=endpoint_url)
        )
        prefix = prefix.strip("/")
        store = cls(client, exit_stack, bucket, f"{prefix}/" if prefix else "")
        try:
            await store._ensure_bucket(region)
        except BaseException:
            await exit_stack.aclose()
            raise
        return store

    async def _ensure_bucket(self, region: str) -> None:
        try:
            await self._client.head_bucket(Bucket=self._bucket)
            return
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 403:
                log.info("media.s3.bucket_not_checked", bucket=self._bucket, reason="forbidden")
                return
            if status != 404:
                raise
        # us-east-1 is the one region that refuses a LocationConstraint naming it.
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        try:
            await self._client.create_bucket(Bucket=self._bucket, **extra)
            log.info("media.s3.bucket_created", bucket=self._bucket)
        except ClientError as exc:
            # Another instance created it between our check and our create.
            if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def put(self, key: str, source: BinaryIO, *, size: int, mime: str) -> None:
        reader = BoundedReader(source, size)
        if size <= PART_SIZE:
            body = await asyncio.to_thread(reader.read, size)
            await self._client.put_object(Bucket=self._bucket, Key=self._key(key), Body=body, ContentType=mime)
            return
        upload = await self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key(key), ContentType=mime)
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            while reader.remaining:
                body = await asyncio.to_thread(reader.read, PART_SIZE)
                number = len(parts) + 1
                part = await self._client.upload_part(
                    Bucket=self._bucket, Key=self._key(key), UploadId=upload_id, PartNumber=number, Body=body
                )
                parts.append({"ETag": part["ETag"], "PartNumber": number})
                del body
            await self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=self._key(key), UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            await asyncio.shield(
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key(key), UploadId=upload_id)
            )
            raise

    async def chunks(self, key: str, size: int = 4 << 20) -> AsyncIterator[bytes]:
        async for piece in rechunk(self._body(key, size), size):
            yield piece

    async def _body(self, key: str, size: int) -> AsyncGenerator[bytes, None]:
        try:
            response = await self._client.get_object(Bucket=self._bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise MediaMissing(key) from None
            raise
        async with response["Body"] as body:
            async for piece in body.iter_chunks(min(size, 1 << 20)):
                yield piece

    async def delete(self, key: str) -> None:
        # S3 answers 204 whether or not the key existed.
        await self._client.delete_object(Bucket=self._bucket, Key=self._key(key))

    async def close(self) -> None:
        await self._exit_stack.aclose()
