"""The built web client (make web) ships each Draco decoder file once: three's DRACOLoader
names a second, glTF-only build that Vite emitted next to the one it loads (issue "The
Draco decoder is built twice"); web/vite.config.ts folds those URLs into the default build."""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest

from spatialviz.web import STATIC_DIR

ASSETS = STATIC_DIR / "assets"
REQUIRED = os.environ.get("SPATIALVIZ_REQUIRE_BROWSER") == "1"

_HASHED = re.compile(r"^(?P<stem>.+)-[A-Za-z0-9_-]{8}(?P<ext>\.[a-z]+)$")
"""Vite's `[name]-[hash][extname]`; the 8-character hash may itself hold '-' or '_'."""


def asset_names() -> list[str]:
    """The built asset names without their content hash (draco_decoder-Z1_iN-Ht.wasm ->
    draco_decoder.wasm), one entry per file."""
    if not (STATIC_DIR / "index.html").is_file():
        if REQUIRED:
            pytest.fail("the web client is not built (make web)")
        pytest.skip("the web client is not built (make web)")
    names = []
    for path in ASSETS.iterdir():
        match = _HASHED.match(path.name)
        names.append(f"{match['stem']}{match['ext']}" if match else path.name)
    return names


def test_each_draco_decoder_file_is_built_once() -> None:
    counts = Counter(asset_names())
    assert counts["draco_decoder.wasm"] == 1, counts
    assert counts["draco_wasm_wrapper.js"] == 1, counts
    # The asm.js decoder for browsers without WebAssembly: at most one, fetched only there.
    assert counts["draco_decoder.js"] <= 1, counts


def test_no_webassembly_module_is_built_twice() -> None:
    counts = Counter(name for name in asset_names() if name.endswith(".wasm"))
    assert all(n == 1 for n in counts.values()), counts
