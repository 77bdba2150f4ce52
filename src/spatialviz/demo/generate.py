"""Synthetic demo data: a LiDAR-like scene (rolling terrain, buildings, trees) and a
tabular dataset for a 3D scatter chart. Deterministic for a given seed; vectorised."""

from __future__ import annotations

from pathlib import Path

import laspy
import numpy as np
import numpy.typing as npt

GROUND, VEGETATION, BUILDING = 2, 5, 6
Array = npt.NDArray[np.float64]


def _terrain(x: Array, y: Array, rng_phase: Array) -> Array:
    z = np.full_like(x, 50.0)
    for i, wavelength in enumerate((400.0, 170.0, 60.0, 23.0)):
        k = 2 * np.pi / wavelength
        amp = wavelength / 40.0
        z += amp * np.sin(k * x + rng_phase[2 * i]) * np.cos(k * 0.8 * y + rng_phase[2 * i + 1])
    return z


def lidar_scene(points: int = 1_000_000, seed: int = 7) -> dict[str, npt.NDArray[np.generic]]:
    """About 70 % ground, 20 % roofs and walls, 10 % tree crowns, at ~8 points/m²."""
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(points / 8.0))
    phase = rng.uniform(0, 2 * np.pi, 8)
    n_ground, n_build = int(points * 0.7), int(points * 0.2)
    n_tree = points - n_ground - n_build

    gx, gy = rng.uniform(0, side, n_ground), rng.uniform(0, side, n_ground)
    gz = _terrain(gx, gy, phase) + rng.normal(0, 0.03, n_ground)

    n_houses = max(4, int(side / 25) ** 2 // 3)
    margin = min(10.0, side / 4)  # small clouds (tests) still fit their houses
    cx = rng.uniform(margin, side - margin, n_houses)
    cy = rng.uniform(margin, side - margin, n_houses)
    w, d = rng.uniform(8, 20, n_houses), rng.uniform(8, 20, n_houses)
    h = rng.uniform(4, 18, n_houses)
    which = rng.integers(0, n_houses, n_build)
    u, v = rng.uniform(-0.5, 0.5, n_build), rng.uniform(-0.5, 0.5, n_build)
    on_wall = rng.random(n_build) < 0.3
    side_pick = rng.integers(0, 4, n_build)
    u = np.where(on_wall & (side_pick == 0), -0.5, np.where(on_wall & (side_pick == 1), 0.5, u))
    v = np.where(on_wall & (side_pick == 2), -0.5, np.where(on_wall & (side_pick == 3), 0.5, v))
    bx, by = cx[which] + u * w[which], cy[which] + v * d[which]
    base = _terrain(cx[which], cy[which], phase)
    bz = np.where(on_wall, base + rng.uniform(0, 1, n_build) * h[which], base + h[which])

    n_trees = max(10, int(side / 8) ** 2 // 4)
    tx, ty = rng.uniform(0, side, n_trees), rng.uniform(0, side, n_trees)
    radius = rng.uniform(2, 5, n_trees)
    tree = rng.integers(0, n_trees, n_tree)
    direction = rng.normal(size=(n_tree, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    r = radius[tree] * rng.uniform(0.7, 1.0, n_tree)
    crown = _terrain(tx[tree], ty[tree], phase) + radius[tree] * 1.6
    vx = tx[tree] + direction[:, 0] * r
    vy = ty[tree] + direction[:, 1] * r
    vz = crown + direction[:, 2] * r * 1.2

    x = np.concatenate([gx, bx, vx])
    y = np.concatenate([gy, by, vy])
    z = np.concatenate([gz, bz, vz])
    cls = np.concatenate(
        [
            np.full(n_ground, GROUND, np.uint8),
            np.full(n_build, BUILDING, np.uint8),
            np.full(n_tree, VEGETATION, np.uint8),
        ]
    )
    palette = {GROUND: (150, 130, 95), BUILDING: (200, 80, 70), VEGETATION: (60, 140, 60)}
    rgb = np.zeros((points, 3), np.float64)
    for klass, color in palette.items():
        rgb[cls == klass] = color
    rgb = np.clip(rgb * rng.uniform(0.8, 1.15, (points, 1)), 0, 255)
    intensity = np.clip(rng.normal(900, 250, points) + (cls == BUILDING) * 600, 0, 65535)
    return {
        "x": x + 500_000.0,
        "y": y + 4_000_000.0,
        "z": z,
        "classification": cls,
        "intensity": intensity.astype(np.uint16),
        "rgb16": (rgb * 257).astype(np.uint16),
    }


def write_lidar_las(path: Path, points: int = 1_000_000, seed: int = 7) -> Path:
    scene = lidar_scene(points, seed)
    header = laspy.LasHeader(point_format=3, version="1.2")
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.array([500_000.0, 4_000_000.0, 0.0])
    las = laspy.LasData(header)
    las.x, las.y, las.z = scene["x"], scene["y"], scene["z"]
    las.classification = scene["classification"]
    las.intensity = scene["intensity"]
    las.red, las.green, las.blue = scene["rgb16"].T
    las.write(str(path))
    return path


def write_measurements_csv(path: Path, rows: int = 5_000, seed: int = 11) -> Path:
    """Cities-like measurements: an id, three correlated numeric columns, a size and a
    category, good for a 3D scatter chart coloured by region."""
    rng = np.random.default_rng(seed)
    regions = np.array(["north", "south", "east", "west", "centre"])
    region = rng.integers(0, len(regions), rows)
    income = rng.lognormal(10.5, 0.4, rows) + region * 3000
    age = np.clip(rng.normal(38 + region * 2, 9, rows), 18, 95)
    happiness = np.clip(
        3 + income / 40_000 - (age - 40) ** 2 / 800 + rng.normal(0, 0.6, rows), 0, 10
    )
    population = rng.lognormal(9, 1.2, rows).astype(np.int64)
    with path.open("w") as fh:
        fh.write("id,income,age,happiness,population,region\n")
        for i in range(rows):
            fh.write(
                f"{i + 1},{income[i]:.0f},{age[i]:.1f},{happiness[i]:.2f},{population[i]},"
                f"{regions[region[i]]}\n"
            )
    return path
