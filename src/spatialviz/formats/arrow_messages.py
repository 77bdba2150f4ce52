"""What each Arrow IPC message will cost to decode, read from its metadata alone.

An Arrow IPC file or stream may compress its buffers (LZ4 frame or Zstandard); pyarrow then
decompresses a whole record batch at once, so a few kilobytes of zeros can ask for gigabytes.
Each compressed buffer starts with its decompressed length (int64, -1 for "stored as is"),
and the message's flatbuffer metadata says where the buffers are: both can be read without
decompressing anything, which is what this module does. The flatbuffer reading is the few
rules the Arrow format needs (tables, vtables, vectors of structs), not a general decoder.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.ipc as ipc

_SCHEMA, _DICTIONARY_BATCH, _RECORD_BATCH = 1, 2, 3


@dataclass(frozen=True)
class MessageCost:
    rows: int
    body_bytes: int
    #: the bytes the body's buffers hold once decompressed (== body_bytes when uncompressed)
    decoded_bytes: int
    compressed: bool
    #: a dictionary batch (its rows are dictionary entries, not table rows)
    dictionary: bool = False


class _Table:
    """A flatbuffer table at ``pos`` in ``buf``."""

    def __init__(self, buf: memoryview, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        vtable = pos - _i32(buf, pos)
        self.vtable = vtable
        self.vtable_size = _u16(buf, vtable)

    def _field(self, index: int) -> int:
        slot = 4 + 2 * index
        if slot >= self.vtable_size:
            return 0
        off = _u16(self.buf, self.vtable + slot)
        return self.pos + off if off else 0

    def scalar(self, index: int, fmt: str, default: int = 0) -> int:
        at = self._field(index)
        return default if not at else int(struct.unpack_from("<" + fmt, self.buf, at)[0])

    def table(self, index: int) -> _Table | None:
        at = self._field(index)
        return None if not at else _Table(self.buf, at + _u32(self.buf, at))

    def struct_vector(self, index: int, size: int) -> Iterator[int]:
        """Positions of the elements of a vector of fixed-size structs."""
        at = self._field(index)
        if not at:
            return
        start = at + _u32(self.buf, at)
        count = _u32(self.buf, start)
        if start + 4 + count * size > len(self.buf):
            raise ValueError("a vector runs past its message")
        for i in range(count):
            yield start + 4 + i * size


def _u16(buf: memoryview, at: int) -> int:
    return int(struct.unpack_from("<H", buf, at)[0])


def _u32(buf: memoryview, at: int) -> int:
    return int(struct.unpack_from("<I", buf, at)[0])


def _i32(buf: memoryview, at: int) -> int:
    return int(struct.unpack_from("<i", buf, at)[0])


def message_cost(message: ipc.Message) -> MessageCost | None:
    """The cost of a record or dictionary batch message; None for any other message."""
    meta = memoryview(message.metadata)
    root = _Table(meta, _u32(meta, 0))
    kind = root.scalar(1, "B")
    header = root.table(2)
    if header is None or kind not in (_RECORD_BATCH, _DICTIONARY_BATCH):
        return None
    batch = header if kind == _RECORD_BATCH else header.table(1)
    if batch is None:
        return None
    body = message.body
    body_bytes = 0 if body is None else body.size
    rows = batch.scalar(0, "q")
    compressed = batch.table(3) is not None
    decoded = 0
    view = memoryview(body) if body is not None else memoryview(b"")
    for at in batch.struct_vector(2, 16):
        offset, length = struct.unpack_from("<qq", meta, at)
        if offset < 0 or length < 0 or offset + length > body_bytes:
            raise ValueError("a buffer lies outside its message body")
        if not compressed or length == 0:
            decoded += length
            continue
        if length < 8:
            raise ValueError("a compressed buffer is shorter than its length prefix")
        declared = int(struct.unpack_from("<q", view, offset)[0])
        decoded += length - 8 if declared == -1 else declared
    return MessageCost(
        rows=rows,
        body_bytes=body_bytes,
        decoded_bytes=decoded,
        compressed=compressed,
        dictionary=kind == _DICTIONARY_BATCH,
    )


def scan_messages(source: pa.NativeFile) -> Iterator[MessageCost]:
    """Every batch message from ``source``'s position to the end of its stream. Bodies are
    sliced from a memory map, never decompressed."""
    reader = ipc.MessageReader.open_stream(source)
    while True:
        try:
            message = reader.read_next_message()
        except StopIteration:
            return
        cost = message_cost(message)
        if cost is not None:
            yield cost
