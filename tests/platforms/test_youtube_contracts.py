"""YouTube publishing against YouTube's own discovery document (`youtube/youtube.v3.json`): what
the adapter sends is a `Video` and a `CommentThread`, what the simulated API answers is a `Video`, a
`VideoListResponse`, a `SearchListResponse` and a `CommentThread(ListResponse)`, and the upload
path and scopes are the ones the document names."""

from __future__ import annotations

from typing import Any

import pytest

from crier.platforms import provider
from tests.support.media_files import mp4

from .conftest import Flow
from .contracts import ROOT, discovery_errors, load
from .publishing import Publishing, connect_for_publishing

DOC = "youtube/youtube.v3.json"
pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason=f"platform contracts not found at {ROOT}")


@pytest.fixture
async def yt(flow: Flow) -> Publishing:
    return await connect_for_publishing(flow, "youtube")


async def _get(yt: Publishing, path: str, **params: str) -> dict[str, Any]:
    resp = await yt.http.get(
        f"{yt.sim.base_url}/youtube{path}",
        params=params,
        headers={"Authorization": f"Bearer {yt.account.access_token}"},
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_the_upload_path_and_scopes_are_youtube_s() -> None:
    methods = load(DOC)["resources"]
    insert = methods["videos"]["methods"]["insert"]
    assert insert["mediaUpload"]["protocols"]["simple"]["path"] == "/upload/youtube/v3/videos"
    assert set(insert["mediaUpload"]["accept"]) == {"video/*", "application/octet-stream"}
    assert int(insert["mediaUpload"]["maxSize"]) == 256 * 1024**3
    scopes = set(provider("youtube").default_scopes)
    assert scopes & set(insert["scopes"])
    assert set(methods["commentThreads"]["methods"]["insert"]["scopes"]) <= scopes
    assert scopes & set(methods["search"]["methods"]["list"]["scopes"])


async def test_requests_and_answers_are_youtube_resources(yt: Publishing) -> None:
    ref = yt.media.add(mp4(320, 240, seconds=1, fps=10))
    config = {"title": "Contract", "tags": ["a b"], "category_id": "22", "privacy_status": "private"}
    config |= {"publish_at": "2031-01-01T10:00:00Z", "default_language": "en"}
    video, comment = await yt.publish(yt.context("Described", "First!", config=config, media={0: [ref]}))
    made, thread = yt.posts()
    assert discovery_errors(DOC, "Video", made["request"]) == []
    assert discovery_errors(DOC, "Video", made["response"]) == []
    assert discovery_errors(DOC, "CommentThread", thread["request"]) == []
    assert discovery_errors(DOC, "CommentThread", thread["response"]) == []
    listed = await _get(yt, "/youtube/v3/videos", part="processingDetails,status,snippet", id=video.platform_post_id)
    assert discovery_errors(DOC, "VideoListResponse", listed) == []
    assert listed["items"][0]["processingDetails"]["processingStatus"] == "succeeded"
    found = await _get(yt, "/youtube/v3/search", part="snippet", forMine="true", type="video", order="date")
    assert discovery_errors(DOC, "SearchListResponse", found) == []
    threads = await _get(yt, "/youtube/v3/commentThreads", part="snippet", videoId=video.platform_post_id)
    assert discovery_errors(DOC, "CommentThreadListResponse", threads) == []
    assert [t["id"] for t in threads["items"]] == [comment.platform_post_id]
    assert discovery_errors(DOC, "Video", {"snippet": {"title": 1}}) != []  # the check bites
