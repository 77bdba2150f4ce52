"""Nesting and record-size budgets for JSON, enforced on the raw bytes before a parser
sees them.

Parsers pay for depth out of all proportion to the bytes: ijson keeps the path prefix of
every open level (quadratic in depth), pyarrow's JSON reader likewise. A 400 KB GeoJSON
nested 200,000 levels deep took an ingest worker to 9.9 GB; an NDJSON line nested as deep,
6.5 GB in a minute. The scanner here follows strings, escapes and brackets over each block
read, so a file nested past ``max_depth`` is refused after reading at most one block past
that point, and a record (a GeoJSON feature) longer than ``max_record_bytes`` is refused
before it is built in memory.

Only the structural bytes are looked at (quotes, backslashes, brackets: a tenth of a
typical GeoJSON), with numpy on their positions, so the scan costs a small fraction of the
parse that follows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from spatialviz.formats.errors import NestingTooDeepError, RecordTooLargeError

Positions = npt.NDArray[np.int64]

_QUOTE, _BACKSLASH, _NEWLINE = ord('"'), ord("\\"), ord("\n")
#: +1 for an opening bracket, -1 for a closing one, 0 for every other byte
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def real_quotes(raw: npt.NDArray[np.uint8], backslashes_before: int = 0) -> tuple[Positions, int]:
    """Positions of the quote bytes that are not escaped (not preceded by an odd run of
    backslashes, counting ``backslashes_before`` that ended the previous block), and the
    number of backslashes ending this block."""
    quotes = np.flatnonzero(raw == _QUOTE)
    slashes = np.flatnonzero(raw == _BACKSLASH)
    n = len(raw)
    if not slashes.size:
        if backslashes_before % 2 and quotes.size and quotes[0] == 0:
            quotes = quotes[1:]
        return quotes, 0
    # runs of adjacent backslashes: where each starts and ends, and how long it is
    breaks = np.flatnonzero(np.diff(slashes) != 1)
    starts = slashes[np.concatenate(([0], breaks + 1))]
    ends = slashes[np.concatenate((breaks, [slashes.size - 1]))]
    lengths = ends - starts + 1
    lengths[starts == 0] += backslashes_before
    escaped = ends[lengths % 2 == 1] + 1
    if backslashes_before % 2 and raw[0] == _QUOTE:
        escaped = np.concatenate(([0], escaped))
    quotes = np.setdiff1d(quotes, escaped, assume_unique=True)
    trailing = int(lengths[-1]) if ends[-1] == n - 1 else 0
    return quotes, trailing


def _brackets(raw: npt.NDArray[np.uint8]) -> tuple[Positions, npt.NDArray[np.int64]]:
    steps = _STEP[raw]
    where = np.flatnonzero(steps)
    return where, steps[where].astype(np.int64)


def _outside_strings(
    where: Positions, steps: npt.NDArray[np.int64], quotes: Positions, in_string: bool
) -> tuple[Positions, npt.NDArray[np.int64]]:
    """Keep the brackets preceded by an even number of real quotes (odd when the block
    starts inside a string)."""
    before = np.searchsorted(quotes, where)
    outside = (before + int(in_string)) % 2 == 0
    return where[outside], steps[outside]


class JsonDepthScanner:
    """Feed it the bytes of a JSON text in order; it raises once the nesting depth passes
    ``max_depth``, or once the text stays at ``record_depth`` or deeper for more than
    ``max_record_bytes`` (one record too large to build). State carries across blocks."""

    def __init__(
        self, *, max_depth: int, record_depth: int | None = None, max_record_bytes: int = 0
    ) -> None:
        self.max_depth = max_depth
        self.record_depth = record_depth
        self.max_record_bytes = max_record_bytes
        self.depth = 0
        self.in_string = False
        self.backslashes = 0  # backslashes ending the previous block
        self.deep_since: int | None = None  # offset where the current deep stay began
        self.offset = 0

    def feed(self, data: bytes) -> None:
        n = len(data)
        if not n:
            return
        raw = np.frombuffer(data, dtype=np.uint8)
        quotes, backslashes = real_quotes(raw, self.backslashes)
        where, steps = _outside_strings(*_brackets(raw), quotes, self.in_string)
        depth = np.cumsum(steps) + self.depth
        if depth.size and int(depth.max()) > self.max_depth:
            at = self.offset + int(where[np.argmax(depth > self.max_depth)])
            raise NestingTooDeepError(
                f"The JSON is nested more than {self.max_depth} levels deep (at byte {at:,})."
            )
        if self.record_depth is not None:
            self._check_record(where + self.offset, depth, self.offset + n)
        if depth.size:
            self.depth = int(depth[-1])
        self.in_string = bool((quotes.size + int(self.in_string)) % 2)
        self.backslashes = backslashes
        self.offset += n

    def _check_record(self, where: Positions, depth: npt.NDArray[np.int64], end: int) -> None:
        """Stays at ``record_depth`` or deeper run from the bracket that entered to the one
        that left; the one still open at the end of the block counts up to ``end``."""
        assert self.record_depth is not None
        if not depth.size:  # no bracket in this block: a stay in progress just grows
            if self.deep_since is not None and end - self.deep_since > self.max_record_bytes:
                raise RecordTooLargeError(
                    f"A single feature is larger than the limit of {self.max_record_bytes:,} bytes."
                )
            return
        deep = depth >= self.record_depth
        was = np.concatenate(([self.deep_since is not None], deep[:-1]))
        entered = where[deep & ~was]
        left = where[~deep & was]
        if self.deep_since is not None:
            entered = np.concatenate(([self.deep_since], entered))
        still_deep = bool(deep[-1])
        if still_deep:
            left = np.concatenate((left, [end]))
        longest = int((left - entered).max()) if entered.size else 0
        if longest > self.max_record_bytes:
            raise RecordTooLargeError(
                f"A single feature is larger than the limit of {self.max_record_bytes:,} bytes."
            )
        self.deep_since = int(entered[-1]) if still_deep else None


def first_line_too_deep(data: bytes, max_depth: int) -> int | None:
    """The index of the first line of ``data`` (whole JSON lines, NDJSON) nested deeper
    than ``max_depth``, or None. Each line is its own JSON text: depth and string state
    restart at every newline (a raw newline cannot occur inside a JSON string)."""
    if not data:
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(raw == _NEWLINE)
    quotes, _ = real_quotes(raw)
    where, steps = _brackets(raw)
    # the line of each bracket, and the real quotes before it on its own line
    line = np.searchsorted(newlines, where)
    line_start = np.concatenate(([0], newlines + 1))[line]
    on_line = np.searchsorted(quotes, where) - np.searchsorted(quotes, line_start)
    outside = on_line % 2 == 0
    where, steps, line = where[outside], steps[outside], line[outside]
    total = np.concatenate(([0], np.cumsum(steps)))
    first_of_line = np.searchsorted(line, line, side="left")
    depth = total[1:] - total[first_of_line]
    too_deep = depth > max_depth
    if not too_deep.any():
        return None
    return int(line[np.argmax(too_deep)])


class GuardedJsonFile:
    """A binary file whose every read passes through a :class:`JsonDepthScanner`; reading
    again from the start (``seek(0)``) starts a fresh scan."""

    def __init__(self, fh: BinaryIO, new_scanner: Callable[[], JsonDepthScanner]) -> None:
        self._fh = fh
        self._new_scanner = new_scanner
        self.scanner = new_scanner()

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self.scanner.feed(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset != 0 or whence != 0:
            raise ValueError("a guarded JSON file can only restart from its beginning")
        self.scanner = self._new_scanner()
        return self._fh.seek(0)
