"""Accept-Encoding negotiation and the compressible-type rule (kit/encodings.py)."""

from __future__ import annotations

import pytest

from spatialviz.kit.encodings import add_vary, choose_coding, is_compressible

BEST_FIRST = ("br", "gzip")


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, "identity"),  # a client that says nothing may not decode anything
        ("", "identity"),
        ("gzip, deflate, br, zstd", "br"),  # Chromium: ties go to the server's order
        ("gzip, deflate", "gzip"),
        ("GZIP", "gzip"),
        ("br;q=0.5, gzip;q=0.9", "gzip"),  # the client's weights first
        ("br;q=0, gzip", "gzip"),
        ("br;q=0, gzip;q=0", "identity"),
        ("*", "br"),
        ("*;q=0.1, br;q=0", "gzip"),
        ("identity", "identity"),
        ("gzip;q=nonsense, br;q=0.2", "br"),  # a malformed weight counts as a no
        ("deflate", "identity"),
        ("br ; q=1.0 , gzip ; q=1.0", "br"),
    ],
)
def test_choose_coding(header: str | None, chosen: str) -> None:
    assert choose_coding(header, BEST_FIRST) == chosen


def test_only_what_the_server_has_is_chosen() -> None:
    assert choose_coding("br, gzip", ("gzip",)) == "gzip"
    assert choose_coding("br", ("gzip",)) == "identity"
    assert choose_coding("br, gzip", ()) == "identity"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/problem+json",
        "application/json; charset=utf-8",
        "text/html; charset=utf-8",
        "text/javascript",
        "text/css",
        "text/plain; version=0.0.4",  # /metrics
        "application/wasm",
        "image/svg+xml",
        "model/gltf+json",
        "application/geo+json",
    ],
)
def test_compressible(content_type: str) -> None:
    assert is_compressible(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "model/gltf-binary",  # tiles: meshopt/Draco already
        "application/octet-stream",
        "model/vnd.usdz+zip",
        "application/vnd.maxar.archive.3tz+zip",
        "image/png",
        "image/ktx2",
        "text/event-stream",
        "",
    ],
)
def test_not_compressible(content_type: str) -> None:
    assert not is_compressible(content_type)


def test_add_vary_keeps_one_accept_encoding() -> None:
    assert add_vary(None) == "Accept-Encoding"
    assert add_vary("Origin") == "Origin, Accept-Encoding"
    assert add_vary("origin, accept-encoding") == "origin, accept-encoding"
    assert add_vary("*") == "*"
