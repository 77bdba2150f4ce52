"""Parquet (by row group, in batches), Arrow IPC file / Feather v2, Arrow IPC stream and
Feather v1: already columnar, so only the coordinate mapping of tables applies."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from spatialviz.formats.arrow_messages import scan_messages
from spatialviz.formats.base import PositionOverride, ReaderLimits, SourceInfo
from spatialviz.formats.common import BadRowGuard, TableMapper
from spatialviz.formats.decode_budget import (
    DecodeBudget,
    charge_ipc,
    charge_parquet,
    decode_text_columns,
    text_columns,
)
from spatialviz.formats.errors import CorruptFileError, TooManyPointsError

#: An Arrow IPC file is "ARROW1", two bytes of padding, then the stream format.
_IPC_FILE_STREAM_START = 8


class ColumnarReader:
    def __init__(
        self,
        path: Path,
        limits: ReaderLimits,
        columns: PositionOverride | None,
        fmt: str,
    ) -> None:
        self.path = path
        self.limits = limits
        self.fmt = fmt
        self.info = SourceInfo(format=fmt)
        self._source: Any = None
        self.budget = DecodeBudget(path.stat().st_size, limits, fmt)
        self._text_columns: frozenset[str] = frozenset()
        try:
            schema = self._open()
        except (pa.ArrowInvalid, OSError, ValueError, struct.error) as exc:
            raise CorruptFileError(f"The {fmt} file could not be opened ({exc}).") from exc
        rows = self.info.declared_rows
        if rows is not None and rows > limits.max_points:
            raise TooManyPointsError(
                f"The file holds {rows} rows, more than the limit of {limits.max_points}."
            )
        self.mapper = TableMapper(schema, columns, self.info)

    def _open(self) -> pa.Schema:
        if self.fmt == "parquet":
            schema = pq.read_schema(self.path)
            texts = text_columns(schema)
            # text comes back dictionary-encoded, so its decoded size is charged before use
            pf = pq.ParquetFile(self.path, read_dictionary=texts)
            self._source = pf
            self._text_columns = frozenset(texts)
            charge_parquet(pf.metadata, schema, self.budget)
            self.info.declared_rows = pf.metadata.num_rows
            return schema
        if self.fmt in ("arrow", "arrow_stream"):
            # Every batch's decompressed size is read from its metadata before any batch is
            # decoded (pyarrow decompresses a whole batch at once); the batches are then
            # read from the same stream of messages, in order.
            with pa.memory_map(str(self.path)) as source:
                if self.fmt == "arrow":
                    schema = ipc.open_file(source).schema
                source.seek(self._stream_start())
                rows = charge_ipc(scan_messages(source), self.budget)
                if self.fmt == "arrow_stream":
                    source.seek(0)
                    schema = ipc.open_stream(source).schema
            self.info.declared_rows = rows
            return schema
        # Feather v1 has no streaming API; it is memory-mapped, not copied
        table = feather.read_table(str(self.path), memory_map=True)
        self._source = table
        self.info.declared_rows = table.num_rows
        return table.schema

    def _stream_start(self) -> int:
        return _IPC_FILE_STREAM_START if self.fmt == "arrow" else 0

    def _raw_batches(self) -> Iterator[pa.RecordBatch]:
        step = self.limits.batch_rows
        if self.fmt == "parquet":
            for batch in self._source.iter_batches(batch_size=step):
                yield decode_text_columns(batch, self._text_columns, self.budget)
        elif self.fmt in ("arrow", "arrow_stream"):
            with pa.memory_map(str(self.path)) as source:
                source.seek(self._stream_start())
                for batch in ipc.open_stream(source):
                    yield from _slices(batch, step)
        else:
            yield from self._source.to_batches(max_chunksize=step)

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        guard = BadRowGuard(self.info, self.limits)
        start = 0
        try:
            for raw in self._raw_batches():
                if start + raw.num_rows > self.limits.max_points:
                    raise TooManyPointsError(
                        f"The file holds more than the limit of {self.limits.max_points} rows."
                    )
                ids = np.arange(start, start + raw.num_rows, dtype=np.int64)
                start += raw.num_rows
                batch = self.mapper.convert(raw, ids, guard)
                if batch is not None:
                    yield batch
        except (pa.ArrowInvalid, OSError) as exc:
            raise CorruptFileError(f"The {self.fmt} file is damaged ({exc}).") from exc
        guard.check(final=True)

    def close(self) -> None:
        if self.fmt == "parquet" and self._source is not None:
            self._source.close()
        self._source = None


def _slices(batch: pa.RecordBatch, step: int) -> Iterator[pa.RecordBatch]:
    for start in range(0, batch.num_rows, step):
        yield batch.slice(start, step)
