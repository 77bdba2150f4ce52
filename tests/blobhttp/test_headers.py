from __future__ import annotations

import io

import pytest

from spatialviz.blobhttp.headers import (
    CACHE_IMMUTABLE,
    RangeNotSatisfiable,
    attachment_disposition,
    cache_control_for,
    content_hash,
    content_range,
    content_type_for,
    evaluate_conditional,
    file_hash,
    parse_range,
    strong_etag,
)


def test_etag_from_content_hash() -> None:
    digest = content_hash(b"tile bytes")
    assert file_hash(io.BytesIO(b"tile bytes"), chunk_size=3) == digest
    etag = strong_etag(digest)
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert len(etag) == 34
    with pytest.raises(ValueError, match="hex"):
        strong_etag("not-a-hash")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ('"x","y"', False),
        ("*", True),
        ('"ab"', False),
    ],
)
def test_if_none_match(header: str | None, expected: bool) -> None:
    assert evaluate_conditional(header, '"abc"') is expected


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 1000, None),
        ("bytes=0-", 1000, (0, 999)),
        ("bytes=0-99", 1000, (0, 99)),
        ("bytes=100-", 1000, (100, 999)),
        ("bytes=-500", 1000, (500, 999)),
        ("bytes=-5000", 1000, (0, 999)),
        ("bytes=990-2000", 1000, (990, 999)),
        ("bytes=999-999", 1000, (999, 999)),
        ("Bytes = 1 - 2", 1000, (1, 2)),
        ("bytes=5-2", 1000, None),
        ("bytes=0-1,5-9", 1000, None),
        ("items=0-5", 1000, None),
        ("bytes=abc", 1000, None),
        ("bytes=-", 1000, None),
        ("bytes=1.5-3", 1000, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=1000-", 1000),
        ("bytes=5000-6000", 1000),
        ("bytes=-0", 1000),
        ("bytes=0-", 0),
        ("bytes=-10", 0),
    ],
)
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range(header, size)
    assert info.value.size == size


def test_content_types_and_cache_control() -> None:
    assert content_type_for("tileset.json") == "application/json"
    assert content_type_for("tiles/0/1.GLB") == "model/gltf-binary"
    assert content_type_for("a.subtree") == "application/octet-stream"
    assert content_type_for("export.usdz") == "model/vnd.usdz+zip"
    assert content_type_for("export.3tz") == "application/vnd.maxar.archive.3tz+zip"
    assert content_type_for("x.bin") == "application/octet-stream"
    assert content_type_for("noext") == "application/octet-stream"
    assert cache_control_for("tiles/a/tileset.json").startswith("public, max-age=60")
    assert cache_control_for("tiles/0.glb") == CACHE_IMMUTABLE
    assert content_range(0, 99, 1000) == "bytes 0-99/1000"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("scene.glb", 'attachment; filename="scene.glb"'),
        (
            "点群.glb",
            "attachment; filename=\"__.glb\"; filename*=UTF-8''%E7%82%B9%E7%BE%A4.glb",
        ),
        (
            'a "quoted"\\name;.usdz',
            'attachment; filename="a__quoted__name_.usdz"; '
            "filename*=UTF-8''a%20%22quoted%22%5Cname%3B.usdz",
        ),
    ],
)
def test_attachment_disposition(name: str, expected: str) -> None:
    value = attachment_disposition(name)
    assert value == expected
    value.encode("latin-1")  # what a header must be
