"""Small files that decode to a lot: real Parquet and Arrow IPC files written by pyarrow,
shared by the reader tests, the ingest tests and the worker drill."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq


def zeros_table(rows: int) -> pa.Table:
    zeros = pa.array(np.zeros(rows))
    return pa.table({"x": zeros, "y": zeros, "z": zeros})


def arrow_zstd_bomb(path: Path, rows: int, *, stream: bool = False) -> Path:
    """One record batch of zeros, Zstandard-compressed: pyarrow decompresses it whole."""
    table = zeros_table(rows)
    options = ipc.IpcWriteOptions(compression="zstd")
    opener = ipc.new_stream if stream else ipc.new_file
    with opener(str(path), table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=rows)
    return path


def parquet_page_bomb(path: Path, rows: int) -> Path:
    """Plain-encoded zeros in one page per column, Zstandard-compressed."""
    pq.write_table(
        zeros_table(rows),
        path,
        compression="zstd",
        use_dictionary=False,
        data_page_size=1 << 40,
        row_group_size=rows,
    )
    return path


def parquet_rle_bomb(path: Path, rows: int) -> Path:
    """A constant, dictionary-encoded: the indices are one run, whatever the row count."""
    pq.write_table(zeros_table(rows), path, compression="zstd", row_group_size=rows)
    return path


def parquet_text_bomb(path: Path, rows: int, text_bytes: int) -> Path:
    """One long text repeated on every row: stored once in the dictionary page."""
    text = pa.array(["a" * text_bytes] * rows).dictionary_encode()
    xy = pa.array(np.arange(rows, dtype=np.float64) % 100)
    pq.write_table(pa.table({"x": xy, "y": xy, "label": text}), path, compression="zstd")
    return path


def geojson_nesting_bomb(depth: int = 200_000) -> bytes:
    """A FeatureCollection whose one feature's properties nest ``depth`` arrays deep."""
    props = '{"a": ' + "[" * depth + "]" * depth + "}"
    feature = '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, '
    feature += '"properties": ' + props + "}"
    return ('{"type": "FeatureCollection", "features": [' + feature + "]}").encode()
