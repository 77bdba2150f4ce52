"""A stand-in for the Spatialviz API, for developing and smoke-testing the web client alone.

Serves the built client (src/spatialviz/static) plus just enough of /api/v1 to sign in, list a
dataset and open a scene whose tileset is one GLB of N random points carrying exactly the vertex
attributes the viewer expects (_ROW_ID, _INTENSITY, _CLASSIFICATION, COLOR_0). Not a test of
the backend. Run: PYTHONPATH=src python web/dev/mock_api.py --port 8765
"""

from __future__ import annotations

import argparse
import json
import struct
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from spatialviz.web import STATIC_DIR, mount_web_client

N = 20_000
rng = np.random.default_rng(7)
XYZ = rng.normal(0, 1, (N, 3)).astype(np.float32) * np.array([4, 2, 1], np.float32)
INTENSITY = (np.abs(XYZ[:, 2]) * 1000).astype(np.float32)
CLASSIFICATION = (np.arange(N) % 5 + 2).astype(np.uint8)
ROW_ID = np.arange(N, dtype=np.float32)
SIG = "exp=9999999999&sig=mocksig"


def glb() -> bytes:
    colors = np.full((N, 4), 200, np.uint8)
    colors[:, 3] = 255
    parts = [XYZ.tobytes(), colors.tobytes(), ROW_ID.tobytes(), INTENSITY.tobytes(), CLASSIFICATION.tobytes()]
    views, offset = [], 0
    blob = b""
    for p in parts:
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(p)})
        pad = (-len(p)) % 4
        blob += p + b"\0" * pad
        offset += len(p) + pad
    accessors = [
        {"bufferView": 0, "componentType": 5126, "count": N, "type": "VEC3",
         "min": XYZ.min(0).tolist(), "max": XYZ.max(0).tolist()},
        {"bufferView": 1, "componentType": 5121, "normalized": True, "count": N, "type": "VEC4"},
        {"bufferView": 2, "componentType": 5126, "count": N, "type": "SCALAR"},
        {"bufferView": 3, "componentType": 5126, "count": N, "type": "SCALAR"},
        {"bufferView": 4, "componentType": 5121, "count": N, "type": "SCALAR"},
    ]
    gltf = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"mode": 0, "attributes": {
            "POSITION": 0, "COLOR_0": 1, "_ROW_ID": 2, "_INTENSITY": 3, "_CLASSIFICATION": 4}}]}],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(blob)}],
    }
    js = json.dumps(gltf).encode()
    js += b" " * ((-len(js)) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(blob), 0x004E4942) + blob
    return struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body


GLB = glb()
lo, hi = XYZ.min(0), XYZ.max(0)
center, half = ((lo + hi) / 2).tolist(), ((hi - lo) / 2).tolist()
TILESET = {
    "asset": {"version": "1.1"},
    "geometricError": 50,
    "root": {
        "boundingVolume": {"box": [*center, half[0], 0, 0, 0, half[1], 0, 0, 0, half[2]]},
        "geometricError": 0,
        "refine": "ADD",
        "content": {"uri": "tiles/0.glb"},
    },
}
WS = {"id": "w1", "name": "Personal", "role": "owner"}
SCENE = {
    "id": "s1", "dataset_id": "d1", "status": "ready",
    "encoding": {"x": "x", "y": "y", "z": "z", "color": "intensity", "colormap": "viridis"},
    "axes": {a: {"label": a.upper(), "min": float(lo[i]), "max": float(hi[i]), "ticks": [-2.0, 0.0, 2.0], "unit": "m"}
             for i, a in enumerate("xyz")},
    "attributes": [
        {"name": "intensity", "kind": "continuous", "min": 0, "max": float(INTENSITY.max())},
        {"name": "classification", "kind": "categorical", "min": 2, "max": 6},
    ],
    "tileset_url": f"/api/v1/scenes/s1/tileset.json?{SIG}",
}
DATASET = {"id": "d1", "name": "mock.las", "status": "ready", "format": "las", "row_count": N,
           "schema": {"columns": [{"name": c, "type": "float32", "role": c if c in "xyz" else None, "unit": None}
                                  for c in ["x", "y", "z", "intensity"]]},
           "stats": {}, "crs": None, "ingest_job_id": None, "scene_ids": ["s1"]}
requests: list[str] = []
app = FastAPI()


@app.middleware("http")
async def log(request: Request, call_next: Any) -> Any:
    requests.append(str(request.url))
    return await call_next(request)


@app.post("/api/v1/auth/token")
async def token() -> dict[str, Any]:
    return {"access_token": "a", "refresh_token": "r", "token_type": "bearer", "expires_in": 900}


@app.get("/api/v1/me")
async def me() -> dict[str, Any]:
    return {"id": "u1", "email": "a@b.c", "display_name": "Ada", "workspaces": [WS]}


@app.get("/api/v1/datasets")
async def datasets() -> dict[str, Any]:
    return {"items": [DATASET], "next_cursor": None}


@app.get("/api/v1/datasets/d1")
async def dataset() -> dict[str, Any]:
    return DATASET


@app.get("/api/v1/scenes/s1")
async def scene() -> dict[str, Any]:
    return SCENE


@app.get("/api/v1/scenes/s1/tileset.json")
async def tileset(sig: str = "") -> Response:
    return JSONResponse(TILESET) if sig == "mocksig" else Response(status_code=403)


@app.get("/api/v1/scenes/s1/tiles/0.glb")
async def tile(sig: str = "") -> Response:
    if sig != "mocksig":
        return Response(status_code=403)
    return Response(GLB, media_type="model/gltf-binary")


@app.post("/api/v1/scenes/s1/query")
async def query(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("kind") == "pick":
        r = int(body["row"])
        return {"row": {"row_id": r, "x": float(XYZ[r, 0]), "y": float(XYZ[r, 1]), "z": float(XYZ[r, 2]),
                        "intensity": float(INTENSITY[r]), "classification": int(CLASSIFICATION[r])}}
    mn, mx = np.array(body["min"]), np.array(body["max"])
    inside = np.all((XYZ >= mn) & (XYZ <= mx), axis=1)
    return {"count": int(inside.sum()), "stats": {"intensity": {
        "min": float(INTENSITY[inside].min(initial=0)), "max": float(INTENSITY[inside].max(initial=0)),
        "mean": float(INTENSITY[inside].mean()) if inside.any() else 0.0}}, "sample": []}


@app.get("/mock/requests")
async def seen() -> list[str]:
    return requests


mount_web_client(app, STATIC_DIR)

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
