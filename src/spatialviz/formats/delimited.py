"""CSV / TSV / TXT / XYZ: delimiter and header sniffed, streamed by pyarrow.csv.

Rules (documented for users):

- Delimiter: the candidate among ``, \\t ; | space`` that splits the first lines into the
  same number (> 1) of fields; a single column file is read as one column.
- Header: present unless every field of the first line is a number (then columns are
  named ``column_1``, ``column_2``, ...). Leading ``#`` comment lines are skipped.
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

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
_NUMBER = re.compile(r"^\s*[-+]?((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|inf|infinity|nan)\s*$", re.I)


def sniff(text: str) -> tuple[str, bool, int]:
    """Return (delimiter, has_header, leading comment lines to skip)."""
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut by the sniff window
    skip = 0
    while skip < len(lines) and (not lines[skip].strip() or lines[skip].lstrip().startswith("#")):
        skip += 1
    body = [line for line in lines[skip : skip + 50] if line.strip()]
    if not body:
        return ",", True, skip
    best, best_score = ",", -1
    for delim in _DELIMITERS:
        counts = [len(line.strip().split(delim)) if delim == " " else len(line.split(delim))
                  for line in body]  # fmt: skip
        first = counts[0]
        if first < 2:
            continue
        score = sum(1 for c in counts if c == first) * 100 + first
        if score > best_score:
            best, best_score = delim, score
    first_fields = _split(body[0], best)
    has_header = not all(_NUMBER.match(f.strip().strip('"')) for f in first_fields if f.strip())
    return best, has_header, skip


def _split(line: str, delim: str) -> list[str]:
    return line.strip().split() if delim == " " else line.split(delim)


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
        self.delimiter, self.has_header, self.skip = sniff(text)
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
            autogenerate_column_names=not self.has_header,
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
        try:
            return pacsv.open_csv(
                self.path, read_options=read, parse_options=parse, convert_options=convert
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
