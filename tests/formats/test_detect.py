from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from spatialviz.formats import FormatError, ReaderLimits, detect_format, open_reader


def _table() -> pa.Table:
    return pa.table({"x": [1.0, 2.0], "y": [3.0, 4.0], "z": [5.0, 6.0]})


@pytest.mark.filterwarnings("ignore:Feather V1")
def test_detects_binary_formats(tmp_path: Path, make_las: Callable[..., Path]) -> None:
    assert detect_format(make_las("a.las")) == "las"
    assert detect_format(make_las("b.laz", compress=True)) == "laz"
    pq.write_table(_table(), tmp_path / "t.parquet")
    assert detect_format(tmp_path / "t.parquet") == "parquet"
    feather.write_feather(_table(), tmp_path / "t.feather")
    assert detect_format(tmp_path / "t.feather") == "arrow"
    feather.write_feather(_table(), tmp_path / "v1.feather", version=1)
    assert detect_format(tmp_path / "v1.feather") == "feather"
    with ipc.new_stream(tmp_path / "t.arrows", _table().schema) as w:
        w.write_table(_table())
    assert detect_format(tmp_path / "t.arrows") == "arrow_stream"
    (tmp_path / "p.ply").write_bytes(b"ply\nformat ascii 1.0\nend_header\n")
    assert detect_format(tmp_path / "p.ply") == "ply"


def test_detects_text_formats_without_extension(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x,y,z\n1,2,3\n")
    (tmp_path / "b").write_text('{"x": 1, "y": 2}\n{"x": 3, "y": 4}\n')
    (tmp_path / "c").write_text('{"type": "FeatureCollection", "features": []}')
    assert detect_format(tmp_path / "a") == "csv"
    assert detect_format(tmp_path / "b") == "ndjson"
    assert detect_format(tmp_path / "c") == "geojson"


def _code(path: Path) -> str:
    with pytest.raises(FormatError) as info:
        detect_format(path)
    return info.value.code


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.las").write_bytes(b"")
    assert _code(tmp_path / "e.las") == "empty_file"


def _archives(tmp_path: Path) -> list[Path]:
    payload = b"x,y,z\n1,2,3\n"
    zpath = tmp_path / "a.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("a.csv", payload)
    tpath = tmp_path / "a.tar"
    with tarfile.open(tpath, "w") as t:
        info = tarfile.TarInfo("a.csv")
        info.size = len(payload)
        t.addfile(info, io.BytesIO(payload))
    out = [zpath, tpath]
    for name, data in [
        ("a.csv.gz", gzip.compress(payload)),
        ("a.bz2", bz2.compress(payload)),
        ("a.xz", lzma.compress(payload)),
        ("a.7z", b"7z\xbc\xaf\x27\x1c" + b"\x00" * 32),
        ("a.rar", b"Rar!\x1a\x07\x01\x00" + b"\x00" * 32),
        ("a.zst", b"\x28\xb5\x2f\xfd" + b"\x00" * 32),
        # an archive disguised under a point-cloud name is still an archive
        ("disguised.las", gzip.compress(payload)),
    ]:
        (tmp_path / name).write_bytes(data)
        out.append(tmp_path / name)
    return out


def test_archives_are_refused(tmp_path: Path) -> None:
    for path in _archives(tmp_path):
        assert _code(path) == "archive_not_supported", path.name


def test_content_mismatch(tmp_path: Path, make_las: Callable[..., Path]) -> None:
    (tmp_path / "fake.las").write_text("x,y,z\n1,2,3\n")
    assert _code(tmp_path / "fake.las") == "content_mismatch"
    las = make_las("real.las")
    renamed = las.rename(tmp_path / "real.csv")
    assert _code(renamed) == "content_mismatch"
    (tmp_path / "fake.parquet").write_bytes(b"ply\nformat ascii 1.0\nend_header\n")
    assert _code(tmp_path / "fake.parquet") == "content_mismatch"


def test_requested_format_must_match_content(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("x,y,z\n1,2,3\n")
    with pytest.raises(FormatError) as info:
        open_reader(tmp_path / "data", ReaderLimits(), format="las")
    assert info.value.code == "content_mismatch"
    with pytest.raises(FormatError) as info:
        open_reader(tmp_path / "data", ReaderLimits(), format="shapefile")
    assert info.value.code == "unknown_format"


def test_laz_named_las_is_accepted(make_las: Callable[..., Path]) -> None:
    laz = make_las("compressed.laz", compress=True)
    assert detect_format(laz.rename(laz.with_suffix(".las"))) == "laz"


def test_binary_garbage_and_json_array(tmp_path: Path) -> None:
    (tmp_path / "g.bin").write_bytes(b"\x00\x01\x02garbage")
    assert _code(tmp_path / "g.bin") == "unknown_format"
    (tmp_path / "arr.json").write_text("[1, 2, 3]")
    assert _code(tmp_path / "arr.json") == "unknown_format"
