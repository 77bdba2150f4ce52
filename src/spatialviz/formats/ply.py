"""PLY (ASCII and binary little/big endian): the ``vertex`` element becomes points.

Binary: the header is parsed here and the vertex element is memory-mapped with numpy (no
copy of the file; batches are sliced from the map), after checking that the file is long
enough for the vertex count the header declares. ASCII: parsed by plyfile, in memory, so it
is bounded by ``limits.max_ascii_ply_bytes``. Vertex properties ``x/y/z`` are positions;
``red/green/blue`` or ``diffuse_*`` are colours (float colours in [0, 1] are scaled to
uint8); everything else is an attribute. List properties on vertices are skipped (noted).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from spatialviz.formats.base import COLOR_COLUMNS, ReaderLimits, SourceInfo
from spatialviz.formats.common import BadRowGuard, assemble, canonical_names
from spatialviz.formats.errors import (
    CorruptFileError,
    CountExceedsFileError,
    FileTooLargeError,
    InvalidHeaderError,
    TooManyPointsError,
    TruncatedFileError,
    UnsupportedLayoutError,
)

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip
_MAX_HEADER = 1024 * 1024
#: the end of the header: trailing blanks and any line ending (\r\n, \n, or a lone \r)
_END_HEADER = re.compile(rb"end_header[ \t]*(\r\n|\n|\r)")


@dataclass
class _Element:
    name: str
    count: int
    props: list[tuple[str, str]]  # (name, numpy type) for scalar properties
    has_list: bool


@dataclass
class _Header:
    fmt: str  # ascii | binary_little_endian | binary_big_endian
    length: int
    elements: list[_Element]
    #: the element and property lines, blanks normalised (what plyfile is given)
    raw_lines: list[str] = field(default_factory=list)


def _read_header_line(parts: list[str], elements: list[_Element]) -> str | None:
    """Apply one header line to ``elements``; returns the format a ``format`` line names."""
    if parts[0] == "format":
        return parts[1]
    if parts[0] == "element":
        elements.append(_Element(parts[1], int(parts[2]), [], False))
    elif parts[0] == "property" and elements:
        if parts[1] == "list":
            elements[-1].has_list = True
        else:
            elements[-1].props.append((parts[2], _TYPES[parts[1]]))
    return None


def _parse_header(path: Path) -> _Header:
    with path.open("rb") as fh:
        raw = fh.read(_MAX_HEADER)
    found = _END_HEADER.search(raw)
    if found is None:
        if b"end_header" in raw:
            raise TruncatedFileError("The PLY file ends right after its header.")
        raise InvalidHeaderError("The PLY header has no end_header line (or is longer than 1 MB).")
    end, length = found.start(), found.end()
    fmt = ""
    elements: list[_Element] = []
    kept: list[str] = []
    for line in raw[:end].decode("ascii", errors="replace").splitlines():
        parts = line.split()
        if not parts or parts[0] in ("ply", "comment", "obj_info"):
            continue
        try:
            fmt = _read_header_line(parts, elements) or fmt
        except (IndexError, ValueError, KeyError) as exc:
            raise InvalidHeaderError(f"The PLY header line {line!r} is not valid.") from exc
        if parts[0] in ("element", "property"):
            kept.append(" ".join(parts))
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise InvalidHeaderError(f"Unknown PLY format {fmt!r}.")
    if any(e.count < 0 for e in elements):
        raise InvalidHeaderError("The PLY header declares a negative element count.")
    return _Header(fmt, length, elements, kept)


class PlyReader:
    def __init__(self, path: Path, limits: ReaderLimits) -> None:
        self.path = path
        self.limits = limits
        self.info = SourceInfo(format="ply")
        self.header = header = _parse_header(path)
        vertex = next((e for e in header.elements if e.name == "vertex"), None)
        if vertex is None:
            raise UnsupportedLayoutError("The PLY file has no vertex element.")
        names = {n for n, _ in vertex.props}
        if not {"x", "y", "z"} <= names:
            raise UnsupportedLayoutError("The PLY vertex element has no x, y, z properties.")
        if vertex.count > limits.max_points:
            raise TooManyPointsError(
                f"The file declares {vertex.count} vertices, more than the limit of "
                f"{limits.max_points}."
            )
        if vertex.has_list:
            self.info.notes.append("list properties on vertices were skipped")
        self.vertex = vertex
        self.info.declared_rows = vertex.count
        self.info.notes.append(f"PLY {header.fmt}")
        attr_props = [n for n, _ in vertex.props if n not in ("x", "y", "z")]
        self._names = canonical_names(attr_props)
        for axis in ("x", "y", "z"):
            self.info.source_columns[axis] = axis
        for src, name in self._names.items():
            self.info.source_columns[name] = src
        self._data: Any = self._open_data()

    def _open_data(self) -> Any:
        size = os.path.getsize(self.path)
        if self.header.fmt == "ascii":
            if size > self.limits.max_ascii_ply_bytes:
                raise FileTooLargeError(
                    f"ASCII PLY files are read in memory and this one is larger than "
                    f"{self.limits.max_ascii_ply_bytes} bytes; convert it to binary PLY."
                )
            return self._read_ascii()
        endian = "<" if self.header.fmt == "binary_little_endian" else ">"
        offset = self.header.length
        for element in self.header.elements:
            if element is self.vertex:
                break
            if element.has_list:
                raise UnsupportedLayoutError(
                    "A PLY element with list properties precedes the vertices; "
                    "such binary layouts are not supported."
                )
            offset += element.count * np.dtype([(n, endian + t) for n, t in element.props]).itemsize
        if self.vertex.has_list:
            raise UnsupportedLayoutError(
                "Binary PLY vertices with list properties are not supported."
            )
        dtype = np.dtype([(n, endian + t) for n, t in self.vertex.props])
        needed = offset + self.vertex.count * dtype.itemsize
        if needed > size:
            held = max(0, size - offset) // dtype.itemsize
            raise CountExceedsFileError(
                f"The PLY header declares {self.vertex.count} vertices but the file holds "
                f"only {held}."
            )
        if self.vertex.count == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(
            self.path, dtype=dtype, mode="r", offset=offset, shape=(self.vertex.count,)
        )

    def _read_ascii(self) -> Any:
        from plyfile import PlyData

        with self.path.open("rb") as fh:
            fh.seek(self.header.length)
            body = fh.read()
        lone_cr = b"\n" not in body
        if lone_cr:  # classic Mac line ends: plyfile splits on \n
            body = body.replace(b"\r", b"\n")
        lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
        needed = 0
        for element in self.header.elements:
            needed += element.count
            if element is self.vertex:
                break
        if lines < needed:
            raise CountExceedsFileError(
                f"The PLY header declares {self.vertex.count} vertices but the file has only "
                f"{lines} data lines."
            )
        source: BinaryIO = io.BytesIO(body) if lone_cr else self.path.open("rb")
        del body  # the usual case reads the file again rather than hold it twice
        try:
            with source:
                source.seek(0 if lone_cr else self.header.length)
                ply = PlyData.read(_with_clean_header(self.header, source))
        except Exception as exc:  # plyfile raises several types for short/broken data
            text = str(exc)
            if "early end-of-file" in text or "end of file" in text.lower():
                raise CountExceedsFileError(
                    f"The PLY header declares {self.vertex.count} vertices but the file "
                    f"ends early ({text})."
                ) from exc
            raise CorruptFileError(f"The ASCII PLY data could not be parsed ({text}).") from exc
        vertices: npt.NDArray[Any] = ply["vertex"].data
        return vertices

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        guard = BadRowGuard(self.info, self.limits)
        data = self._data
        n = len(data)
        step = self.limits.batch_rows
        for start in range(0, n, step):
            chunk = np.asarray(data[start : start + step])
            xyz = [chunk[a].astype(np.float64) for a in ("x", "y", "z")]
            attrs: dict[str, npt.NDArray[Any]] = {}
            for src, name in self._names.items():
                values = chunk[src]
                if name in COLOR_COLUMNS:
                    values = _color(values)
                attrs[name] = np.ascontiguousarray(values).astype(values.dtype.newbyteorder("="))
            row_id = np.arange(start, start + len(chunk), dtype=np.int64)
            batch = assemble(xyz[0], xyz[1], xyz[2], attrs, row_id, guard)
            if batch is not None:
                yield batch
        guard.check(final=True)

    def close(self) -> None:
        self._data = None


def _with_clean_header(header: _Header, body: BinaryIO) -> BinaryIO:
    """plyfile refuses what other readers accept (``ply `` with a trailing space, blanks
    after keywords); it gets the header as we parsed it, one clean line each, then the
    data from ``body`` as it is."""
    lines = ["ply", f"format {header.fmt} 1.0"]
    lines += header.raw_lines
    lines.append("end_header")
    clean = ("\n".join(lines) + "\n").encode("ascii")
    return io.BufferedReader(_Concatenated(io.BytesIO(clean), body))


class _Concatenated(io.RawIOBase):
    def __init__(self, *parts: BinaryIO) -> None:
        self._parts = list(parts)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._parts:
            data = self._parts[0].read(len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
            self._parts.pop(0)
        return 0


def _color(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if values.dtype.kind == "u" and values.dtype.itemsize <= 2:
        return values
    if values.dtype.kind == "f":
        finite = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        top = float(finite.max()) if finite.size else 0.0
        scale = 255.0 if top <= 1.0 else 1.0
        return np.clip(np.rint(finite * scale), 0, 255).astype(np.uint8)
    clipped: npt.NDArray[Any] = np.clip(values, 0, 65535).astype(np.uint16)
    return clipped
