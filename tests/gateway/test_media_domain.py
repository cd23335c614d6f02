"""How a post's media references resolve against the media objects found: plain values, no I/O."""

from __future__ import annotations

from crier.contracts.common import Container, MediaRef
from crier.gateway.domain.media import StoredMedia, media_ids, resolved


def stored(media_id: str, status: str = "ready", alt_text: str | None = "own") -> StoredMedia:
    ref = MediaRef(id=media_id, alt_text=alt_text, type="image", mime="image/png", size_bytes=10, width=4, height=3)
    return StoredMedia(status, ref)  # type: ignore[arg-type]


def test_references_take_the_media_facts_and_their_own_alt_text_first() -> None:
    containers = [
        Container(content="a", media=[MediaRef(id="m1"), MediaRef(id="m2", alt_text="the post's")]),
        Container(content="b", media=[MediaRef(id="m1", alt_text="")]),
    ]
    out, problems = resolved(containers, {"m1": stored("m1"), "m2": stored("m2")})
    assert problems == []
    assert [[(m.id, m.alt_text, m.type, m.width) for m in c.media] for c in out] == [
        [("m1", "own", "image", 4), ("m2", "the post's", "image", 4)],
        [("m1", "", "image", 4)],
    ]
    assert [c.content for c in out] == ["a", "b"]


def test_unknown_and_unready_media_are_named_by_position() -> None:
    containers = [
        Container(content="a", media=[MediaRef(id="m1"), MediaRef(id="gone")]),
        Container(content="b", media=[MediaRef(id="busy")]),
    ]
    _, problems = resolved(containers, {"m1": stored("m1"), "busy": stored("busy", "processing")})
    assert [(p.field, p.code) for p in problems] == [
        ("containers[0].media[1]", "media_not_found"),
        ("containers[1].media[0]", "media_not_ready"),
    ]


def test_media_ids_are_listed_once_in_order() -> None:
    containers = [
        Container(content="a", media=[MediaRef(id="m2"), MediaRef(id="m1")]),
        Container(content="b", media=[MediaRef(id="m2"), MediaRef(id="")]),
    ]
    assert media_ids(containers) == ["m2", "m1"]
