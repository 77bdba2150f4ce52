"""The decompression budget of compressed containers (Parquet, Arrow IPC / Feather v2).

LAZ bounds its points by the compressed bytes (``las_header``); the columnar formats get the
same rule here: what a file decodes to may not exceed ``max_decompression_ratio`` times its
size (files decoding to less than ``decompression_floor_bytes`` are never refused, so small
files of constants pass); neither may one Parquet column chunk, against its own compressed
bytes (a single page of zeros is decompressed whole); and a compressed Arrow record batch,
which pyarrow decompresses at once, may not exceed ``max_decompressed_unit_bytes``. All are
checked on metadata before anything is decompressed, so a bomb is refused at once with
``decompression_bomb`` and costs no memory. Text columns, whose decoded size only shows once
their dictionary indices are known, are charged batch by batch as they are decoded.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spatialviz.formats.arrow_messages import MessageCost
from spatialviz.formats.base import ReaderLimits
from spatialviz.formats.errors import DecompressionBombError


class DecodeBudget:
    def __init__(self, file_size: int, limits: ReaderLimits, fmt: str) -> None:
        self.file_size = max(file_size, 1)
        self.fmt = fmt
        self.ratio = limits.max_decompression_ratio
        self.floor = limits.decompression_floor_bytes
        self.allowance = max(self.floor, int(self.ratio * self.file_size))
        self.unit_limit = limits.max_decompressed_unit_bytes
        self.spent = 0

    def charge(self, nbytes: int) -> None:
        self.spent += nbytes
        if self.spent > self.allowance:
            raise DecompressionBombError(
                f"The {self.fmt} file decodes to more than {self.spent:,} bytes from "
                f"{self.file_size:,} (ratio above {self.ratio:.0f}, the limit)."
            )

    def check_chunk(self, decoded: int, stored: int) -> None:
        if decoded > self.floor and decoded > self.ratio * max(stored, 1):
            raise DecompressionBombError(
                f"A column chunk of the {self.fmt} file decompresses to {decoded:,} bytes from "
                f"{stored:,} (ratio above {self.ratio:.0f}, the limit)."
            )

    def check_unit(self, nbytes: int, what: str) -> None:
        if nbytes > self.unit_limit:
            raise DecompressionBombError(
                f"One {what} of the {self.fmt} file decompresses to {nbytes:,} bytes at once, "
                f"more than the limit of {self.unit_limit:,}; write it in smaller parts."
            )


def charge_parquet(metadata: pq.FileMetaData, schema: pa.Schema, budget: DecodeBudget) -> None:
    """Charge every column chunk: its decompressed pages, or its rows at their fixed width
    when that is more (run-length and dictionary encodings expand past the pages). Text
    columns are charged later, as they are decoded."""
    fields = {field.name: field.type for field in schema}
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            budget.check_chunk(chunk.total_uncompressed_size, chunk.total_compressed_size)
            kind = fields.get(chunk.path_in_schema.split(".")[0])
            if kind is not None and pa.types.is_dictionary(kind):
                kind = kind.value_type
            if kind is not None and _is_text(kind):
                continue  # charged as decoded (decode_text_columns)
            width = 0 if kind is None else _fixed_width(kind)
            budget.charge(max(chunk.total_uncompressed_size, group.num_rows * width))


def charge_ipc(costs: Iterable[MessageCost], budget: DecodeBudget) -> int:
    """Charge every batch message; returns the table's row count."""
    rows = 0
    for cost in costs:
        if cost.compressed:  # an uncompressed body is memory-mapped, not copied
            budget.check_unit(cost.decoded_bytes, "record batch")
        budget.charge(cost.decoded_bytes)
        if not cost.dictionary:
            rows += cost.rows
    return rows


def text_columns(schema: pa.Schema) -> list[str]:
    """The plain text columns, which a Parquet file is asked to return dictionary-encoded
    so that what they decode to can be charged before it is built."""
    return [f.name for f in schema if _is_text(f.type)]


def decode_text_columns(
    batch: pa.RecordBatch, forced: frozenset[str], budget: DecodeBudget
) -> pa.RecordBatch:
    """Every dictionary-encoded text column charged what it decodes to (one long entry
    repeated on every row is the text form of a bomb); the ``forced`` ones, text read as a
    dictionary only for this, decoded back after the charge."""
    columns = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_dictionary(column.type) and _is_text(column.type.value_type):
            lengths = pc.take(pc.binary_length(column.dictionary), column.indices)
            budget.charge(int(pc.sum(lengths).as_py() or 0))
            if name in forced:
                column = column.dictionary_decode()
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _is_text(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def _fixed_width(t: pa.DataType) -> int:
    try:
        return max(int(t.bit_width) // 8, 1)
    except ValueError:
        return 0
