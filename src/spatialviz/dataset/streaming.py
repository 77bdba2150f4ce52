"""Stream a request body into blob storage in bounded chunks, hashing on the way.

Nothing here holds the body in memory or lets the framework spool it to a temp file:
raw bodies are consumed from the ASGI stream, multipart bodies through python-multipart's
push parser, and every write goes to a :class:`BlobWriter` that is invisible until commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from spatialviz.kit.errors import PayloadTooLarge, UnprocessableEntity
from spatialviz.kit.storage import BlobWriter

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FLUSH_BYTES = 1 << 20
SNIFF_BYTES = 64
# A multipart upload is one file part with perhaps a few small fields around it; these
# bound what a hostile body can make the parser keep.
MAX_MULTIPART_PARTS = 16
MAX_PART_HEADER_BYTES = 8192


@dataclass
class StreamedBlob:
    size: int
    sha256: str
    head: bytes
    filename: str | None = None


class _Sink:
    """Coalesces small ASGI chunks into ~1 MiB writes done off the event loop."""

    def __init__(self, writer: BlobWriter, max_bytes: int) -> None:
        self.writer, self.max_bytes = writer, max_bytes
        self.size = 0
        self.hash = hashlib.sha256()
        self.head = b""
        self._buf = bytearray()

    async def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(f"The upload exceeds the limit of {self.max_bytes} bytes.")
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
        self.hash.update(data)
        self._buf += data
        if len(self._buf) >= FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._buf:
            chunk = bytes(self._buf)
            self._buf.clear()
            await anyio.to_thread.run_sync(self.writer.write, chunk)

    def result(self, filename: str | None = None) -> StreamedBlob:
        return StreamedBlob(self.size, self.hash.hexdigest(), self.head, filename)


async def stream_raw(
    chunks: AsyncIterator[bytes], writer: BlobWriter, max_bytes: int
) -> StreamedBlob:
    sink = _Sink(writer, max_bytes)
    async for chunk in chunks:
        if chunk:
            await sink.feed(chunk)
    await sink.flush()
    return sink.result()


async def stream_multipart(
    chunks: AsyncIterator[bytes], content_type: str, writer: BlobWriter, max_bytes: int
) -> StreamedBlob:
    """Stream the first file part of a multipart/form-data body; other parts are ignored."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise UnprocessableEntity("The multipart body has no boundary.")
    sink = _Sink(writer, max_bytes)
    state = _PartState()
    pending: list[bytes] = []
    parser = MultipartParser(
        boundary,
        cast("MultipartCallbacks", _callbacks(state, pending)),
        max_header_size=MAX_PART_HEADER_BYTES,
    )
    try:
        async for chunk in chunks:
            parser.write(chunk)
            for piece in pending:
                await sink.feed(piece)
            pending.clear()
        parser.finalize()
    except MultipartParseError as exc:
        # A malformed part is the client's mistake (found by Schemathesis: it was a 500).
        raise UnprocessableEntity(f"The multipart body is malformed: {exc}") from None
    for piece in pending:
        await sink.feed(piece)
    if not state.found_file:
        raise UnprocessableEntity("The multipart body has no file part (field 'file').")
    await sink.flush()
    return sink.result(state.filename)


@dataclass
class _PartState:
    parts: int = 0
    header_field: bytes = b""
    header_value: bytes = b""
    disposition: bytes = b""
    in_file: bool = False
    found_file: bool = False
    done: bool = False
    filename: str | None = None


class _Callbacks:
    """The multipart parser's callbacks: they follow one part at a time in ``state`` and
    keep the bytes of the first file part in ``pending``."""

    def __init__(self, state: _PartState, pending: list[bytes]) -> None:
        self.state, self.pending = state, pending

    def on_part_begin(self) -> None:
        self.state.parts += 1
        if self.state.parts > MAX_MULTIPART_PARTS:
            raise UnprocessableEntity(f"The multipart body has over {MAX_MULTIPART_PARTS} parts.")
        self.state.disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.state.header_field += data[start:end]
        _bound_header(self.state)

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.state.header_value += data[start:end]
        _bound_header(self.state)

    def on_header_end(self) -> None:
        state = self.state
        if state.header_field.lower() == b"content-disposition":
            state.disposition = state.header_value
        state.header_field, state.header_value = b"", b""

    def on_headers_finished(self) -> None:
        state = self.state
        _, params = parse_options_header(state.disposition)
        filename = params.get(b"filename")
        state.in_file = filename is not None and not state.done
        if state.in_file:
            state.found_file = True
            state.filename = (filename or b"").decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.state.in_file:
            self.pending.append(bytes(data[start:end]))

    def on_part_end(self) -> None:
        if self.state.in_file:
            self.state.done = True
        self.state.in_file = False


def _callbacks(state: _PartState, pending: list[bytes]) -> dict[str, Callable[..., None]]:
    handlers = _Callbacks(state, pending)
    names = [name for name in vars(_Callbacks) if name.startswith("on_")]
    return {name: getattr(handlers, name) for name in names}


def _bound_header(state: _PartState) -> None:
    if len(state.header_field) + len(state.header_value) > MAX_PART_HEADER_BYTES:
        raise UnprocessableEntity(
            f"A multipart header is longer than {MAX_PART_HEADER_BYTES} bytes."
        )
