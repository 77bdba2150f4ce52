"""CSV / TSV / TXT / XYZ / PTS: delimiter and header sniffed, streamed by pyarrow.csv.

Rules (documented for users):

- Delimiter: the candidate among ``, \\t ; | space`` that splits the first lines into the
  same number (> 1) of fields; a single column file is read as one column.
- Header: present unless every field of the first line is a number (then columns are
  named ``x``, ``y``, ``z``, ``column_4``, ...; in a ``.pts`` file ``x y z [intensity]
  [red green blue]``). A ``//X Y Z`` line (CloudCompare) is a header. Leading ``#`` comment
  lines and a count line (one integer, then rows of several fields: ``.pts``) are skipped.
- Space-delimited files with runs of blanks, tabs or blanks at line ends (aligned
  columns) are read through :class:`CollapsedBlanks`.
- Coordinates: see :func:`spatialviz.formats.common.resolve_positions`.
- Bad coordinate values (empty, NaN, inf, text) drop the row, counted by reason; see
  :class:`~spatialviz.formats.common.BadRowGuard` for the refusal threshold.
- Ragged rows (too few or too many fields) are skipped and counted as ``ragged_row`` (their
  ``row_id`` is kept out of the sequence, so row ids stay the original data-row numbers).
  More than ``limits.max_ragged_rows`` ragged rows, or more than the bad-row fraction,
  refuses the file with ``ragged_rows``.
- Text in a numeric column after the first block: the stream restarts (from where it
  was) in a tolerant mode where numbers are parsed vectorised from text and anything else
  becomes null (attributes) or drops the row (coordinates).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from spatialviz.formats.base import PositionOverride, ReaderLimits, SourceInfo
from spatialviz.formats.common import BadRowGuard, TableMapper
from spatialviz.formats.errors import CorruptFileError, NoValidRowsError, RaggedRowsError

_DELIMITERS = (",", "\t", ";", "|", " ")
_SNIFF_BYTES = 64 * 1024
# small parser blocks: pyarrow reads ahead several blocks, so this bounds memory
_BLOCK_BYTES = 4 * 1024 * 1024
_READ_BYTES = 1024 * 1024
_BLANK_RUN = re.compile(rb"[ \t]+")
_BLANK_AT_LINE_END = re.compile(rb" (\r?\n|\r)")
_BLANK_AT_LINE_START = re.compile(rb"(\n|\r) ")
_INTEGER = re.compile(r"^\s*\d+\s*$")
_RAGGED_BLANKS = re.compile(r"^[ \t]|[ \t]$|[ \t]{2}|\t")
_NUMBER = re.compile(r"^\s*[-+]?((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|inf|infinity|nan)\s*$", re.I)


@dataclass(frozen=True)
class TextLayout:
    delimiter: str
    has_header: bool
    #: leading lines to skip: comments, blanks and a count line
    skip: int
    #: the row count a leading count line declares (``.pts``), if there is one
    declared_rows: int | None = None
    #: blanks delimit and come in runs or at line ends (aligned ``.xyz``/``.pts``): they are
    #: collapsed to single spaces before parsing
    ragged_blanks: bool = False
    #: the names of the fields of a row, when the file has no header pyarrow can read: a
    #: ``//X Y Z`` comment header (CloudCompare), or none at all (the fields of the first
    #: row are all numbers: x, y, z, then ``column_4``, ...)
    column_names: tuple[str, ...] | None = None


def sniff(text: str) -> TextLayout:
    """Delimiter, header, lines to skip (comments, blanks, a count line) of a text table."""
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut by the sniff window
    skip = 0
    while skip < len(lines) and (not lines[skip].strip() or lines[skip].lstrip().startswith("#")):
        skip += 1
    declared = _count_line(lines, skip)
    if declared is not None:  # .pts and some .xyz/.txt: "N" alone, then N rows
        skip += 1
    named: list[str] | None = None
    if skip < len(lines) and lines[skip].lstrip().startswith("//"):
        named = [lines[skip].lstrip().lstrip("/")]  # split once the delimiter is known
        skip += 1
    body = [line for line in lines[skip : skip + 50] if line.strip()]
    if not body:
        return TextLayout(",", True, skip, declared)
    best, best_score = ",", -1
    for delim in _DELIMITERS:
        counts = [len(_split(line, delim)) for line in body]
        first = counts[0]
        if first < 2:
            continue
        score = sum(1 for c in counts if c == first) * 100 + first
        if score > best_score:
            best, best_score = delim, score
    first_fields = _split(body[0], best)
    ragged = best == " " and any(_RAGGED_BLANKS.search(line) for line in body)
    if named is not None:
        names = [n.strip() for n in _split(named[0], best)]
        if len(names) == len(first_fields) and all(names):
            return TextLayout(best, False, skip, declared, ragged, tuple(names))
    has_header = not all(_NUMBER.match(f.strip().strip('"')) for f in first_fields if f.strip())
    if has_header:
        return TextLayout(best, True, skip, declared, ragged)
    return TextLayout(best, False, skip, declared, ragged, _numeric_names(len(first_fields)))


def _numeric_names(count: int) -> tuple[str, ...]:
    """A row of numbers: x, y, z first (the rule for unnamed numbers), then by position."""
    names = ["x", "y", "z"][:count]
    return (*names, *(f"column_{i + 1}" for i in range(len(names), count)))


#: ``.pts`` rows are ``x y z``, ``x y z i``, ``x y z r g b`` or ``x y z i r g b``
_PTS_NAMES = {
    4: ("x", "y", "z", "intensity"),
    6: ("x", "y", "z", "red", "green", "blue"),
    7: ("x", "y", "z", "intensity", "red", "green", "blue"),
}


def _count_line(lines: list[str], at: int) -> int | None:
    """The count a line holding one integer declares, when the next line holds a row of
    several fields (so a one-column table of integers is not mistaken for one)."""
    if at + 1 >= len(lines) or not _INTEGER.match(lines[at]):
        return None
    following = lines[at + 1]
    if not any(len(_split(following, d)) > 1 for d in _DELIMITERS):
        return None
    return int(lines[at])


def _split(line: str, delim: str) -> list[str]:
    return line.strip().split() if delim == " " else line.split(delim)


class CollapsedBlanks(io.RawIOBase):
    """A text file with every run of blanks (spaces, tabs) made one space and the blanks
    at line starts and ends removed, so that pyarrow's one-byte space delimiter reads
    aligned columns. Lines are neither added nor removed: line numbers stay the file's."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._held = b""  # blanks at the end of the last block: their successor decides
        self._line_start = True
        self._out = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._out:
            block = self._raw.read(_READ_BYTES)
            if not block and not self._held:
                return 0
            self._out = self._collapse(block)
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _collapse(self, block: bytes) -> bytes:
        text = self._held + block
        if block:  # blanks at the end wait for what follows them
            kept = len(text.rstrip(b" \t"))
            text, self._held = text[:kept], text[kept:]
        else:
            text, self._held = text.rstrip(b" \t"), b""
        text = _BLANK_RUN.sub(b" ", text)
        text = _BLANK_AT_LINE_END.sub(rb"\1", text)
        text = _BLANK_AT_LINE_START.sub(rb"\1", text)
        if self._line_start and text.startswith(b" "):
            text = text[1:]
        if text:
            self._line_start = text.endswith((b"\n", b"\r"))
        return text

    def close(self) -> None:
        self._raw.close()
        super().close()


class CsvReader:
    def __init__(
        self,
        path: Path,
        limits: ReaderLimits,
        columns: PositionOverride | None = None,
        *,
        block_bytes: int = _BLOCK_BYTES,
    ) -> None:
        self.path = path
        self.block_bytes = block_bytes
        self.limits = limits
        self.info = SourceInfo(format="csv")
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
        layout = sniff(text)
        self.delimiter, self.has_header, self.skip = (
            layout.delimiter,
            layout.has_header,
            layout.skip,
        )
        self.ragged_blanks = layout.ragged_blanks
        self.column_names = layout.column_names
        if (
            self.column_names is not None
            and path.suffix.lower() == ".pts"
            and not (layout.has_header)
        ):
            self.column_names = _PTS_NAMES.get(len(self.column_names), self.column_names)
        if self.column_names is not None:
            self.info.notes.append("columns named " + ", ".join(self.column_names))
        if layout.declared_rows is not None:
            self.info.declared_rows = layout.declared_rows
            self.info.notes.append(f"count line skipped ({layout.declared_rows} rows declared)")
        self._opened: list[BinaryIO] = []  # file objects handed to pyarrow, closed with us
        self._ragged: list[int] = []
        self._ragged_error: RaggedRowsError | None = None
        self._left: list[pa.RecordBatch] = []
        self._reader = self._open(0, tolerant_schema=None)
        self._first_schema = self._reader.schema
        self.info.notes.append(
            f"delimiter {self.delimiter!r}, {'with' if self.has_header else 'no'} header"
        )
        self.mapper = TableMapper(self._first_schema, columns, self.info)

    def _open(self, skip_rows_after_names: int, tolerant_schema: pa.Schema | None) -> Any:
        read = pacsv.ReadOptions(
            use_threads=False,  # keeps InvalidRow.number, needed for row ids of ragged rows
            block_size=self.block_bytes,
            skip_rows=self.skip,
            skip_rows_after_names=skip_rows_after_names,
            column_names=list(self.column_names) if self.column_names is not None else None,
        )
        parse = pacsv.ParseOptions(
            delimiter=self.delimiter,
            invalid_row_handler=self._on_invalid_row,
            ignore_empty_lines=True,
        )
        convert = pacsv.ConvertOptions(
            column_types={f.name: pa.string() for f in tolerant_schema}
            if tolerant_schema is not None
            else None,
            strings_can_be_null=True,
        )
        source: Any = self.path
        if self.ragged_blanks:
            source = io.BufferedReader(CollapsedBlanks(self.path.open("rb")), _READ_BYTES)
            self._opened.append(source)
        try:
            return pacsv.open_csv(
                source, read_options=read, parse_options=parse, convert_options=convert
            )
        except pa.ArrowInvalid as exc:
            if self._ragged_error is not None:
                raise self._ragged_error from exc
            if "Empty CSV file" in str(exc):
                raise NoValidRowsError("The file has no data rows.") from exc
            raise CorruptFileError(f"The text table could not be parsed ({exc}).") from exc

    def _on_invalid_row(self, row: Any) -> str:
        # exceptions cannot cross pyarrow's callback; record why and let it fail the read
        if len(self._ragged) >= self.limits.max_ragged_rows:
            self._ragged_error = RaggedRowsError(
                f"More than {self.limits.max_ragged_rows} rows have the wrong number of "
                f"fields (e.g. line {row.number}: {row.actual_columns} fields, expected "
                f"{row.expected_columns})."
            )
            return "error"
        self._ragged.append(int(row.number or 0))
        return "skip"

    def _data_row_of_line(self, line_numbers: list[int]) -> npt.NDArray[np.int64]:
        header = 1 if self.has_header else 0
        return np.asarray(line_numbers, dtype=np.int64) - 1 - self.skip - header

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        guard = BadRowGuard(self.info, self.limits)
        step = self.limits.batch_rows
        emitted = 0  # parsed rows converted so far (ragged rows excluded)
        pending: list[pa.RecordBatch] = []  # small parser blocks coalesced to ~batch_rows
        pending_rows = 0
        reader = self._reader
        tolerant = False
        while True:
            try:
                raw = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                if self._ragged_error is not None:
                    raise self._ragged_error from exc
                if tolerant or "conversion error" not in str(exc).lower():
                    raise CorruptFileError(f"The text table could not be parsed ({exc}).") from exc
                yield from self._drain(pending, emitted, guard, tolerant, final=True)
                emitted += pending_rows
                pending, pending_rows = [], 0
                tolerant = True
                reader = self._restart(emitted)
                continue
            pending.append(raw)
            pending_rows += raw.num_rows
            if pending_rows >= step:
                full = pending_rows - pending_rows % step
                yield from self._drain(pending, emitted, guard, tolerant, final=False)
                emitted += full
                pending = self._left
                pending_rows -= full
        yield from self._drain(pending, emitted, guard, tolerant, final=True)
        guard.drop("ragged_row", len(self._ragged))
        guard.seen += len(self._ragged)
        if self._ragged and len(self._ragged) > self.limits.max_bad_row_fraction * guard.seen:
            raise RaggedRowsError(
                f"{len(self._ragged)} of {guard.seen} rows have the wrong number of fields."
            )
        guard.check(final=True)

    def _drain(
        self,
        pending: list[pa.RecordBatch],
        emitted: int,
        guard: BadRowGuard,
        tolerant: bool,
        *,
        final: bool,
    ) -> Iterator[pa.RecordBatch]:
        """Convert whole ``batch_rows`` slices of the pending blocks (all of them when
        ``final``); what is left over is kept in ``self._left``."""
        self._left = []
        if not pending:
            return
        step = self.limits.batch_rows
        table = pa.Table.from_batches(pending)
        rows = table.num_rows
        full = rows if final else rows - rows % step
        for start in range(0, full, step):
            part = table.slice(start, min(step, full - start))
            batch = self._convert(part, emitted + start, guard, tolerant)
            if batch is not None:
                yield batch
        if full < rows:
            self._left = table.slice(full).combine_chunks().to_batches()

    def _restart(self, emitted: int) -> Any:
        """Reopen in tolerant mode at the first row not yet converted."""
        next_row = int(self._row_ids(emitted, 1)[0])  # its original data-row index
        rows = self._data_row_of_line(self._ragged)
        self._ragged = [line for line, row in zip(self._ragged, rows, strict=True)
                        if row < next_row]  # fmt: skip
        return self._open(next_row, self._first_schema)

    def _row_ids(self, start: int, n: int) -> npt.NDArray[np.int64]:
        ids = np.arange(start, start + n, dtype=np.int64)
        if not self._ragged:
            return ids
        skipped = np.sort(self._data_row_of_line(self._ragged))
        # emitted index e maps to original e + k, k = number of skipped rows s_i with
        # s_i - i <= e (s_i - i counts the kept rows before s_i)
        k = np.searchsorted(skipped - np.arange(len(skipped)), ids, side="right")
        return ids + k

    def _convert(
        self, raw: pa.Table, start: int, guard: BadRowGuard, tolerant: bool
    ) -> pa.RecordBatch | None:
        row_id = self._row_ids(start, raw.num_rows)
        return self.mapper.convert(raw, row_id, guard, text_numeric=tolerant)

    def close(self) -> None:
        self._reader.close()
        for source in self._opened:
            source.close()
