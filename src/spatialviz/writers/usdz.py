"""USDZ export for AR Quick Look, RealityKit and visionOS.

Quick Look does not draw ``UsdGeomPoints`` and ARKit's USDZ profile has no
``PointInstancer``, so each point becomes a small octahedron (6 vertices, 8 triangles) and
the octahedra are merged into a few ``Mesh`` prims (one draw call each). RealityKit ignores
``displayColor`` when rendering, so colour comes from one ``UsdPreviewSurface`` whose
diffuse colour is a small palette texture (one texel per distinct colour) addressed by
per-vertex ``st``; ``displayColor`` is authored too for usdview and other DCC tools.
Colours arrive sRGB-encoded (file colours, colormaps): the palette PNG keeps those codes
and says ``sourceColorSpace = sRGB``, while ``displayColor``, linear by USD convention,
gets them decoded (like the tiles' glTF COLOR_0).

Points are first grid-sampled to ``budget_points`` (one point per occupied voxel, the
voxel doubling until the budget holds) so the result stays smooth on a headset:
the default 50,000 points make 300,000 vertices and 400,000 triangles.
The model is Y-up, in metres, centred on its footprint with its lowest point at y = 0.
"""

from __future__ import annotations

import math
import struct
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from spatialviz.tiling.colorspace import srgb_to_linear

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

DEFAULT_BUDGET_POINTS = 50_000
MAX_BUDGET_POINTS = 250_000
POINTS_PER_MESH = 10_000
TRIANGLES_PER_POINT = 8
VERTICES_PER_POINT = 6

_OCTAHEDRON = np.array(
    [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.float64
)
# Counter-clockwise seen from outside, so normals point out.
_FACES = np.array(
    [[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]],
    dtype=np.int32,
)


class ExportError(Exception):
    pass


@dataclass(frozen=True)
class PointArrays:
    """Points in memory: ``xyz`` (N, 3) float64, ``rgb`` (N, 3) uint8."""

    xyz: F64
    rgb: U8


@dataclass(frozen=True)
class UsdzReport:
    points: int
    triangles: int
    meshes: int
    point_radius_m: float
    bytes: int


class GridSampler:
    """Keeps at most ``budget`` points spread evenly over space, fed in batches.

    Until the budget is reached every point is kept; past it, one point per voxel of a
    grid anchored at the origin, the voxel doubling until the kept points fit. Memory is
    the budget plus one batch.
    """

    def __init__(self, budget: int) -> None:
        if budget < 1:
            raise ValueError("the budget must be at least one point")
        self.budget = budget
        self.xyz: F64 = np.empty((0, 3))
        self.rgb: U8 = np.empty((0, 3), dtype=np.uint8)
        self.cell: float | None = None

    def add(self, xyz: F64, rgb: U8) -> None:
        ok = np.all(np.isfinite(xyz), axis=1)
        xyz = np.concatenate([self.xyz, xyz[ok]])
        rgb = np.concatenate([self.rgb, rgb[ok]])
        if len(xyz) > self.budget:
            if self.cell is None:
                extent = float(np.ptp(xyz, axis=0).max())
                self.cell = max(extent, 1e-9) / (4 * self.budget ** (1 / 3))
            while True:
                keys = np.floor(xyz / self.cell).astype(np.int64)
                _, first = np.unique(keys, axis=0, return_index=True)
                if len(first) <= self.budget:
                    break
                self.cell *= 2
            first.sort()  # keep the earlier points, in their order
            xyz, rgb = xyz[first], rgb[first]
        self.xyz, self.rgb = xyz, rgb


def _batches_to_sampler(source: PointArrays | Iterable[pa.RecordBatch], budget: int) -> GridSampler:
    sampler = GridSampler(budget)
    if isinstance(source, PointArrays):
        sampler.add(np.asarray(source.xyz, np.float64), np.asarray(source.rgb, np.uint8))
        return sampler
    for batch in source:
        cols = [np.asarray(batch.column(c).to_numpy(zero_copy_only=False)) for c in "xyz"]
        names = batch.schema.names
        if all(c in names for c in ("red", "green", "blue")):
            channels = [
                np.asarray(batch.column(c).fill_null(0).to_numpy(zero_copy_only=False))
                for c in ("red", "green", "blue")
            ]
            rgb = np.stack(channels, axis=1).astype(np.uint8)
        else:
            rgb = np.full((batch.num_rows, 3), 200, dtype=np.uint8)
        sampler.add(np.stack(cols, axis=1).astype(np.float64), rgb)
    return sampler


def _to_scene_frame(
    xyz: F64, *, z_up: bool, target_size: float | None, units_per_metre: float
) -> F64:
    pts = np.stack([xyz[:, 0], xyz[:, 2], -xyz[:, 1]], axis=1) if z_up else xyz.copy()
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = np.array([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2])
    pts -= centre
    extent = float((hi - lo).max())
    if target_size is not None:
        pts *= target_size / extent if extent > 0 else 1.0
    else:
        pts /= units_per_metre
    return pts


def auto_point_radius(pts: F64) -> float:
    """About half the typical spacing: a surface (e.g. LiDAR) or a volume (a 3D chart)."""
    n = max(len(pts), 1)
    e = np.sort(np.ptp(pts, axis=0))[::-1] if len(pts) else np.zeros(3)
    if e[0] <= 0:
        return 0.005
    spacing = (
        math.cbrt(e[0] * e[1] * e[2] / n)
        if e[2] > 0.1 * e[0]
        else math.sqrt(e[0] * max(e[1], e[0] * 0.01) / n)
    )
    return float(np.clip(0.5 * spacing, e[0] * 1e-4, e[0] * 0.02))


# --- a palette texture ------------------------------------------------------------------------


def _png(rgb_rows: U8) -> bytes:
    """Encode an (H, W, 3) uint8 image as PNG (no filter, zlib), without an imaging library."""
    h, w, _ = rgb_rows.shape
    raw = b"".join(b"\x00" + rgb_rows[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _palette(rgb: U8) -> tuple[bytes, npt.NDArray[np.float32]]:
    """A square texture holding each distinct colour once, and each point's UV on it."""
    colors, inverse = np.unique(rgb, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    side = max(1, math.ceil(math.sqrt(len(colors))))
    image = np.zeros((side * side, 3), dtype=np.uint8)
    image[: len(colors)] = colors
    col = inverse % side
    row = inverse // side
    uv = np.stack([(col + 0.5) / side, 1.0 - (row + 0.5) / side], axis=1).astype(np.float32)
    return _png(image.reshape(side, side, 3)), uv


# --- USD authoring -----------------------------------------------------------------------------


def _author_stage(
    usdc: Path, pts: F64, rgb: U8, uv: npt.NDArray[np.float32], radius: float, texture: str
) -> int:
    from pxr import Gf, Kind, Sdf, Usd, UsdGeom, UsdShade, Vt

    stage = Usd.Stage.CreateNew(str(usdc))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/Scene")
    stage.SetDefaultPrim(root.GetPrim())
    Usd.ModelAPI(root.GetPrim()).SetKind(Kind.Tokens.component)

    UsdGeom.Scope.Define(stage, "/Scene/Materials")
    material = UsdShade.Material.Define(stage, "/Scene/Materials/PointColors")
    surface = UsdShade.Shader.Define(stage, "/Scene/Materials/PointColors/Surface")
    surface.CreateIdAttr("UsdPreviewSurface")
    surface.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(0.9)
    surface.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(0.0)
    reader = UsdShade.Shader.Define(stage, "/Scene/Materials/PointColors/StReader")
    reader.CreateIdAttr("UsdPrimvarReader_float2")
    reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("st")
    tex = UsdShade.Shader.Define(stage, "/Scene/Materials/PointColors/Palette")
    tex.CreateIdAttr("UsdUVTexture")
    tex.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(texture)
    tex.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set("sRGB")
    tex.CreateInput("wrapS", Sdf.ValueTypeNames.Token).Set("clamp")
    tex.CreateInput("wrapT", Sdf.ValueTypeNames.Token).Set("clamp")
    tex.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(
        reader.ConnectableAPI(), "result"
    )
    tex_rgb = tex.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(tex_rgb)
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")

    UsdGeom.Scope.Define(stage, "/Scene/Points")
    corner = (_OCTAHEDRON * radius).astype(np.float32)
    meshes = 0
    for start in range(0, len(pts), POINTS_PER_MESH):
        chunk = slice(start, start + POINTS_PER_MESH)
        centres = pts[chunk].astype(np.float32)
        n = len(centres)
        verts = (centres[:, None, :] + corner[None, :, :]).reshape(-1, 3)
        faces = (_FACES[None, :, :] + (np.arange(n, dtype=np.int32) * 6)[:, None, None]).reshape(-1)
        mesh = UsdGeom.Mesh.Define(stage, f"/Scene/Points/Chunk{meshes:04d}")
        mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
        mesh.CreateDoubleSidedAttr(False)
        mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(verts))
        mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(n * 8, 3, dtype=np.int32)))
        mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(faces))
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
        api = UsdGeom.PrimvarsAPI(mesh)
        st = api.CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
        st.Set(Vt.Vec2fArray.FromNumpy(np.repeat(uv[chunk], 6, axis=0)))
        colors = np.repeat(srgb_to_linear(rgb[chunk]), 6, axis=0)
        display = mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex)
        display.Set(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(colors)))
        UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)
        meshes += 1
    stage.GetRootLayer().Save()
    return meshes


def write_usdz(
    source: PointArrays | Iterable[pa.RecordBatch],
    out_path: str | Path,
    *,
    budget_points: int = DEFAULT_BUDGET_POINTS,
    point_size: float | None = None,
    target_size: float | None = 1.0,
    units_per_metre: float = 1.0,
    z_up: bool = True,
) -> UsdzReport:
    """Write points as an ARKit-profile ``.usdz``.

    ``source``: :class:`PointArrays` or Arrow batches with ``x, y, z`` and uint8
    ``red, green, blue`` (the output of :mod:`spatialviz.styling.transform`), streamed.
    ``point_size``: octahedron radius in output metres (default: half the typical spacing).
    ``target_size``: the largest extent in metres (1.0 = a tabletop model); ``None`` keeps
    real-world size, the input being in units of ``1 / units_per_metre`` metres.
    """
    from pxr import UsdUtils

    if not 1 <= budget_points <= MAX_BUDGET_POINTS:
        raise ExportError(f"budget_points must be between 1 and {MAX_BUDGET_POINTS}")
    sampler = _batches_to_sampler(source, budget_points)
    if len(sampler.xyz) == 0:
        raise ExportError("there are no points to export")
    pts = _to_scene_frame(
        sampler.xyz, z_up=z_up, target_size=target_size, units_per_metre=units_per_metre
    )
    radius = point_size if point_size is not None else auto_point_radius(pts)
    if not (math.isfinite(radius) and radius > 0):
        raise ExportError("point_size must be a positive number of metres")
    png, uv = _palette(sampler.rgb)
    out = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="usdz-") as tmp:
        work = Path(tmp)
        (work / "palette.png").write_bytes(png)
        usdc = work / "scene.usdc"
        meshes = _author_stage(usdc, pts, sampler.rgb, uv, radius, "palette.png")
        part = out.with_name(out.name + ".part.usdz")
        if not UsdUtils.CreateNewARKitUsdzPackage(str(usdc), str(part)):
            part.unlink(missing_ok=True)
            raise ExportError("USD could not package the scene")
        part.replace(out)
    n = len(pts)
    return UsdzReport(
        points=n,
        triangles=n * TRIANGLES_PER_POINT,
        meshes=meshes,
        point_radius_m=float(radius),
        bytes=out.stat().st_size,
    )
