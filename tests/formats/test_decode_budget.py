"""The decompression budget of Parquet and Arrow IPC (formats/decode_budget.py) on real
files written by pyarrow. Each bomb is first shown to be a real one (read whole when the
budget is lifted), then refused with ``decompression_bomb`` before it is decoded."""

from __future__ import annotations

import resource
from pathlib import Path

import pyarrow as pa
import pytest
from tests.formats.bombs import (
    arrow_zstd_bomb,
    parquet_page_bomb,
    parquet_rle_bomb,
    parquet_text_bomb,
    zeros_table,
)

from spatialviz.formats import FormatError, ReaderLimits, open_reader
from spatialviz.formats.arrow_messages import scan_messages

ROWS = 500_000  # 12 MB of zeros per file: small tests, a 1 MiB floor
TIGHT = ReaderLimits(decompression_floor_bytes=1 << 20, batch_rows=100_000)
LIFTED = ReaderLimits(
    decompression_floor_bytes=1 << 40, max_decompression_ratio=1e9, batch_rows=100_000
)


def _rows(path: Path, limits: ReaderLimits) -> int:
    reader = open_reader(path, limits)
    try:
        return sum(batch.num_rows for batch in reader.iter_batches())
    finally:
        reader.close()


def _refusal(path: Path, limits: ReaderLimits) -> FormatError:
    with pytest.raises(FormatError) as info:
        _rows(path, limits)
    return info.value


BOMBS = {
    "zeros.arrow": lambda p: arrow_zstd_bomb(p, ROWS),
    "zeros.arrows": lambda p: arrow_zstd_bomb(p, ROWS, stream=True),
    "page.parquet": lambda p: parquet_page_bomb(p, ROWS),
    "rle.parquet": lambda p: parquet_rle_bomb(p, ROWS),
    "text.parquet": lambda p: parquet_text_bomb(p, 10_000, 10_000),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_bomb_is_refused_and_is_a_real_one(tmp_path: Path, name: str) -> None:
    path = BOMBS[name](tmp_path / name)
    assert path.stat().st_size < 200_000
    assert _rows(path, LIFTED) in (ROWS, 10_000)
    refusal = _refusal(path, TIGHT)
    assert refusal.code == "decompression_bomb"
    assert "ratio above 200" in str(refusal)


def test_the_arrow_bomb_is_refused_before_it_is_decompressed(tmp_path: Path) -> None:
    # 400 MB of zeros in one batch: reading it would raise this process's peak by as much
    path = arrow_zstd_bomb(tmp_path / "big.arrow", 50_000_000 // 3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    refusal = _refusal(path, ReaderLimits())
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert refusal.code == "decompression_bomb"
    assert after - before < 50_000  # KiB: the batch was never decompressed


def test_one_batch_over_the_unit_limit_is_refused_whatever_its_ratio(tmp_path: Path) -> None:
    path = arrow_zstd_bomb(tmp_path / "z.arrow", ROWS)
    limits = ReaderLimits(max_decompression_ratio=1e9, max_decompressed_unit_bytes=1 << 20)
    refusal = _refusal(path, limits)
    assert refusal.code == "decompression_bomb"
    assert "smaller parts" in str(refusal)


def test_small_files_of_constants_and_ordinary_compressed_files_read(tmp_path: Path) -> None:
    # under the floor, any ratio passes
    assert _rows(parquet_rle_bomb(tmp_path / "c.parquet", 10_000), ReaderLimits()) == 10_000
    assert _rows(arrow_zstd_bomb(tmp_path / "c.arrow", 10_000), ReaderLimits()) == 10_000


def test_message_costs_match_what_pyarrow_decodes(tmp_path: Path) -> None:
    path = arrow_zstd_bomb(tmp_path / "m.arrows", 30_000, stream=True)
    costs = list(scan_messages(pa.memory_map(str(path))))
    assert [c.rows for c in costs] == [30_000]
    assert costs[0].compressed
    assert costs[0].decoded_bytes == zeros_table(30_000).nbytes
    assert costs[0].body_bytes < 10_000
