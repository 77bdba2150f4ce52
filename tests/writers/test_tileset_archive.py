from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest

from spatialviz.writers.tileset_archive import (
    INDEX_NAME,
    ArchiveError,
    path_hash,
    read_entry,
    read_index,
    write_3tz,
)


def _tileset(root: Path) -> dict[str, bytes]:
    files = {
        "tileset.json": json.dumps({"asset": {"version": "1.1"}, "root": {}}).encode(),
        "tiles/0.glb": b"glTF" + bytes(range(256)) * 8,
        "tiles/0/1.glb": b"glTF" + b"\x01" * 999,
        "subtrees/0.0.0.0.subtree": b"subt" + b"\x00" * 64,
        "tiles/sub/tileset.json": b'{"asset":{"version":"1.1"}}',
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def test_archive_round_trip_through_the_index(tmp_path: Path) -> None:
    files = _tileset(tmp_path / "ts")
    out = tmp_path / "scene.3tz"
    assert write_3tz(tmp_path / "ts", out) == len(files)
    with zipfile.ZipFile(out) as zf:
        infos = zf.infolist()
        assert zf.testzip() is None
        assert infos[-1].filename == INDEX_NAME
        assert infos[-1].compress_type == zipfile.ZIP_STORED
        assert not infos[-1].comment
        by_name = {i.filename: i for i in infos}
        assert by_name["tiles/0.glb"].compress_type == zipfile.ZIP_STORED
        assert by_name["tileset.json"].compress_type == zipfile.ZIP_DEFLATED
        for info in infos:
            assert not info.flag_bits & 0x08  # sizes + CRC in the local header
    index = read_index(out)
    assert len(index) == len(files)
    keys = [struct.unpack("<QQ", digest) for digest, _ in index]
    assert keys == sorted(keys)
    for rel, data in files.items():
        assert read_entry(out, rel, index) == data
        assert read_entry(out, "/" + rel.replace("/", "\\")) == data
    with pytest.raises(KeyError):
        read_entry(out, "missing.glb", index)


def test_index_offsets_point_at_local_headers(tmp_path: Path) -> None:
    _tileset(tmp_path / "ts")
    out = tmp_path / "a.3tz"
    write_3tz(tmp_path / "ts", out)
    raw = out.read_bytes()
    with zipfile.ZipFile(out) as zf:
        expected = {path_hash(i.filename): i.header_offset for i in zf.infolist()[:-1]}
    for digest, offset in read_index(out):
        assert expected[digest] == offset
        assert raw[offset : offset + 4] == b"PK\x03\x04"


def test_refuses_bad_tilesets(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArchiveError, match=r"tileset\.json"):
        write_3tz(tmp_path / "empty", tmp_path / "x.3tz")
    files = tmp_path / "nested"
    _tileset(files)
    (files / "inner.3tz").write_bytes(b"zip")
    with pytest.raises(ArchiveError, match=r"\.3tz"):
        write_3tz(files, tmp_path / "y.3tz")
    assert not (tmp_path / "y.3tz").exists()
    assert not (tmp_path / "y.3tz.part").exists()
