"""Parquet (by row group, in batches), Arrow IPC file / Feather v2, Arrow IPC stream and
Feather v1: already columnar, so only the coordinate mapping of tables applies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from spatialviz.formats.base import PositionOverride, ReaderLimits, SourceInfo
from spatialviz.formats.common import BadRowGuard, TableMapper
from spatialviz.formats.errors import CorruptFileError, TooManyPointsError


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
        try:
            schema = self._open()
        except (pa.ArrowInvalid, OSError) as exc:
            raise CorruptFileError(f"The {fmt} file could not be opened ({exc}).") from exc
        rows = self.info.declared_rows
        if rows is not None and rows > limits.max_points:
            raise TooManyPointsError(
                f"The file holds {rows} rows, more than the limit of {limits.max_points}."
            )
        self.mapper = TableMapper(schema, columns, self.info)

    def _open(self) -> pa.Schema:
        if self.fmt == "parquet":
            pf = pq.ParquetFile(self.path)
            self._source = pf
            self.info.declared_rows = pf.metadata.num_rows
            return pf.schema_arrow
        if self.fmt == "arrow":
            source = pa.memory_map(str(self.path))
            reader = ipc.open_file(source)
            self._source = reader
            self.info.declared_rows = sum(
                reader.get_batch(i).num_rows for i in range(reader.num_record_batches)
            )
            return reader.schema
        if self.fmt == "arrow_stream":
            self._source = None
            with pa.memory_map(str(self.path)) as source:
                return ipc.open_stream(source).schema
        # Feather v1 has no streaming API; it is memory-mapped, not copied
        table = feather.read_table(str(self.path), memory_map=True)
        self._source = table
        self.info.declared_rows = table.num_rows
        return table.schema

    def _raw_batches(self) -> Iterator[pa.RecordBatch]:
        step = self.limits.batch_rows
        if self.fmt == "parquet":
            yield from self._source.iter_batches(batch_size=step)
        elif self.fmt == "arrow":
            for i in range(self._source.num_record_batches):
                yield from _slices(self._source.get_batch(i), step)
        elif self.fmt == "arrow_stream":
            with pa.memory_map(str(self.path)) as source:
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
