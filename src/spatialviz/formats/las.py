"""LAS 1.0-1.4 and LAZ (laspy + lazrs), streamed in large vectorised chunks.

The header is checked against the file before laspy reads it (see
:mod:`spatialviz.formats.las_header`): record counts and offsets vs the bytes on disk, declared
decompressed size vs compressed size (LAZ bomb ratio), the point cap, and finite non-zero
scales. Extra-bytes dimensions of any type are kept; an array dimension (``Colors``, three
uint16) becomes one scalar column per element (``colors_0``, ``colors_1``, ``colors_2``),
which the canonical Parquet, the statistics and the tiler all carry as they carry any column.
"""

from __future__ import annotations

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
    InvalidHeaderError,
    TruncatedFileError,
)
from spatialviz.formats.las_header import MIN_HEADER_SIZE, read_las_header
from spatialviz.geodesy.labels import las_labels

_POSITION_DIMS = ("X", "Y", "Z")
_DEGREE_DIMS = {"scan_angle", "scan_angle_rank"}


class LasReader:
    """Streams a LAS/LAZ file as canonical batches."""

    def __init__(self, path: Path, limits: ReaderLimits) -> None:
        self.path = path
        self.limits = limits
        # Before laspy: it would walk whatever counts the header declares.
        facts = read_las_header(
            path, max_points=limits.max_points, max_ratio=limits.max_decompression_ratio
        )
        self._consumed = False
        try:
            self._las = laspy.open(str(path), mode="r")
        except Exception as exc:  # laspy raises many types for broken headers
            raise _header_error(exc, facts.file_size) from exc
        try:
            header = self._las.header
            self._compressed = facts.compressed
            self.info = SourceInfo(format="laz" if self._compressed else "las")
            self.info.declared_rows = int(header.point_count)
            self._scales = np.asarray(header.scales, dtype=np.float64)
            self._offsets = np.asarray(header.offsets, dtype=np.float64)
            self._columns = _columns(header)
            self._names = canonical_names([source for _, _, source in self._columns])
            if limits.wanted_columns is not None:
                # Unpacking a dimension costs as much as the positions: read only these.
                wanted = limits.wanted_columns
                self._columns = [c for c in self._columns if self._names[c[2]] in wanted]
            self._dims = list(dict.fromkeys(dim for dim, _, _ in self._columns))
            self._describe_columns()
            self._describe(header)
        except BaseException:
            self._las.close()
            raise

    def _describe_columns(self) -> None:
        info = self.info
        for canon, src in zip(("x", "y", "z"), _POSITION_DIMS, strict=True):
            info.source_columns[canon] = src
        for dim, _, source in self._columns:
            name = self._names[source]
            info.source_columns[name] = source
            if dim in _DEGREE_DIMS:
                info.units[name] = "degree"

    def _describe(self, header: Any) -> None:
        info = self.info
        info.bounds = (
            (float(header.mins[0]), float(header.mins[1]), float(header.mins[2])),
            (float(header.maxs[0]), float(header.maxs[1]), float(header.maxs[2])),
        )
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
        decoded = {dim: np.asarray(chunk[dim]) for dim in self._dims}
        for dim, element, source in self._columns:
            values = decoded[dim] if element is None else decoded[dim][:, element]
            if dim == "scan_angle":  # LAS 1.4 formats 6+: int16 in 0.006 degree steps
                values = values.astype(np.float32) * np.float32(0.006)
            attrs[self._names[source]] = np.ascontiguousarray(values)
        row_id = np.arange(start, start + len(raw), dtype=np.int64)
        return assemble(xyz[0], xyz[1], xyz[2], attrs, row_id, guard)

    def close(self) -> None:
        self._las.close()


def _columns(header: Any) -> list[tuple[str, int | None, str]]:
    """(dimension, element or None, source column name) for every non-position dimension;
    an array extra-bytes dimension gives one entry per element, named ``Name[i]``."""
    out: list[tuple[str, int | None, str]] = []
    for dim in header.point_format.dimensions:
        if dim.name in _POSITION_DIMS:
            continue
        source = "scan_angle" if dim.name == "scan_angle_rank" else dim.name
        if dim.num_elements > 1:
            out.extend((dim.name, i, f"{source}[{i}]") for i in range(dim.num_elements))
        else:
            out.append((dim.name, None, source))
    return out


def _header_error(exc: Exception, file_size: int) -> InvalidHeaderError | TruncatedFileError:
    if file_size < MIN_HEADER_SIZE:
        return TruncatedFileError("The file is shorter than a LAS header.")
    text = str(exc) or type(exc).__name__
    if "Incoherent" in text:  # e.g. extra-bytes dimensions longer than the point record
        return InvalidHeaderError(f"The LAS header contradicts itself ({text}).")
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
