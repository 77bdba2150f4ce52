"""One octree node -> one binary glTF 2.0 (mode POINTS).

Positions are quantized to uint16 per axis (KHR_mesh_quantization: the node's
``translation``/``scale`` dequantize them) on the source's own coordinate grid when it fits,
else over the node's bounds (see :mod:`spatialviz.tiling.quantize`). Colours arrive
sRGB-encoded, as files store them, and are written *linear* as glTF defines COLOR_0
(normalized uint8 through a lookup table, :mod:`spatialviz.tiling.colorspace`). POSITION
and COLOR_0 are the only vertex attributes, whatever the input: every other per-point value
(intensity, classification, flags, GPS time, the original row id, ...) is one column of an
EXT_structural_metadata property table, in its own type (:mod:`spatialviz.tiling.metadata`).
The vertex data may be compressed, losslessly: EXT_meshopt_compression (every view, the
property table's included) or KHR_draco_mesh_compression (position and colour only), see
docs/scenes.md, "Tile content".

glTF is y-up and 3D Tiles z-up: a point (x, y, z) of the tileset frame is stored as
(x, z, -y), which is what every 3D Tiles runtime undoes.
"""

from __future__ import annotations

import importlib
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from spatialviz.tiling import draco
from spatialviz.tiling.colorspace import srgb_to_linear_u8
from spatialviz.tiling.metadata import add_property_table, read_property
from spatialviz.tiling.options import Compression
from spatialviz.tiling.quantize import local_morton_order, quantize_positions

GLB_MAGIC = 0x46546C67
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
ARRAY_BUFFER = 34962
UNSIGNED_BYTE = 5121
UNSIGNED_SHORT = 5123
FLOAT = 5126


@dataclass(frozen=True)
class PointContent:
    """The points of one node, positions already in the tileset's local (z-up) frame,
    colours sRGB-encoded (as LAS, PLY and the colormaps give them)."""

    positions: npt.NDArray[np.float64]
    colors: npt.NDArray[np.uint8] | None
    properties: Mapping[str, npt.NDArray[Any]]
    sidecar: Mapping[str, npt.NDArray[Any]] = field(default_factory=dict)
    """Per-point columns for the node's sidecar file rather than the tile (see
    :func:`encode_tile`)."""


@dataclass(frozen=True)
class TileFiles:
    """One node's files: the tile (GLB) and, when some columns stay out of it, its sidecar."""

    tile: bytes
    sidecar: bytes | None


class ContentEncoder(Protocol):
    """Turns a node's points into its files (the GLB, and the sidecar if any)."""

    def __call__(self, content: PointContent) -> TileFiles:
        """Return the complete files' content."""
        ...


def _meshopt() -> Any:
    """The optional ``meshopt`` encoder (PyPI ``meshopt``), imported only when asked for."""
    return importlib.import_module("meshopt")


class _BinBuilder:
    """Accumulates buffer views, each aligned to 8 bytes (the strictest rule we meet:
    EXT_structural_metadata wants 8-byte aligned property views).

    With ``meshopt``, every view is stored compressed (EXT_meshopt_compression, mode
    ATTRIBUTES): the compressed bytes go to the GLB's binary chunk and the view itself points
    into a *fallback* buffer that has no data, only the decoded size.
    """

    def __init__(self, meshopt: bool = False) -> None:
        self.parts: list[bytes] = []
        self.length = 0
        self.views: list[dict[str, Any]] = []
        self.meshopt = meshopt
        self.fallback_length = 0

    def _append(self, data: bytes) -> int:
        pad = (-self.length) % 8
        if pad:
            self.parts.append(b"\0" * pad)
            self.length += pad
        offset = self.length
        self.parts.append(data)
        self.length += len(data)
        return offset

    def _compressed(self, data: bytes, stride: int) -> dict[str, Any]:
        """A view whose ``data`` (a whole number of ``stride``-byte elements) is stored
        meshopt-coded."""
        rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, stride)
        packed = _meshopt().encode_gltf_buffer(rows, "ATTRIBUTES")
        offset = self._append(packed)
        self.fallback_length += (-self.fallback_length) % 8
        view: dict[str, Any] = {
            "buffer": 1,
            "byteOffset": self.fallback_length,
            "byteLength": len(data),
        }
        self.fallback_length += len(data)
        view["extensions"] = {
            "EXT_meshopt_compression": {
                "buffer": 0,
                "byteOffset": offset,
                "byteLength": len(packed),
                "byteStride": stride,
                "count": len(rows),
                "mode": "ATTRIBUTES",
            }
        }
        return view

    def _store(self, view: dict[str, Any]) -> int:
        self.views.append(view)
        return len(self.views) - 1

    def add(self, data: bytes) -> int:
        """A plain view (e.g. a Draco stream)."""
        return self._store({"buffer": 0, "byteOffset": self._append(data), "byteLength": len(data)})

    def add_vertex(self, data: bytes, stride: int) -> int:
        """A vertex attribute view (``stride``: a multiple of 4)."""
        if self.meshopt:
            view = self._compressed(data, stride)
        else:
            view = {"buffer": 0, "byteOffset": self._append(data), "byteLength": len(data)}
        view["byteStride"] = stride
        view["target"] = ARRAY_BUFFER
        return self._store(view)

    @property
    def coded(self) -> bool:
        return self.meshopt

    def add_table_values(self, data: bytes, element_size: int) -> int:
        """A property table's values (coded: in 8-byte elements for 64-bit values, else 4,
        which the table's row count makes whole, see ``metadata.CODED_ROWS_MULTIPLE``)."""
        if not self.meshopt:
            return self.add(data)
        return self._store(self._compressed(data, 8 if element_size == 8 else 4))

    def buffers(self, payload: bytes) -> list[dict[str, Any]]:
        buffers: list[dict[str, Any]] = [{"byteLength": len(payload)}]
        if self.fallback_length:
            buffers.append(
                {
                    "byteLength": self.fallback_length,
                    "extensions": {"EXT_meshopt_compression": {"fallback": True}},
                }
            )
        return buffers

    def payload(self) -> bytes:
        pad = (-self.length) % 4
        return b"".join([*self.parts, b"\0" * pad])


def encode_glb(content: PointContent, *, compression: Compression = "none") -> bytes:
    """Encode one node's points as a single GLB (every property in it), compressed as asked."""
    if content.sidecar:
        raise ValueError("encode_glb writes one file: use encode_tile for a sidecar")
    return encode_tile(content, compression=compression).tile


def encode_tile(content: PointContent, *, compression: Compression = "none") -> TileFiles:
    """Encode one node's points as a GLB, its vertex data compressed as asked, and the
    ``sidecar`` columns (if any) as a second, mesh-less GLB holding only a property table.

    Compressed tiles store the points in Z-order of their quantized positions (every
    attribute permuted alike): both codecs predict a point from the one before it. The
    file's point order carries no meaning (row ids travel as a property); the sidecar's rows
    follow the tile's, so its row i is the tile's point i.
    ``meshopt``: EXT_meshopt_compression on every view (vertex and property tables).
    ``draco``: KHR_draco_mesh_compression holding position and colour
    (:mod:`spatialviz.tiling.draco`); the property tables stay plain views.
    """
    n = len(content.positions)
    q, translation, scale = quantize_positions(content.positions)
    colors = srgb_to_linear_u8(content.colors) if content.colors is not None else None
    properties = content.properties
    sidecar = content.sidecar
    if compression != "none" and n > 1:
        order = local_morton_order(q)
        # np.take, not q[order]: ~10x faster on 2-D rows with numpy's fancy indexing.
        q = np.take(q, order, axis=0)
        colors = np.take(colors, order, axis=0) if colors is not None else None
        properties = {name: np.take(values, order) for name, values in properties.items()}
        sidecar = {name: np.take(values, order) for name, values in sidecar.items()}
    packed: bytes | None = None
    if compression == "draco" and n > 0:
        packed = draco.encode_points(q[:, :3], colors)
    bins = _BinBuilder(meshopt=compression == "meshopt" and n > 0)
    accessors: list[dict[str, Any]] = [_position_accessor(q, bins, coded=packed is not None)]
    attributes = {"POSITION": 0}
    if colors is not None:
        accessors.append(_colour_accessor(colors, bins, coded=packed is not None))
        attributes["COLOR_0"] = len(accessors) - 1

    primitive: dict[str, Any] = {"attributes": attributes, "mode": 0}
    extensions = ["KHR_mesh_quantization"] if packed is None else []
    if packed is not None:
        coded = {"POSITION": draco.POSITION_ID}
        if colors is not None:
            coded["COLOR_0"] = draco.COLOR_ID
        primitive["extensions"] = {
            "KHR_draco_mesh_compression": {"bufferView": bins.add(packed), "attributes": coded}
        }
        extensions.append("KHR_draco_mesh_compression")
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "spatialviz.tiling"},
        "extensionsUsed": list(extensions),
        "extensionsRequired": list(extensions),
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "translation": translation, "scale": scale}],
        "meshes": [{"primitives": [primitive]}],
        "accessors": accessors,
    }
    if properties and n:
        add_property_table(doc, primitive, bins, properties, n)
    tile = _finish(doc, bins)
    side = _sidecar_glb(sidecar, n, compression) if sidecar and n else None
    return TileFiles(tile=tile, sidecar=side)


def _sidecar_glb(
    properties: Mapping[str, npt.NDArray[Any]], n: int, compression: Compression
) -> bytes:
    """A glTF with no scene or mesh, only the EXT_structural_metadata property table of
    ``properties`` (n rows, the tile's point order): a client decodes it as it does a
    tile's table. Meshopt-coded views when the tiles are (Draco codes no table)."""
    bins = _BinBuilder(meshopt=compression == "meshopt")
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "spatialviz.tiling"},
        "extensionsUsed": [],
        "extensionsRequired": [],
        # The table may hold padding rows (CODED_ROWS_MULTIPLE): the points are the first n.
        "extras": {"spatialviz": {"points": n}},
    }
    add_property_table(doc, None, bins, properties, n)
    return _finish(doc, bins)


def _finish(doc: dict[str, Any], bins: _BinBuilder) -> bytes:
    doc["bufferViews"] = bins.views
    payload = bins.payload()
    doc["buffers"] = bins.buffers(payload)
    if bins.fallback_length:
        doc["extensionsUsed"].append("EXT_meshopt_compression")
        doc["extensionsRequired"].append("EXT_meshopt_compression")
    if not doc["extensionsRequired"]:
        del doc["extensionsRequired"]  # glTF forbids an empty list (a plain sidecar's)
    return _pack(doc, payload)


def _position_accessor(
    q: npt.NDArray[np.uint16], bins: _BinBuilder, *, coded: bool
) -> dict[str, Any]:
    """POSITION: the (n,4) uint16 rows as a view, or (``coded``) only described, the data
    being in the primitive's Draco stream."""
    n = len(q)
    accessor: dict[str, Any] = {
        "componentType": UNSIGNED_SHORT,
        "count": n,
        "type": "VEC3",
        "min": [int(q[:, i].min()) if n else 0 for i in range(3)],
        "max": [int(q[:, i].max()) if n else 0 for i in range(3)],
    }
    if coded:
        # Draco holds the grid integers as (losslessly quantized) floats and decoders
        # convert them to the accessor's type: asked for uint16, three.js's Draco decoder
        # placed the points wrongly (the browser test caught it); whole floats are exact.
        accessor["componentType"] = FLOAT
        accessor["min"] = [float(v) for v in accessor["min"]]
        accessor["max"] = [float(v) for v in accessor["max"]]
    else:
        # uint16 VEC3 padded to 8 bytes: glTF wants every vertex element 4-byte aligned.
        accessor["bufferView"] = bins.add_vertex(q.tobytes(), stride=8)
    return accessor


def _colour_accessor(
    colors: npt.NDArray[np.uint8], bins: _BinBuilder, *, coded: bool
) -> dict[str, Any]:
    """COLOR_0 (linear, normalized ubyte RGB), padded to 4 bytes, or only described."""
    accessor: dict[str, Any] = {
        "componentType": UNSIGNED_BYTE,
        "normalized": True,
        "count": len(colors),
        "type": "VEC3",
    }
    if not coded:
        rgba = np.zeros((len(colors), 4), dtype=np.uint8)
        rgba[:, :3] = colors
        accessor["bufferView"] = bins.add_vertex(rgba.tobytes(), stride=4)
    return accessor


def _pack(doc: dict[str, Any], payload: bytes) -> bytes:
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 4)
    total = 12 + 8 + len(text) + 8 + len(payload)
    return b"".join(
        [
            struct.pack("<III", GLB_MAGIC, 2, total),
            struct.pack("<II", len(text), CHUNK_JSON),
            text,
            struct.pack("<II", len(payload), CHUNK_BIN),
            payload,
        ]
    )


def read_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Split a GLB into its JSON document and binary chunk (for tests and tools)."""
    magic, _version, _total = struct.unpack_from("<III", data, 0)
    if magic != GLB_MAGIC:
        raise ValueError("not a GLB")
    json_len, _ = struct.unpack_from("<II", data, 12)
    doc: dict[str, Any] = json.loads(data[20 : 20 + json_len])
    off = 20 + json_len
    bin_len, _ = struct.unpack_from("<II", data, off)
    return doc, data[off + 8 : off + 8 + bin_len]


def decode_points(data: bytes) -> PointContent:
    """Decode a GLB written by :func:`encode_glb` back to local z-up positions (colours as
    stored: linear)."""
    doc, payload = read_glb(data)
    prim = doc["meshes"][0]["primitives"][0]
    node = doc["nodes"][0]

    coded = prim.get("extensions", {}).get("KHR_draco_mesh_compression")
    colors: npt.NDArray[np.uint8] | None = None
    if coded is not None:
        raw = _view_bytes(doc, payload, coded["bufferView"])
        q16, colors = draco.decode_points(raw)
        q = q16.astype(np.float64)
    else:
        raw = _view_bytes(
            doc, payload, doc["accessors"][prim["attributes"]["POSITION"]]["bufferView"]
        )
        q = np.frombuffer(raw, dtype=np.uint16).reshape(-1, 4)[:, :3].astype(np.float64)
        if "COLOR_0" in prim["attributes"]:
            raw = _view_bytes(
                doc, payload, doc["accessors"][prim["attributes"]["COLOR_0"]]["bufferView"]
            )
            colors = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 4)[:, :3].copy()
    gltf = q * np.asarray(node["scale"]) + np.asarray(node["translation"])
    local = np.column_stack([gltf[:, 0], -gltf[:, 2], gltf[:, 1]])
    props = _read_table(doc, payload, len(local))
    return PointContent(positions=local, colors=colors, properties=props)


def decode_sidecar(data: bytes) -> dict[str, npt.NDArray[Any]]:
    """The columns of a sidecar written by :func:`encode_tile` (row i: the tile's point i)."""
    doc, payload = read_glb(data)
    n = int(doc["extras"]["spatialviz"]["points"])
    return _read_table(doc, payload, n)


def _view_bytes(doc: dict[str, Any], payload: bytes, index: int) -> bytes:
    """A buffer view's bytes, meshopt-decoded when coded."""
    view = doc["bufferViews"][index]
    packed = view.get("extensions", {}).get("EXT_meshopt_compression")
    if packed is not None:
        start = packed.get("byteOffset", 0)
        rows = _meshopt().decode_gltf_buffer(
            payload[start : start + packed["byteLength"]],
            packed["count"],
            packed["byteStride"],
            "ATTRIBUTES",
        )
        return np.ascontiguousarray(rows).tobytes()
    start = view.get("byteOffset", 0)
    return payload[start : start + view["byteLength"]]


def _read_table(doc: dict[str, Any], payload: bytes, n: int) -> dict[str, npt.NDArray[Any]]:
    props: dict[str, npt.NDArray[Any]] = {}
    meta = doc.get("extensions", {}).get("EXT_structural_metadata")
    if meta:
        table = meta["propertyTables"][0]
        classes = meta["schema"]["classes"][table["class"]]["properties"]
        for name, prop in table["properties"].items():
            props[name] = read_property(classes[name], _view_bytes(doc, payload, prop["values"]), n)
    return props
