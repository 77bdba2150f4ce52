from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pxr import Usd, UsdGeom, UsdShade, UsdValidation

from spatialviz.writers.usdz import (
    ExportError,
    GridSampler,
    PointArrays,
    write_usdz,
)

# The ARKit profile rules of USD's former ComplianceChecker(arKit=True), which usd-core
# 26 no longer ships: checked here directly.
ARKIT_PRIM_TYPES = {
    "", "Scope", "Xform", "Camera", "Shader", "Material", "Mesh", "Sphere", "Cube",
    "Cylinder", "Cone", "Capsule", "GeomSubset", "Points", "SkelRoot", "Skeleton",
    "SkelAnimation", "BlendShape", "SpatialAudio",
}  # fmt: skip
ARKIT_SHADERS = {"UsdPreviewSurface", "UsdUVTexture", "UsdTransform2d"}
ARKIT_FILE_TYPES = {".usdc", ".png", ".jpg", ".jpeg"}


def _package_errors(path: Path) -> list[str]:
    """USDZ packaging rules: usdc root layer, allowed file types, stored, 64-byte aligned."""
    errors: list[str] = []
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if not infos[0].filename.endswith(".usdc"):
            errors.append(f"root layer {infos[0].filename} is not usdc")
        for info in infos:
            if Path(info.filename).suffix.lower() not in ARKIT_FILE_TYPES:
                errors.append(f"{info.filename}: file type not allowed")
            if info.compress_type != zipfile.ZIP_STORED:
                errors.append(f"{info.filename}: compressed")
            data_offset = info.header_offset + 30 + len(info.filename) + len(info.extra)
            if data_offset % 64:
                errors.append(f"{info.filename}: data not 64-byte aligned")
    return errors


def _prim_errors(prim: Usd.Prim) -> list[str]:
    """ARKit's profile for one prim: allowed type and shader, bindings with their API."""
    errors: list[str] = []
    if prim.GetTypeName() not in ARKIT_PRIM_TYPES:
        errors.append(f"{prim.GetPath()}: type {prim.GetTypeName()} not in the ARKit profile")
    if prim.IsA(UsdShade.Shader):
        sid = UsdShade.Shader(prim).GetIdAttr().Get()
        if sid not in ARKIT_SHADERS and not str(sid).startswith("UsdPrimvarReader_"):
            errors.append(f"{prim.GetPath()}: shader {sid}")
    rel = prim.GetRelationship("material:binding")
    if rel and rel.GetTargets() and not prim.HasAPI(UsdShade.MaterialBindingAPI):
        errors.append(f"{prim.GetPath()}: binding without MaterialBindingAPI")
    return errors


def _check_arkit_profile(path: Path) -> list[str]:
    errors = _package_errors(path)
    stage = Usd.Stage.Open(str(path))
    if not stage.GetDefaultPrim():
        errors.append("no default prim")
    if UsdGeom.GetStageUpAxis(stage) != UsdGeom.Tokens.y:
        errors.append("up axis is not Y")
    if UsdGeom.GetStageMetersPerUnit(stage) != 1.0:
        errors.append("metersPerUnit is not 1")
    for prim in stage.Traverse():
        errors.extend(_prim_errors(prim))
    validators = UsdValidation.ValidationRegistry().GetOrLoadAllValidators()
    for err in UsdValidation.ValidationContext(validators).Validate(stage):
        errors.append(f"{err.GetName()}: {err.GetMessage()}")
    return errors


def _instances(path: Path) -> int:
    stage = Usd.Stage.Open(str(path))
    total = 0
    for prim in stage.Traverse():
        if prim.IsA(UsdGeom.Mesh):
            mesh = UsdGeom.Mesh(prim)
            n_points = len(mesh.GetPointsAttr().Get())
            assert n_points % 6 == 0
            assert len(mesh.GetFaceVertexCountsAttr().Get()) == n_points // 6 * 8
            assert mesh.GetSubdivisionSchemeAttr().Get() == UsdGeom.Tokens.none
            total += n_points // 6
    return total


def test_small_cloud_keeps_every_point_and_passes_arkit_rules(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    xyz = rng.uniform([500_000, 4_000_000, 10], [500_050, 4_000_030, 20], size=(1500, 3))
    rgb = rng.integers(0, 256, size=(1500, 3)).astype(np.uint8)
    out = tmp_path / "scene.usdz"
    report = write_usdz(PointArrays(xyz, rgb), out, budget_points=5000)
    assert report.points == 1500
    assert report.triangles == 12_000
    assert _instances(out) == 1500
    assert _check_arkit_profile(out) == []
    stage = Usd.Stage.Open(str(out))
    bbox = UsdGeom.BBoxCache(Usd.TimeCode.Default(), ["default"]).ComputeWorldBound(
        stage.GetDefaultPrim()
    )
    size = bbox.GetRange().GetSize()
    assert max(size) == pytest.approx(1.0, abs=2 * report.point_radius_m + 1e-3)
    assert bbox.GetRange().GetMin()[1] == pytest.approx(-report.point_radius_m, abs=1e-3)


def test_streamed_batches_are_grid_sampled_to_the_budget(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)

    def batches() -> list[pa.RecordBatch]:
        out = []
        for _ in range(6):
            xyz = rng.uniform(0, 100, size=(5000, 3))
            out.append(
                pa.RecordBatch.from_pydict(
                    {
                        "x": xyz[:, 0],
                        "y": xyz[:, 1],
                        "z": xyz[:, 2],
                        "red": pa.array(np.full(5000, 255, np.uint8)),
                        "green": pa.array(np.zeros(5000, np.uint8)),
                        "blue": pa.array(np.zeros(5000, np.uint8)),
                    }
                )
            )
        return out

    out = tmp_path / "sampled.usdz"
    report = write_usdz(batches(), out, budget_points=4000, target_size=None)
    assert 4000 // 8 < report.points <= 4000
    assert _instances(out) == report.points
    assert report.meshes == 1
    assert _check_arkit_profile(out) == []


def test_display_color_is_linear_and_the_palette_srgb(tmp_path: Path) -> None:
    """USD's displayColor is linear: sRGB 188 must be authored as ~0.5, not 0.737."""
    xyz = np.random.default_rng(3).uniform(0, 10, size=(200, 3))
    rgb = np.tile(np.array([[188, 0, 255]], np.uint8), (200, 1))
    out = tmp_path / "linear.usdz"
    write_usdz(PointArrays(xyz, rgb), out, budget_points=5000)
    stage = Usd.Stage.Open(str(out))
    mesh = next(UsdGeom.Mesh(p) for p in stage.Traverse() if p.IsA(UsdGeom.Mesh))
    colors = np.array(UsdGeom.PrimvarsAPI(mesh).GetPrimvar("displayColor").Get())
    assert colors[:, 0] == pytest.approx(0.503, abs=0.002)
    assert (colors[:, 1] == 0).all()
    assert colors[:, 2] == pytest.approx(1.0)
    tex = UsdShade.Shader(stage.GetPrimAtPath("/Scene/Materials/PointColors/Palette"))
    assert tex.GetInput("sourceColorSpace").Get() == "sRGB"


def test_grid_sampler_spreads_points() -> None:
    rng = np.random.default_rng(2)
    sampler = GridSampler(500)
    dense = rng.normal(0, 0.01, size=(20_000, 3))  # a tight cluster ...
    sparse = rng.uniform(-10, 10, size=(2_000, 3))  # ... and a sparse field
    sampler.add(dense, np.zeros((20_000, 3), np.uint8))
    sampler.add(sparse, np.zeros((2_000, 3), np.uint8))
    assert len(sampler.xyz) <= 500
    far = np.linalg.norm(sampler.xyz, axis=1) > 1
    assert far.mean() > 0.5  # the cluster does not eat the budget


def test_export_errors(tmp_path: Path) -> None:
    empty = PointArrays(np.empty((0, 3)), np.empty((0, 3), np.uint8))
    with pytest.raises(ExportError, match="no points"):
        write_usdz(empty, tmp_path / "e.usdz")
    one = PointArrays(np.zeros((1, 3)), np.zeros((1, 3), np.uint8))
    with pytest.raises(ExportError, match="budget"):
        write_usdz(one, tmp_path / "e.usdz", budget_points=0)
    report = write_usdz(one, tmp_path / "one.usdz")
    assert report.points == 1


def test_the_profile_check_catches_what_arkit_refuses(tmp_path: Path) -> None:
    from pxr import UsdUtils

    layer = tmp_path / "bad.usda"
    stage = Usd.Stage.CreateNew(str(layer))
    UsdGeom.PointInstancer.Define(stage, "/Root")
    stage.GetRootLayer().Save()
    assert UsdUtils.CreateNewUsdzPackage(str(layer), str(tmp_path / "bad.usdz"))
    errors = _check_arkit_profile(tmp_path / "bad.usdz")
    assert any("not usdc" in e for e in errors)
    assert any("PointInstancer" in e for e in errors)
    assert any("default prim" in e for e in errors)
