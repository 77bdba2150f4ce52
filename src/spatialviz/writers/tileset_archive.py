"""3D Tiles archives (``.3tz``): a tileset directory as one ZIP with a hash index.

Per the 3D Tiles Archive Format (v1.3/1.4, Maxar/OGC community): a ZIP whose every local
file header carries sizes and CRC (no data descriptors), ``tileset.json`` at the root, and
a last, uncompressed entry ``@3dtilesIndex1@`` holding one 24-byte record per file — the
MD5 of its normalised path and the offset of its local file header — sorted by the hash
read as two little-endian uint64 (first 8 bytes, then the last 8).

Binary content (GLB, subtree, bin) is stored; JSON is deflated. Files are copied in
chunks, so memory stays bounded whatever the tileset size.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

INDEX_NAME = "@3dtilesIndex1@"
_STORED_SUFFIXES = frozenset({".glb", ".b3dm", ".pnts", ".i3dm", ".cmpt", ".subtree", ".bin"})
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIGNATURE = 0x04034B50


class ArchiveError(Exception):
    """The tileset cannot be archived, or an archive cannot be read."""


def normalize_path(path: str) -> str:
    return path.replace("\\", "/").lstrip("/")


def path_hash(path: str) -> bytes:
    # MD5 is what the format specifies for lookup; it is not used for security here.
    return hashlib.md5(normalize_path(path).encode("utf-8"), usedforsecurity=False).digest()


def _sort_key(digest: bytes) -> tuple[int, int]:
    first, second = struct.unpack("<QQ", digest)
    return first, second


def build_index(entries: dict[str, int]) -> bytes:
    """The ``@3dtilesIndex1@`` bytes for ``{archive path: local header offset}``."""
    records = sorted(
        ((path_hash(p), off) for p, off in entries.items()), key=lambda r: _sort_key(r[0])
    )
    return b"".join(digest + struct.pack("<Q", offset) for digest, offset in records)


def _tileset_files(tileset_dir: Path) -> Iterator[tuple[Path, str]]:
    for root, dirs, files in os.walk(tileset_dir):
        dirs.sort()
        for name in sorted(files):
            full = Path(root) / name
            if full.is_symlink() or not full.is_file():
                continue
            rel = full.relative_to(tileset_dir).as_posix()
            lowered = rel.lower()
            if ".3tz" in lowered or ".3dtiles.zip" in lowered:
                raise ArchiveError(f"{rel}: names inside a 3tz must not contain .3tz")
            if rel == INDEX_NAME:
                continue
            yield full, rel


def write_3tz(tileset_dir: str | Path, out_path: str | Path) -> int:
    """Pack ``tileset_dir`` into ``out_path`` (written via a temporary file, then renamed).

    Returns the number of files archived (the index not counted).
    """
    src = Path(tileset_dir)
    out = Path(out_path)
    if not (src / "tileset.json").is_file():
        raise ArchiveError("the tileset directory has no tileset.json at its root")
    tmp = out.with_name(out.name + ".part")
    offsets: dict[str, int] = {}
    try:
        # The output is a regular (seekable) file, so zipfile writes sizes and CRC into
        # each local header instead of a trailing data descriptor, as the format requires.
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
            for full, rel in _tileset_files(src):
                method = (
                    zipfile.ZIP_STORED
                    if full.suffix.lower() in _STORED_SUFFIXES
                    else zipfile.ZIP_DEFLATED
                )
                zf.write(full, rel, compress_type=method)
                offsets[rel] = zf.getinfo(rel).header_offset
            info = zipfile.ZipInfo(INDEX_NAME, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, build_index(offsets))
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return len(offsets)


def read_index(archive: str | Path) -> list[tuple[bytes, int]]:
    """The index records of an archive, checking it is the last central-directory entry."""
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        if not infos or infos[-1].filename != INDEX_NAME:
            raise ArchiveError("the last entry is not @3dtilesIndex1@")
        if infos[-1].compress_type != zipfile.ZIP_STORED:
            raise ArchiveError("the index must be stored uncompressed")
        raw = zf.read(INDEX_NAME)
    if len(raw) % 24:
        raise ArchiveError("index length is not a multiple of 24")
    return [
        (raw[i : i + 16], struct.unpack_from("<Q", raw, i + 16)[0]) for i in range(0, len(raw), 24)
    ]


def read_entry(
    archive: str | Path, path: str, index: list[tuple[bytes, int]] | None = None
) -> bytes:
    """Read one file the way 3tz clients do: MD5 lookup in the index, then the local header."""
    records = index if index is not None else read_index(archive)
    wanted = normalize_path(path)
    digest = path_hash(wanted)
    candidates = [off for d, off in records if d == digest]
    with open(archive, "rb") as fh:
        for offset in candidates:
            fh.seek(offset)
            header = fh.read(_LOCAL_HEADER.size)
            (sig, _ver, _flags, method, _t, _d, crc, csize, _usize, nlen, xlen) = (
                _LOCAL_HEADER.unpack(header)
            )
            if sig != _LOCAL_SIGNATURE:
                raise ArchiveError(f"no local file header at offset {offset}")
            name = fh.read(nlen).decode("utf-8")
            extra = fh.read(xlen)
            if name != wanted:
                continue  # an MD5 collision: try the next record with the same hash
            if csize == 0xFFFFFFFF:
                csize = _zip64_compressed_size(extra)
            data = fh.read(csize)
            if method == zipfile.ZIP_DEFLATED:
                data = zlib.decompress(data, -15)
            elif method != zipfile.ZIP_STORED:
                raise ArchiveError(f"unsupported compression method {method}")
            if zlib.crc32(data) != crc:
                raise ArchiveError(f"{name}: CRC mismatch")
            return data
    raise KeyError(path)


def _zip64_compressed_size(extra: bytes) -> int:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            _usize, csize = struct.unpack_from("<QQ", extra, pos + 4)
            return int(csize)
        pos += 4 + size
    raise ArchiveError("zip64 sizes missing")
