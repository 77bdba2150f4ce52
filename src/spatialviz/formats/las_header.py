"""The LAS public header block read with ``struct`` and checked against the file's size
before laspy sees the file.

laspy trusts the header: it walks as many VLRs and EVLRs as the header declares, one read
each, even past the end of the file (a 567-byte file declaring 1,073,741,824 VLRs kept a
worker busy for minutes with its memory rising). Every count and offset here is therefore
compared with the bytes on disk first, so the work that follows is bounded by the file's
size, never by its header.

Layout (LAS 1.0-1.4 "Public Header Block"): the fields read are at fixed offsets; 1.3 adds
the waveform start (227), 1.4 the EVLR start and count (235, 243) and a 64-bit point count
(247).
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from spatialviz.formats.errors import (
    CountExceedsFileError,
    DecompressionBombError,
    InvalidHeaderError,
    TooManyPointsError,
    TruncatedFileError,
    UnsupportedLayoutError,
)

#: Bytes of the header up to the end of the LAS 1.2 fields; any LAS file has at least these.
MIN_HEADER_SIZE = 227
_HEADER_SIZE_BY_MINOR = {0: 227, 1: 227, 2: 227, 3: 235, 4: 375}
VLR_HEADER_SIZE = 54
EVLR_HEADER_SIZE = 60
#: The smallest record of each point data format (LAS 1.4 R15, tables 7-17); a record may
#: be longer (extra bytes), never shorter.
POINT_RECORD_SIZE = {0: 20, 1: 28, 2: 26, 3: 34, 4: 57, 5: 63, 6: 30, 7: 36, 8: 38, 9: 59, 10: 67}


@dataclass(frozen=True)
class LasHeaderFacts:
    """What the header declares, already checked against the file."""

    version: tuple[int, int]
    header_size: int
    offset_to_point_data: int
    vlr_count: int
    point_format: int
    compressed: bool
    record_length: int
    point_count: int
    evlr_start: int
    evlr_count: int
    file_size: int


def read_las_header(path: Path, *, max_points: int, max_ratio: float) -> LasHeaderFacts:
    """Read and check the header of ``path``; raise a :class:`FormatError` subclass saying
    which declared fact the file contradicts. Reads only the header, the EVLR headers and
    the first bytes of a LAZ chunk table."""
    file_size = os.path.getsize(path)
    with path.open("rb") as fh:
        raw = fh.read(_HEADER_SIZE_BY_MINOR[4])
        if len(raw) < MIN_HEADER_SIZE:
            raise TruncatedFileError(
                f"The file is {len(raw)} bytes, shorter than a LAS header ({MIN_HEADER_SIZE})."
            )
        if raw[:4] != b"LASF":
            raise InvalidHeaderError("The file does not start with the LAS signature 'LASF'.")
        facts = _parse(raw, file_size)
        _check_layout(facts)
        _check_records(facts)
        _check_points(facts, max_points=max_points, max_ratio=max_ratio)
        if facts.evlr_count:
            _check_evlr_lengths(fh, facts)
        if facts.compressed:
            _check_chunk_table(fh, facts)
    return facts


def _parse(raw: bytes, file_size: int) -> LasHeaderFacts:
    major, minor = raw[24], raw[25]
    if major != 1 or minor not in _HEADER_SIZE_BY_MINOR:
        raise UnsupportedLayoutError(
            f"LAS version {major}.{minor} is not one of 1.0-1.4, which are the versions read."
        )
    (header_size,) = struct.unpack_from("<H", raw, 94)
    offset, vlr_count, format_byte, record_length, legacy_count = struct.unpack_from(
        "<IIBHI", raw, 96
    )
    needed = _HEADER_SIZE_BY_MINOR[minor]
    if header_size < needed:
        raise InvalidHeaderError(
            f"The header says it is {header_size} bytes; LAS {major}.{minor} needs {needed}."
        )
    if header_size > file_size:
        raise TruncatedFileError(f"The file ends inside its {header_size}-byte header.")
    evlr_start = evlr_count = 0
    count = legacy_count
    if minor >= 4:
        evlr_start, evlr_count, count = struct.unpack_from("<QIQ", raw, 235)
    scales = struct.unpack_from("<3d", raw, 131)
    offsets = struct.unpack_from("<3d", raw, 155)
    if not all(math.isfinite(v) for v in (*scales, *offsets)) or 0.0 in scales:
        raise InvalidHeaderError(
            "The header's scale or offset is zero, NaN or infinite, so no coordinate "
            "can be computed."
        )
    return LasHeaderFacts(
        version=(major, minor),
        header_size=header_size,
        offset_to_point_data=offset,
        vlr_count=vlr_count,
        point_format=format_byte & 0x3F,  # bits 7 and 6 mark LAZ compression
        compressed=bool(format_byte & 0xC0),
        record_length=record_length,
        point_count=count,
        evlr_start=evlr_start,
        evlr_count=evlr_count,
        file_size=file_size,
    )


def _check_layout(facts: LasHeaderFacts) -> None:
    minimum = POINT_RECORD_SIZE.get(facts.point_format)
    if minimum is None:
        raise UnsupportedLayoutError(
            f"Point data format {facts.point_format} is not one of the LAS formats 0-10."
        )
    if facts.record_length < minimum:
        raise InvalidHeaderError(
            f"Point records are declared {facts.record_length} bytes long; point format "
            f"{facts.point_format} needs at least {minimum}."
        )
    if facts.offset_to_point_data < facts.header_size:
        raise InvalidHeaderError(
            f"The point data is declared to start at byte {facts.offset_to_point_data}, "
            f"inside the {facts.header_size}-byte header."
        )
    if facts.offset_to_point_data > facts.file_size:
        raise TruncatedFileError(
            f"The file ({facts.file_size} bytes) ends before its point data starts "
            f"(byte {facts.offset_to_point_data})."
        )


def _check_records(facts: LasHeaderFacts) -> None:
    """VLRs lie between the header and the point data; EVLRs between the point data and
    the end of the file. Each has a fixed-size header, so their counts are bounded."""
    room = facts.offset_to_point_data - facts.header_size
    if facts.vlr_count * VLR_HEADER_SIZE > room:
        raise CountExceedsFileError(
            f"The header declares {facts.vlr_count:,} variable-length records, but the "
            f"{room:,} bytes before the point data hold at most {room // VLR_HEADER_SIZE:,}."
        )
    if facts.evlr_count == 0:
        return
    if facts.evlr_start < facts.offset_to_point_data or facts.evlr_start > facts.file_size:
        raise InvalidHeaderError(
            f"The extended records are declared to start at byte {facts.evlr_start:,}, "
            f"outside the file's {facts.file_size:,} bytes after the point data."
        )
    room = facts.file_size - facts.evlr_start
    if facts.evlr_count * EVLR_HEADER_SIZE > room:
        raise CountExceedsFileError(
            f"The header declares {facts.evlr_count:,} extended variable-length records, "
            f"but the last {room:,} bytes of the file hold at most {room // EVLR_HEADER_SIZE:,}."
        )


def _check_points(facts: LasHeaderFacts, *, max_points: int, max_ratio: float) -> None:
    count = facts.point_count
    if count > max_points:
        raise TooManyPointsError(
            f"The file declares {count:,} points, more than the limit of {max_points:,}."
        )
    end = facts.evlr_start if facts.evlr_count else facts.file_size
    available = max(0, end - facts.offset_to_point_data)
    declared = count * facts.record_length
    if not facts.compressed:
        if declared <= available:
            return
        held = available // facts.record_length
        if available % facts.record_length:
            raise TruncatedFileError(
                f"The file is cut short: it declares {count:,} points but holds "
                f"{held:,} and part of another."
            )
        raise CountExceedsFileError(
            f"The header declares {count:,} points but the file holds only {held:,}."
        )
    if count == 0:
        return
    if available <= 0:
        raise TruncatedFileError("The LAZ file has no compressed point data.")
    ratio = declared / available
    if ratio > max_ratio:
        raise DecompressionBombError(
            f"The LAZ file declares {declared:,} bytes of points in {available:,} compressed "
            f"bytes (ratio {ratio:.0f}, limit {max_ratio:.0f})."
        )


def _check_evlr_lengths(fh: BinaryIO, facts: LasHeaderFacts) -> None:
    """An EVLR's length is a 64-bit count of bytes that laspy hands to ``read`` as it is
    (2**40 made it ask for a terabyte); each must end inside the file. The count is already
    bounded by the file's size, so this walk is too."""
    position = facts.evlr_start
    for index in range(facts.evlr_count):
        fh.seek(position)
        head = fh.read(EVLR_HEADER_SIZE)
        if len(head) < EVLR_HEADER_SIZE:
            raise TruncatedFileError(f"The file ends inside extended record {index + 1}.")
        (length,) = struct.unpack_from("<Q", head, 20)
        position += EVLR_HEADER_SIZE + length
        if position > facts.file_size:
            raise TruncatedFileError(
                f"Extended record {index + 1} declares {length:,} bytes, past the end of the "
                f"file ({facts.file_size:,} bytes)."
            )


def _check_chunk_table(fh: BinaryIO, facts: LasHeaderFacts) -> None:
    """A LAZ file's point data starts with the offset of its chunk table, which starts with
    the number of chunks; lazrs allocates 16 bytes per declared chunk before reading one (a
    819-byte file declaring 2,000,000,000 chunks aborted the process asking for 32 GB).
    Every chunk holds at least one point and one byte, so the count is bounded by both."""
    fh.seek(facts.offset_to_point_data)
    head = fh.read(8)
    if len(head) < 8:
        return  # no chunk table offset: lazrs reports the broken stream itself
    (table,) = struct.unpack("<q", head)
    if table < facts.offset_to_point_data + 8 or table + 8 > facts.file_size:
        return  # absent (-1, written by a streaming encoder) or unreadable: lazrs decides
    fh.seek(table + 4)
    (chunks,) = struct.unpack("<I", fh.read(4))
    bound = min(max(facts.point_count, 1), table - facts.offset_to_point_data)
    if chunks > bound:
        raise CountExceedsFileError(
            f"The LAZ chunk table declares {chunks:,} chunks, but the file holds at most "
            f"{bound:,} (one point and one byte each)."
        )
