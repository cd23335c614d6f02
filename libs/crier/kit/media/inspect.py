"""What a media file really is, read from its bytes (never its name or the client's Content-Type),
and the few changes Crier makes to images before any platform sees them.

Images go through Pillow, limited to the formats the platforms take (JPEG, PNG, WebP, GIF): Pillow
only reads the header to open a file, so inspection costs the same for 100 KB and 40 MB. Pillow's
decompression-bomb limit (`Image.MAX_IMAGE_PIXELS`, about 89 megapixels) is our limit too: a small
file claiming huge dimensions would otherwise cost gigabytes when a later step decodes it. Video
goes through PyAV (FFmpeg's libraries, shipped in the wheel): the container and stream headers give
size, duration, frame rate and codec, and one decoded frame the display rotation a phone records
(a portrait video is stored landscape with a rotation; platforms judge the upright picture).

`clean_image` applies the EXIF orientation to the pixels and drops EXIF and XMP, which is where a
phone writes where the photo was taken; `shrink_image` re-encodes an image under a byte limit
(Bluesky's blob limit). Both decode the whole picture, so they are bounded by the pixel limit above.

Every function here is synchronous and CPU-bound: callers run them in a worker thread. Decoders of
hostile bytes raise anything from `OSError` to `struct.error`; whatever they raise means "Crier
cannot read this", so it becomes `NotMedia` with a reason the user can act on.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import av
from av.container import InputContainer
from av.video.stream import VideoStream
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

# Pillow's openers Crier uses; a JPEG with extra frames (a phone's depth map) opens as format "MPO".
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MAX_VIDEO_SIDE = 16384
_EXIF_ORIENTATION = 0x0112
_READ = "not an image or video Crier can read"
# Video files people have that the platforms do not take: worth a message naming the format.
_OTHER_VIDEO_CONTAINERS = {"avi", "flv", "asf", "mpegts", "mpeg", "ogg", "rm", "nut"}


# The same literal as `crier.contracts.common.MediaType` (and interchangeable with it for the type
# checker): the kit may not import the contracts.
MediaType = Literal["image", "gif", "video"]


class NotMedia(ValueError):
    """The file is not an image, GIF or video Crier can take; the message says why, for the user."""


@dataclass(frozen=True)
class Inspection:
    type: MediaType
    mime: str
    width: int | None
    height: int | None
    duration_s: float | None
    frame_rate: float | None
    codec: str | None


def inspect_file(path: Path) -> Inspection:
    """The facts of the file at `path`; `NotMedia` if it is not an image or video Crier can take."""
    try:
        img = Image.open(path, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError:
        raise NotMedia(_too_many_pixels()) from None
    except UnidentifiedImageError:
        return _inspect_video(path)
    except FileNotFoundError:
        raise  # the caller's mistake, not the user's
    except Exception:
        raise NotMedia(_READ) from None
    with img:
        return _inspect_image(img)


def _inspect_image(img: Image.Image) -> Inspection:
    fmt = img.format or ""
    width, height = img.size
    _check_pixels(width, height)
    try:
        # EXIF sits in the header of JPEG and WebP; in a PNG it may follow the picture data, and
        # reading it would decode the whole image (browsers do not turn PNGs by it anyway).
        orientation = img.getexif().get(_EXIF_ORIENTATION) if fmt in ("JPEG", "MPO", "WEBP") else None
        img.verify()  # PNG: every chunk's CRC, without decoding the picture
    except Exception:
        raise NotMedia(f"{_READ}: the {fmt} file is damaged") from None
    if orientation in (5, 6, 7, 8):  # rotated a quarter turn: shown with width and height swapped
        width, height = height, width
    return Inspection(
        type="gif" if fmt == "GIF" else "image",
        mime="image/jpeg" if fmt == "MPO" else Image.MIME[fmt],
        width=width,
        height=height,
        duration_s=None,
        frame_rate=None,
        codec=None,
    )


def _inspect_video(path: Path) -> Inspection:
    # A file object, not the path: FFmpeg's probe would take the file name's extension as a hint.
    with path.open("rb") as file:
        try:
            container = av.open(file, "r", metadata_errors="ignore")
        except Exception:
            raise NotMedia(_READ) from None
        with container:
            return _video_facts(container, path)


def _video_facts(container: InputContainer, path: Path) -> Inspection:
    mime = _video_mime(container, path)
    if not container.streams.video:
        raise NotMedia("the video has no video stream (audio only?)")
    stream = container.streams.video[0]
    try:
        width, height = stream.codec_context.width, stream.codec_context.height
        rotation = next(container.decode(stream)).rotation
    except Exception:
        raise NotMedia("the video's pictures cannot be decoded") from None
    if not (0 < width <= MAX_VIDEO_SIDE and 0 < height <= MAX_VIDEO_SIDE):
        raise NotMedia(f"the video is {width}x{height}: at most {MAX_VIDEO_SIDE} pixels a side")
    if round(abs(rotation)) % 180 == 90:
        width, height = height, width
    rate = stream.average_rate or stream.guessed_rate
    return Inspection(
        type="video",
        mime=mime,
        width=width,
        height=height,
        duration_s=_duration(container, stream),
        frame_rate=float(rate) if rate else None,
        codec=stream.codec_context.name,
    )


def _video_mime(container: InputContainer, path: Path) -> str:
    names = set(container.format.name.split(","))
    if "mp4" in names:
        # One FFmpeg demuxer reads MP4 and QuickTime; the file type box's brand tells them apart.
        return "video/quicktime" if container.metadata.get("major_brand", "").strip() == "qt" else "video/mp4"
    if "matroska" in names:
        # Likewise Matroska and WebM: the EBML header's DocType, within the file's first bytes.
        with path.open("rb") as f:
            head = f.read(64)
        return "video/webm" if b"\x42\x82\x84webm" in head else "video/x-matroska"
    if names & _OTHER_VIDEO_CONTAINERS:
        raise NotMedia(f"{container.format.long_name} videos are not supported: use MP4, MOV or WebM")
    # FFmpeg also "opens" raw streams, image sequences and text: nothing a user would call a video.
    raise NotMedia(_READ)


def _duration(container: InputContainer, stream: VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(container.duration / av.time_base)
    return None


def _check_pixels(width: int, height: int) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    if width <= 0 or height <= 0 or (limit is not None and width * height > limit):
        raise NotMedia(_too_many_pixels(width, height))


def _too_many_pixels(width: int | None = None, height: int | None = None) -> str:
    size = f" ({width}x{height})" if width else ""
    limit = (Image.MAX_IMAGE_PIXELS or 0) // 1_000_000
    return f"the image is too large{size}: at most {limit} megapixels"


def clean_image(path: Path) -> bool:
    """Turns the pixels upright by the EXIF orientation and drops EXIF and XMP (where cameras write
    the location), keeping the ICC profile; rewrites the file in its own format only when it carries
    such metadata. Whether the file changed. GIFs and animated images are left as they are:
    re-encoding their frames risks their palette and timing, and they carry no camera metadata."""
    tmp = path.with_name(f".{path.name}.clean")
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as img:
            _check_pixels(*img.size)
            # An MPO's extra frames are a phone's depth map or preview: its first frame is the photo.
            if img.format == "GIF" or (img.format != "MPO" and getattr(img, "n_frames", 1) > 1):
                return False
            exif = img.getexif()
            if not exif and "xmp" not in img.info:
                return False
            rotated = exif.get(_EXIF_ORIENTATION, 1) not in (None, 1)
            picture = ImageOps.exif_transpose(img) if rotated else img
            fmt = "JPEG" if img.format == "MPO" else img.format
            # Written beside the file and renamed over it: a failure never leaves half a picture.
            picture.save(tmp, format=fmt, **_save_options(img, rotated=rotated))
        os.replace(tmp, path)
        return True
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, NotMedia):
            raise
        raise NotMedia(_READ) from None


def _save_options(img: Image.Image, *, rotated: bool) -> dict[str, Any]:
    # No exif/xmp/comment given: Pillow writes none, which is the point.
    options: dict[str, Any] = {"icc_profile": img.info.get("icc_profile"), "exif": b"", "comment": b""}
    if isinstance(img, JpegImagePlugin.JpegImageFile):
        if img.format == "JPEG" and not rotated:
            options |= {"quality": "keep"}
        else:  # the original's tables and sampling: the same quality, not Pillow's default 75
            options |= {"qtables": img.quantization, "subsampling": JpegImagePlugin.get_sampling(img)}
        options |= {"progressive": bool(img.info.get("progressive")), "dpi": img.info.get("dpi", (72, 72))}
    elif img.format == "WEBP":
        options |= {"quality": 90}
    return options


def shrink_image(data: bytes, max_bytes: int) -> bytes:
    """`data` re-encoded as a JPEG of at most `max_bytes`: quality stepped down first (invisible at
    phone sizes), then the picture scaled down. `data` itself when it already fits."""
    if len(data) <= max_bytes:
        return data
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as img:
            _check_pixels(*img.size)
            picture = _flatten(ImageOps.exif_transpose(img))
    except NotMedia:
        raise
    except Exception:
        raise NotMedia(_READ) from None
    for quality in (90, 82, 75, 68, 60):
        out = _jpeg(picture, quality)
        if len(out) <= max_bytes:
            return out
    while min(picture.size) > 64:
        # JPEG size goes roughly with the pixel count: aim a little under the limit.
        scale = max(0.5, min(0.9, (max_bytes / len(out)) ** 0.5 * 0.95))
        picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))))
        out = _jpeg(picture, 75)
        if len(out) <= max_bytes:
            return out
    raise NotMedia(f"the image cannot be made smaller than {max_bytes} bytes")


def _flatten(img: Image.Image) -> Image.Image:
    """RGB, transparent areas on white: JPEG has no alpha."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()
