"""Per-point values as one EXT_structural_metadata property table, each in its own type.

A tile's per-point values (intensity, classification, flags, GPS time, the row id, ...) are
not vertex attributes: WebGL guarantees only 16 of those per primitive (CesiumJS refuses a
17th), and a vertex attribute cannot hold a float64 or a 64-bit integer. A property table
keeps every value exactly, in its own type (integers as integers, GPS time as FLOAT64) and
booleans bit-packed (1 bit a point); EXT_mesh_features with *implicit* feature ids (feature
id = vertex index) ties row i of the table to point i, at no vertex cost. A client that
colours by a value builds a GPU attribute from the table when asked (the web viewer does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

# numpy dtype -> EXT_structural_metadata componentType (booleans: type BOOLEAN, no component)
METADATA_TYPES: dict[str, str] = {
    "bool": "BOOLEAN",
    "int8": "INT8",
    "uint8": "UINT8",
    "int16": "INT16",
    "uint16": "UINT16",
    "int32": "INT32",
    "uint32": "UINT32",
    "int64": "INT64",
    "uint64": "UINT64",
    "float32": "FLOAT32",
    "float64": "FLOAT64",
}
_DTYPES = {v: k for k, v in METADATA_TYPES.items()}

SCHEMA_ID = "spatialviz_points"
CLASS = "point"

CODED_ROWS_MULTIPLE = 32
"""A meshopt-coded view must hold whole 4-byte elements and a property view exactly its
table's values, so a coded tile's table has a multiple of 32 rows (bit-packed booleans
included): the rows past the last point repeat its values and no feature id points at them."""


class ViewSink(Protocol):
    """Where a property's bytes go (the GLB's buffer view builder)."""

    @property
    def coded(self) -> bool:
        """Whether views are meshopt-coded (tables are then padded, see
        :data:`CODED_ROWS_MULTIPLE`)."""
        ...

    def add_table_values(self, data: bytes, element_size: int) -> int:
        """Store ``data`` as a buffer view; return its index."""
        ...


def class_property(values: npt.NDArray[Any]) -> dict[str, Any]:
    """The schema entry of one property."""
    kind = METADATA_TYPES[values.dtype.name]
    if kind == "BOOLEAN":
        return {"type": "BOOLEAN"}
    return {"type": "SCALAR", "componentType": kind}


def table_bytes(values: npt.NDArray[Any]) -> bytes:
    """A property's values as the table stores them (booleans: a little-endian bitstream,
    point i at bit i % 8 of byte i // 8)."""
    if values.dtype == np.bool_:
        return np.packbits(values, bitorder="little").tobytes()
    return np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes()


def add_property_table(
    doc: dict[str, Any],
    primitive: dict[str, Any] | None,
    sink: ViewSink,
    properties: Mapping[str, npt.NDArray[Any]],
    n: int,
) -> None:
    """Write ``properties`` (n values each) as the primitive's property table (``primitive``
    None: a sidecar's table, tied to no mesh; row i belongs to point i of its tile)."""
    rows = -(-n // CODED_ROWS_MULTIPLE) * CODED_ROWS_MULTIPLE if sink.coded else n
    class_props: dict[str, Any] = {}
    table_props: dict[str, Any] = {}
    for name, column in properties.items():
        values = np.pad(column, (0, rows - n), mode="edge")
        class_props[name] = class_property(values)
        size = 1 if values.dtype == np.bool_ else values.dtype.itemsize
        table_props[name] = {"values": sink.add_table_values(table_bytes(values), size)}
    doc["extensionsUsed"] += ["EXT_structural_metadata"]
    doc["extensions"] = {
        "EXT_structural_metadata": {
            "schema": {"id": SCHEMA_ID, "classes": {CLASS: {"properties": class_props}}},
            "propertyTables": [{"class": CLASS, "count": rows, "properties": table_props}],
        }
    }
    if primitive is None:
        return
    doc["extensionsUsed"].insert(-1, "EXT_mesh_features")
    # No "attribute": feature ids are the vertex indices, one feature per point.
    primitive.setdefault("extensions", {})["EXT_mesh_features"] = {
        "featureIds": [{"featureCount": n, "propertyTable": 0}]
    }


def read_property(class_prop: Mapping[str, Any], raw: bytes, n: int) -> npt.NDArray[Any]:
    """The first n values of a property (a point each) from the bytes of its view."""
    if class_prop["type"] == "BOOLEAN":
        bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
        return bits[:n].astype(np.bool_)
    dtype = np.dtype(_DTYPES[class_prop["componentType"]]).newbyteorder("<")
    return np.frombuffer(raw, dtype=dtype, count=n).copy()
