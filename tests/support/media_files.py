"""Media files made by the tests (nothing binary is kept in the repository): images through Pillow,
video through PyAV, each with the facts a `MediaRef` carries about it.

    data = png(640, 480)
    ref = media_ref(data, alt_text="a red square")   # type, mime, size, sha256, width, height, ...
"""

from __future__ import annotations

import hashlib
import io
import secrets
from typing import Any

import av
from PIL import Image

from crier.contracts.common import MediaRef


def _image(width: int, height: int, color: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", (width, height), color)


def png(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    _image(width, height, color).save(out, format="PNG")
    return out.getvalue()


def jpeg(
    width: int = 64, height: int = 48, *, quality: int = 90, orientation: int | None = None, gps: bool = False
) -> bytes:
    """A JPEG; with an EXIF `orientation` tag and/or a GPS position, as a phone camera writes them."""
    img = _image(width, height, (30, 120, 200))
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality, exif=exif.tobytes() if len(exif) else b"")
    return out.getvalue()


def noisy_jpeg(width: int, height: int, *, quality: int = 95) -> bytes:
    """A JPEG that does not compress well (random pixels): for size limits."""
    img = Image.frombytes("RGB", (width, height), secrets.token_bytes(width * height * 3))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def gif(width: int = 48, height: int = 48, frames: int = 3) -> bytes:
    images = [_image(width, height, (i * 60 % 256, 100, 50)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def mp4(width: int = 320, height: int = 240, *, seconds: float = 2.0, fps: int = 30, noise: bool = False) -> bytes:
    """An H.264 MP4 of `seconds` at `fps` frames a second; of random pixels with `noise` (a file
    that does not compress: for a platform's minimum size)."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(round(seconds * fps)):
            picture = (
                Image.frombytes("RGB", (width, height), secrets.token_bytes(width * height * 3))
                if noise
                else _image(width, height, (i * 4 % 256, 40, 90))
            )
            frame = av.VideoFrame.from_image(picture)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def media_ref(data: bytes, *, alt_text: str | None = None, media_id: str | None = None, **over: Any) -> MediaRef:
    """A `MediaRef` with what `data` is, as the gateway would record it at create."""
    facts: dict[str, Any]
    try:
        with Image.open(io.BytesIO(data)) as img:
            kind = "gif" if img.format == "GIF" else "image"
            facts = {"type": kind, "mime": Image.MIME[img.format or "PNG"], "width": img.width, "height": img.height}
    except OSError:
        with av.open(io.BytesIO(data)) as container:
            video = container.streams.video[0]
            facts = {
                "type": "video",
                "mime": "video/mp4",
                "width": video.width,
                "height": video.height,
                "duration_s": container.duration / 1_000_000 if container.duration else None,
                "frame_rate": float(video.average_rate) if video.average_rate else None,
                "codec": video.codec_context.name,
            }
    media_id = media_id or f"med_{secrets.token_hex(6)}"
    facts |= {"size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "key": media_id}
    return MediaRef(id=media_id, alt_text=alt_text, **(facts | over))
