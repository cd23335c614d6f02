"""The media API against a real gateway process (PostgreSQL, NATS, and each media store: the
JetStream object store, and an S3 bucket on an S3-compatible server): uploads streamed by multipart
and fetched by URL from a loopback server the gateway is told to allow, what inspection finds in
the bytes, the limits, listing and deleting within one organization and mode, and the signed URL
platforms pull the bytes from."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from crier.kit.media.signing import MediaUrlSigner
from tests.gateway.conftest import BusDriver, Gateway, Org, start_gateway
from tests.support import media_files, s3
from tests.support.s3 import s3_endpoint  # noqa: F401  (the fixture)
from tests.support.stack import Infra

MAX_BYTES = 4 << 20


def start_media_gateway(infra: Infra, tmp: Path, env: dict[str, str] | None = None) -> Gateway:
    services, api_url = start_gateway(
        infra,
        tmp,
        env={
            "CRIER_MEDIA_FETCH_ALLOWED_NETWORKS": "127.0.0.1/32",
            "CRIER_MEDIA_MAX_BYTES": str(MAX_BYTES),
            **(env or {}),
        },
    )
    driver = BusDriver(infra.nats_url, services.namespace)
    driver.serve_fake_connect()
    return Gateway(services, api_url, driver)


def stop_media_gateway(gw: Gateway) -> None:
    gw.driver.close()
    gw.services.supervisor.stop_all()


@pytest.fixture(scope="module", params=["nats", "s3"])
def media_gw(
    request: pytest.FixtureRequest, infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    env = {}
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        env = {"CRIER_MEDIA_STORE": "s3://media/gateway", "CRIER_MEDIA_S3_ENDPOINT": endpoint, **s3.CREDENTIALS}
    gw = start_media_gateway(infra, tmp_path_factory.mktemp(f"media-gateway-{request.param}"), env)
    yield gw
    stop_media_gateway(gw)


def new_media_org(gw: Gateway) -> Org:
    """An organization with a sandbox X account for its test key."""
    org = gw.new_org("media")
    org.accounts["x"] = gw.sandbox_account(org, "x")["id"]
    return org


@pytest.fixture
def media_org(media_gw: Gateway) -> Org:
    return new_media_org(media_gw)


class Files:
    """A loopback HTTP server with files at paths, and redirects between them."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.redirects: dict[str, str] = {}
        files, redirects = self.files, self.redirects

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data, mime = files.get(self.path, (b"", ""))
                self.send_response(200 if mime else 404)
                self.send_header("Content-Type", mime or "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def files() -> Iterator[Files]:
    served = Files()
    yield served
    served.close()


def upload(
    c: httpx.Client, data: bytes, name: str = "file.bin", mime: str = "application/octet-stream", **form: str
) -> httpx.Response:
    return c.post("/media", files={"file": (name, data, mime)}, data=form or None)


def signer(gw: Gateway) -> MediaUrlSigner:
    return MediaUrlSigner(gw.services.env["CRIER_ENCRYPTION_KEYS"], gw.api_url, 3600)


def test_uploads_are_inspected_from_their_bytes(media_gw: Gateway, media_org: Org) -> None:
    png, gif, mp4 = (
        media_files.png(640, 480),
        media_files.gif(48, 32, frames=3),
        media_files.mp4(320, 240, seconds=1.0, fps=25),
    )
    with media_org.test() as c:
        got_png = upload(c, png, "red.png", "image/png", alt_text="a red rectangle")
        got_gif = upload(c, gif, "loop.gif", "image/gif")
        got_mp4 = upload(c, mp4, "clip.mp4", "video/mp4")
    assert [r.status_code for r in (got_png, got_gif, got_mp4)] == [201, 201, 201], got_png.text + got_mp4.text
    image, anim, video = got_png.json(), got_gif.json(), got_mp4.json()
    assert image["id"].startswith("med_")
    assert (image["type"], image["mime"], image["width"], image["height"]) == ("image", "image/png", 640, 480)
    assert (image["status"], image["alt_text"], image["failure_reason"]) == ("ready", "a red rectangle", None)
    assert (image["bytes"], image["sha256"]) == (len(png), hashlib.sha256(png).hexdigest())
    assert (anim["type"], anim["mime"], anim["width"], anim["height"]) == ("gif", "image/gif", 48, 32)
    assert (video["type"], video["mime"], video["width"], video["height"]) == ("video", "video/mp4", 320, 240)
    assert video["codec"] == "h264"
    assert video["frame_rate"] == pytest.approx(25, abs=0.5)
    assert video["duration_s"] == pytest.approx(1.0, abs=0.15)
    assert (video["bytes"], video["sha256"]) == (len(mp4), hashlib.sha256(mp4).hexdigest())


def test_the_name_and_content_type_do_not_decide_the_type(media_gw: Gateway, media_org: Org) -> None:
    with media_org.test() as c:
        got = upload(c, media_files.jpeg(40, 30), "photo.png", "image/png")
    assert got.status_code == 201, got.text
    assert (got.json()["type"], got.json()["mime"]) == ("image", "image/jpeg")


def test_an_image_loses_its_location_and_is_turned_upright(media_gw: Gateway, media_org: Org) -> None:
    # Orientation 6: the camera held on its side; stored 64x48, shown 48x64.
    raw = media_files.jpeg(64, 48, orientation=6, gps=True)
    with media_org.test() as c:
        got = upload(c, raw, "phone.jpg", "image/jpeg").json()
    assert (got["width"], got["height"]) == (48, 64)
    assert got["sha256"] != hashlib.sha256(raw).hexdigest()
    stored = httpx.get(signer(media_gw).url(got["id"]), timeout=10)
    assert stored.status_code == 200
    assert (len(stored.content), hashlib.sha256(stored.content).hexdigest()) == (got["bytes"], got["sha256"])
    assert b"GPS" not in stored.content and b"Exif" not in stored.content


def test_a_file_that_is_no_media_is_refused_and_leaves_nothing(media_gw: Gateway, media_org: Org) -> None:
    with media_org.test() as c:
        got = upload(c, b"%PDF-1.7\n" + b"x" * 2000, "doc.png", "image/png")
        listed = c.get("/media").json()
    assert got.status_code == 422
    assert got.json()["error"]["code"] == "media_unreadable"
    assert listed["data"] == []


def test_a_declared_2gb_upload_is_refused_before_its_body_is_sent(media_gw: Gateway, media_org: Org) -> None:
    where = urlsplit(media_gw.api_url)
    started = time.monotonic()
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/media HTTP/1.1\r\n"
            + f"Host: {where.netloc}\r\nAuthorization: Bearer {media_org.test_key}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=b0undary\r\n"
            + b"Content-Length: 2147483648\r\n\r\n"
            + b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'
        )
        answer = _read_response(sock)
    assert time.monotonic() - started < 5
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"media_too_large"' in answer


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_a_file_over_the_limit_is_refused_while_it_streams(media_gw: Gateway, media_org: Org) -> None:
    # The declared length is within the limit's framing allowance: only the streamed file is over it.
    with media_org.test() as c:
        got = upload(c, b"\x00" * (MAX_BYTES + 1), "big.bin")
        listed = c.get("/media").json()
    assert got.status_code == 413
    assert got.json()["error"]["code"] == "media_too_large"
    assert listed["data"] == []


def test_media_is_fetched_from_a_url_following_redirects(media_gw: Gateway, media_org: Org, files: Files) -> None:
    png, mp4 = media_files.png(120, 90), media_files.mp4(160, 120, seconds=0.5, fps=30)
    files.files["/a.png"] = (png, "image/png")
    files.files["/v/clip"] = (mp4, "application/octet-stream")
    files.redirects["/old-clip"] = "/v/clip"
    with media_org.test() as c:
        image = c.post("/media", json={"url": files.url("/a.png"), "alt_text": "fetched"})
        video = c.post("/media", json={"url": files.url("/old-clip")})
        missing = c.post("/media", json={"url": files.url("/nothing")})
    assert image.status_code == 201, image.text
    assert (image.json()["type"], image.json()["width"], image.json()["alt_text"]) == ("image", 120, "fetched")
    assert image.json()["source_url"] == files.url("/a.png")
    assert video.status_code == 201, video.text
    assert (video.json()["type"], video.json()["sha256"]) == ("video", hashlib.sha256(mp4).hexdigest())
    assert missing.status_code == 422
    assert (missing.json()["error"]["code"], missing.json()["error"]["details"]["reason"]) == (
        "media_fetch_failed",
        "http_status",
    )


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/a.png", "http://169.254.169.254/latest/meta-data", "https://[::1]/a.png"]
)
def test_a_url_to_a_private_address_is_refused(media_gw: Gateway, media_org: Org, url: str) -> None:
    with media_org.test() as c:
        got = c.post("/media", json={"url": url})
    assert got.status_code == 422
    assert got.json()["error"]["details"]["reason"] == "blocked_address"


def test_a_redirect_to_a_private_address_is_refused(media_gw: Gateway, media_org: Org, files: Files) -> None:
    files.redirects["/to-metadata"] = "http://169.254.169.254/latest/meta-data"
    with media_org.test() as c:
        got = c.post("/media", json={"url": files.url("/to-metadata")})
    assert got.status_code == 422
    assert got.json()["error"]["details"]["reason"] == "blocked_address"


def test_loopback_is_refused_where_it_is_not_allowed(gateway: Gateway, org: Org, files: Files) -> None:
    files.files["/ok.png"] = (media_files.png(), "image/png")
    with org.test() as c:
        got = c.post("/media", json={"url": files.url("/ok.png")})
    assert got.status_code == 422
    assert got.json()["error"]["details"]["reason"] == "blocked_address"


def test_list_get_describe_and_delete(media_gw: Gateway, media_org: Org) -> None:
    with media_org.test() as c:
        made = [upload(c, media_files.png(10 + i, 10)).json() for i in range(3)]
        clip = upload(c, media_files.gif()).json()
        first = c.get("/media", params={"limit": 2})
        second = c.get("/media", params={"limit": 2, "cursor": first.json()["next_cursor"]})
        gifs = c.get("/media", params={"type": "gif"}).json()["data"]
        bad = c.get("/media", params={"status": "lost"})
        described = c.patch(f"/media/{made[0]['id']}", json={"alt_text": "now described"})
        read = c.get(f"/media/{made[0]['id']}").json()
        deleted = c.delete(f"/media/{made[1]['id']}")
        gone = c.get(f"/media/{made[1]['id']}")
    listed = [m["id"] for m in first.json()["data"] + second.json()["data"]]
    assert listed == [clip["id"], *[m["id"] for m in reversed(made)]]
    assert second.json()["next_cursor"] is None
    assert [m["id"] for m in gifs] == [clip["id"]]
    assert bad.status_code == 422
    assert described.status_code == 200 and read["alt_text"] == "now described"
    assert deleted.json() == {"id": made[1]["id"], "deleted": True}
    assert gone.status_code == 404
    assert httpx.get(signer(media_gw).url(made[1]["id"]), timeout=10).status_code == 404


def test_another_organization_or_mode_sees_none_of_it(media_gw: Gateway, media_org: Org) -> None:
    other = media_gw.new_org("other")
    with media_org.test() as c:
        mine = upload(c, media_files.png()).json()["id"]
    for client in (other.test(), other.live(), media_org.live()):
        with client as c:
            assert c.get(f"/media/{mine}").status_code == 404
            assert c.patch(f"/media/{mine}", json={"alt_text": "x"}).status_code == 404
            assert c.delete(f"/media/{mine}").status_code == 404
            assert c.get("/media").json()["data"] == []
    with media_org.test() as c:
        assert c.get(f"/media/{mine}").status_code == 200


def test_the_signed_url_serves_the_exact_bytes_and_nothing_else(media_gw: Gateway, media_org: Org) -> None:
    mp4 = media_files.mp4(64, 48, seconds=0.5)
    with media_org.test() as c:
        media_id = upload(c, mp4, "clip.mp4").json()["id"]
    url = signer(media_gw).url(media_id)
    got = httpx.get(url, timeout=10)
    assert got.status_code == 200
    assert got.content == mp4
    endpoint = media_gw.services.env.get("CRIER_MEDIA_S3_ENDPOINT")
    if endpoint:  # the bytes are in the bucket, not somewhere else
        assert f"<Key>gateway/{media_id}</Key>" in httpx.get(f"{endpoint}/media?list-type=2", timeout=10).text
    assert (got.headers["content-type"], got.headers["content-length"]) == ("video/mp4", str(len(mp4)))
    signature = url.rsplit("signature=", 1)[1]
    tampered = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    expired = signer(media_gw).url(media_id, now=time.time() - 7200)
    other_id = url.replace(media_id, media_id[:-1] + ("0" if media_id[-1] != "0" else "1"))
    unsigned = url.split("?", 1)[0]
    for refused in (tampered, expired, other_id, unsigned):
        answer = httpx.get(refused, timeout=10)
        assert answer.status_code == 403, refused
        assert answer.json()["error"]["code"] == "invalid_signature"


def test_malformed_uploads_are_refused_with_what_is_wrong(media_gw: Gateway, media_org: Org) -> None:
    png = media_files.png()
    with media_org.test() as c:
        no_file = c.post("/media", files={"picture": ("a.png", png, "image/png")})
        two_files = c.post(
            "/media", files=[("file", ("a.png", png, "image/png")), ("file", ("b.png", png, "image/png"))]
        )
        cut_short = c.post(
            "/media",
            content=b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\n' + png,
            headers={"content-type": "multipart/form-data; boundary=xyz"},
        )
        no_boundary = c.post("/media", content=png, headers={"content-type": "multipart/form-data"})
        raw = c.post("/media", content=b"just text", headers={"content-type": "text/plain"})
        long_alt = upload(c, png, alt_text="a" * 1501)
        bad_url = c.post("/media", json={"url": "ftp://example.com/a.png"})
        listed = c.get("/media").json()["data"]
    assert (no_file.status_code, no_file.json()["error"]["details"]["fields"][0]["field"]) == (422, "file")
    assert (two_files.status_code, two_files.json()["error"]["details"]["fields"][0]["code"]) == (422, "one_file")
    assert (cut_short.status_code, cut_short.json()["error"]["code"]) == (400, "invalid_multipart")
    assert (no_boundary.status_code, no_boundary.json()["error"]["code"]) == (400, "invalid_multipart")
    assert (raw.status_code, raw.json()["error"]["code"]) == (415, "unsupported_media_type")
    assert (long_alt.status_code, long_alt.json()["error"]["details"]["fields"][0]["field"]) == (422, "alt_text")
    assert (bad_url.status_code, bad_url.json()["error"]["details"]["reason"]) == (422, "invalid_url")
    assert listed == []
