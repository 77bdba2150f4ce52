"""LAS 1.0-1.4 and LAZ (laspy + lazrs), streamed in large vectorised chunks.

The header is checked against the file before any point is decoded: declared size vs the
bytes on disk (LAS), declared decompressed size vs compressed size (LAZ bomb ratio), the
point cap, and finite non-zero scales.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import laspy
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from spatialviz.formats.base import FormatError, ReaderLimits, SourceInfo
from spatialviz.formats.common import BadRowGuard, assemble, canonical_names
from spatialviz.formats.errors import (
    CorruptFileError,
    CountExceedsFileError,
    DecompressionBombError,
    InvalidHeaderError,
    TooManyPointsError,
    TruncatedFileError,
)
from spatialviz.geodesy.labels import las_labels

_POSITION_DIMS = ("X", "Y", "Z")
_DEGREE_DIMS = {"scan_angle", "scan_angle_rank"}


class LasReader:
    """Streams a LAS/LAZ file as canonical batches."""

    def __init__(self, path: Path, limits: ReaderLimits) -> None:
        self.path = path
        self.limits = limits
        file_size = os.path.getsize(path)
        self._consumed = False
        try:
            self._las = laspy.open(str(path), mode="r")
        except Exception as exc:  # laspy raises many types for broken headers
            raise _header_error(exc, file_size) from exc
        try:
            header = self._las.header
            self._compressed = bool(header.are_points_compressed)
            self.info = SourceInfo(format="laz" if self._compressed else "las")
            self._check_header(header, file_size)
            self._scales = np.asarray(header.scales, dtype=np.float64)
            self._offsets = np.asarray(header.offsets, dtype=np.float64)
            self._dims = [d for d in header.point_format.dimension_names if d not in _POSITION_DIMS]
            self._names = canonical_names(
                ["scan_angle" if d == "scan_angle_rank" else d for d in self._dims]
            )
            if limits.wanted_columns is not None:
                # Unpacking a dimension costs as much as the positions: read only these.
                wanted = limits.wanted_columns
                self._dims = [d for d in self._dims if self._name(d) in wanted]
            self._describe(header)
        except BaseException:
            self._las.close()
            raise

    def _name(self, dim: str) -> str:
        """The canonical column name of a LAS dimension."""
        return self._names["scan_angle" if dim == "scan_angle_rank" else dim]

    def _check_header(self, header: Any, file_size: int) -> None:
        count = int(header.point_count)
        self.info.declared_rows = count
        if count > self.limits.max_points:
            raise TooManyPointsError(
                f"The file declares {count} points, more than the limit of "
                f"{self.limits.max_points}."
            )
        scales = np.asarray(header.scales, dtype=np.float64)
        offsets = np.asarray(header.offsets, dtype=np.float64)
        if not (np.isfinite(scales).all() and np.isfinite(offsets).all()) or (scales == 0).any():
            raise InvalidHeaderError(
                "The header's scale or offset is zero, NaN or infinite, so no coordinate "
                "can be computed."
            )
        record = int(header.point_format.size)
        start = int(header.offset_to_point_data)
        if start > file_size:
            raise TruncatedFileError("The file ends before its point data starts.")
        available = file_size - start
        declared = count * record
        if not self._compressed:
            if declared > available:
                if available % record:
                    raise TruncatedFileError(
                        f"The file is cut short: it declares {count} points but holds "
                        f"{available // record} and part of another."
                    )
                raise CountExceedsFileError(
                    f"The header declares {count} points but the file holds only "
                    f"{available // record}."
                )
            return
        if available <= 0:
            raise TruncatedFileError("The LAZ file has no compressed point data.")
        ratio = declared / available
        if ratio > self.limits.max_decompression_ratio:
            raise DecompressionBombError(
                f"The LAZ file declares {declared} bytes of points in {available} compressed "
                f"bytes (ratio {ratio:.0f}, limit {self.limits.max_decompression_ratio:.0f})."
            )

    def _describe(self, header: Any) -> None:
        info = self.info
        info.bounds = (
            (float(header.mins[0]), float(header.mins[1]), float(header.mins[2])),
            (float(header.maxs[0]), float(header.maxs[1]), float(header.maxs[2])),
        )
        for canon, src in zip(("x", "y", "z"), _POSITION_DIMS, strict=True):
            info.source_columns[canon] = src
        for dim in self._dims:
            name = self._name(dim)
            info.source_columns[name] = dim
            if dim in _DEGREE_DIMS:
                info.units[name] = "degree"
        info.notes.append(f"LAS {header.version} point format {header.point_format.id}")
        try:
            labels = las_labels([*header.vlrs, *(header.evlrs or [])])
        except Exception as exc:  # a broken CRS record must not stop the ingest
            info.notes.append(f"CRS could not be parsed: {exc}")
            return
        info.notes.extend(labels.notes)
        if labels.crs is None:
            return
        info.crs_wkt = labels.crs.to_wkt()
        info.crs_epsg = labels.crs.to_epsg()
        info.units.update(labels.units)

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        guard = BadRowGuard(self.info, self.limits)
        declared = self.info.declared_rows or 0
        step = max(1, self.limits.batch_rows)
        done = 0
        try:
            if self._consumed:  # a second pass reopens: seeking a LAZ stream is unreliable
                self._las.close()
                self._las = laspy.open(str(self.path), mode="r")
            self._consumed = True
            for chunk in self._las.chunk_iterator(step):
                n = len(chunk)
                if n == 0:
                    break
                batch = self._convert(chunk, done, guard)
                done += n
                if batch is not None:
                    yield batch
        except FormatError:
            raise
        except Exception as exc:  # lazrs/laspy raise assorted errors on broken data
            raise _decode_error(exc, done, declared) from exc
        if done < declared:
            raise TruncatedFileError(
                f"The file declares {declared} points but only {done} could be read."
            )
        guard.check(final=True)

    def _convert(self, chunk: Any, start: int, guard: BadRowGuard) -> pa.RecordBatch | None:
        raw = chunk.array
        xyz = [
            raw[dim].astype(np.float64) * self._scales[i] + self._offsets[i]
            for i, dim in enumerate(_POSITION_DIMS)
        ]
        attrs: dict[str, npt.NDArray[Any]] = {}
        for dim in self._dims:
            values = np.asarray(chunk[dim])
            if dim == "scan_angle":  # LAS 1.4 formats 6+: int16 in 0.006 degree steps
                values = values.astype(np.float32) * np.float32(0.006)
            attrs[self._name(dim)] = values
        row_id = np.arange(start, start + len(raw), dtype=np.int64)
        return assemble(xyz[0], xyz[1], xyz[2], attrs, row_id, guard)

    def close(self) -> None:
        self._las.close()


def _header_error(exc: Exception, file_size: int) -> InvalidHeaderError | TruncatedFileError:
    if file_size < 227:
        return TruncatedFileError("The file is shorter than a LAS header.")
    text = str(exc) or type(exc).__name__
    if "EOF" in text or "unpack" in text or "buffer" in text or "size" in text:
        return TruncatedFileError(f"The LAS header or its records are cut short ({text}).")
    return InvalidHeaderError(f"The LAS header could not be read ({text}).")


def _decode_error(
    exc: Exception, done: int, declared: int
) -> TruncatedFileError | CorruptFileError:
    text = str(exc) or type(exc).__name__
    if done < declared:
        return TruncatedFileError(
            f"Reading stopped after {done} of {declared} declared points ({text})."
        )
    return CorruptFileError(f"The point data could not be decoded ({text}).")


def open_las(path: Path, limits: ReaderLimits) -> LasReader:
    return LasReader(path, limits)
