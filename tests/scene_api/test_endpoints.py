"""Scenes end to end through the real job runner: tiling, signed delivery, share links,
queries, restyling and exports."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest

from spatialviz.config import Settings
from spatialviz.kit.errors import PROBLEM_JSON
from spatialviz.writers.tileset_archive import INDEX_NAME
from tests.dataset.helpers import csv_bytes, las_bytes
from tests.factories import register_and_sign_in
from tests.scene_api.helpers import (
    create_scene,
    fetch_export,
    ready_dataset,
    ready_scene,
    wait_for_job,
    wait_for_scene,
)


def _sig(url: str) -> str:
    return parse_qs(urlsplit(url).query)["sig"][0]


def _first_tile_uri(tileset: dict[str, Any]) -> str:
    stack = [tileset["root"]]
    while stack:
        tile = stack.pop()
        if "content" in tile:
            uri: str = tile["content"]["uri"]
            return uri
        stack.extend(tile.get("children", []))
    raise AssertionError("no tile content")


async def test_csv_scene_is_tiled_and_served_by_signed_url(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    assert scene["tileset_url"].startswith(f"/api/v1/scenes/{scene['id']}/tileset.json?sig=")
    names = {a["name"]: a for a in scene["attributes"]}
    assert names["temperature"]["kind"] == "continuous"
    assert names["label"]["kind"] == "categorical"
    # Text columns carry their categories from ingest: names, rows per name, the rest.
    assert names["label"]["categories"] == ["a", "b"]
    assert names["label"]["category_counts"] == [150, 150]
    assert names["label"]["other_count"] == 0
    assert scene["frame"] == "dataset"

    # No bearer: the signature alone opens the tileset and its tiles.
    response = await client.get(scene["tileset_url"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "max-age=60" in response.headers["cache-control"]
    tileset = response.json()
    assert tileset["asset"]["version"] == "1.1"
    uri = _first_tile_uri(tileset)
    assert not uri.startswith("/")
    tile_url = f"/api/v1/scenes/{scene['id']}/{uri}?sig={_sig(scene['tileset_url'])}"
    tile = await client.get(tile_url)
    assert tile.status_code == 200, tile.text
    assert tile.headers["content-type"] == "model/gltf-binary"
    assert "immutable" in tile.headers["cache-control"]
    assert tile.content[:4] == b"glTF"
    etag = tile.headers["etag"]
    assert etag.startswith('"')

    # Conditional requests and byte ranges.
    again = await client.get(tile_url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    part = await client.get(tile_url, headers={"Range": "bytes=0-11"})
    assert part.status_code == 206
    assert part.content == tile.content[:12]
    assert part.headers["content-range"] == f"bytes 0-11/{len(tile.content)}"
    beyond = await client.get(tile_url, headers={"Range": f"bytes={len(tile.content) + 10}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-type"] == PROBLEM_JSON
    assert beyond.headers["content-range"] == f"bytes */{len(tile.content)}"
    problem = beyond.json()
    assert problem["code"] == "range_not_satisfiable"
    assert problem["status"] == 416
    assert problem["type"].endswith("/range_not_satisfiable")

    # A bearer token works too.
    plain = f"/api/v1/scenes/{scene['id']}/tileset.json"
    assert (await client.get(plain, headers=headers)).status_code == 200
    assert (await client.get(plain)).status_code == 401


async def test_las_scene_keeps_rgb_free_default_and_serves_tiles(
    client: httpx.AsyncClient,
) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(
        client,
        headers,
        user["personal_workspace_id"],
        las_bytes(400),
        "scan.las",
        encoding={"color": {"mode": "categorical", "column": "classification"}},
    )
    assert scene["resolved_encoding"]["color"]["mode"] == "categorical"
    response = await client.get(scene["tileset_url"])
    assert response.status_code == 200
    assert response.json()["extras"]["spatialviz"]["points"] == 400


async def test_tampered_expired_and_foreign_signatures_are_403(
    client: httpx.AsyncClient, settings: Any
) -> None:
    from spatialviz.signing import signatures

    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    sig = _sig(scene["tileset_url"])
    base = f"/api/v1/scenes/{scene['id']}/tileset.json"
    tampered = sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")
    response = await client.get(base, params={"sig": tampered})
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "signature_invalid"

    expired = signatures.sign(
        scene["id"],
        "read",
        1_000,
        settings.secret,
        grant=signatures.Grant(signatures.GrantKind.member, uuid.uuid4()),
    )
    response = await client.get(base, params={"sig": expired})
    assert response.status_code == 403
    assert response.json()["code"] == "signature_expired"

    # A signature for one scene never opens another.
    other = await create_scene(client, headers, scene["dataset_id"])
    response = await client.get(
        f"/api/v1/scenes/{other['scene']['id']}/tileset.json", params={"sig": sig}
    )
    assert response.status_code == 403


async def test_another_workspace_scene_is_404(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    _, stranger = await register_and_sign_in(client)
    dataset = await ready_dataset(client, headers, user["personal_workspace_id"])
    scene = (await create_scene(client, headers, dataset["id"]))["scene"]
    for method, path in [
        ("GET", f"/api/v1/scenes/{scene['id']}"),
        ("GET", f"/api/v1/scenes/{scene['id']}/tileset.json"),
        ("DELETE", f"/api/v1/scenes/{scene['id']}"),
        ("POST", f"/api/v1/scenes/{scene['id']}/share-links"),
        ("GET", f"/api/v1/scenes/{scene['id']}/export.usdz"),
    ]:
        response = await client.request(method, path, headers=stranger)
        assert response.status_code == 404, (method, path, response.text)
    response = await client.post(
        f"/api/v1/scenes/{scene['id']}/query", json={"kind": "pick", "row": 1}, headers=stranger
    )
    assert response.status_code == 404
    listed = await client.get("/api/v1/scenes", headers=stranger)
    assert listed.json()["items"] == []
    # And a scene of another workspace's dataset cannot be created.
    response = await client.post(
        "/api/v1/scenes", json={"dataset_id": dataset["id"]}, headers=stranger
    )
    assert response.status_code == 404


async def test_invalid_encoding_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    dataset = await ready_dataset(client, headers, user["personal_workspace_id"])
    response = await client.post(
        "/api/v1/scenes",
        json={
            "dataset_id": dataset["id"],
            "encoding": {"color": {"mode": "continuous", "column": "nope"}},
        },
        headers=headers,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["errors"][0]["field"] == "encoding.color.column"
    listed = await client.get(
        "/api/v1/scenes", params={"dataset_id": dataset["id"]}, headers=headers
    )
    assert listed.json()["items"] == []


async def test_style_only_patch_starts_no_job_and_position_change_retiles(
    client: httpx.AsyncClient,
) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    url = f"/api/v1/scenes/{scene['id']}"
    response = await client.patch(
        url,
        json={"encoding": {"color": {"mode": "continuous", "column": "temperature"}}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job"] is None
    assert body["scene"]["status"] == "ready"
    assert body["scene"]["job_id"] == scene["job_id"]
    assert body["scene"]["resolved_encoding"]["color"]["column"] == "temperature"

    response = await client.patch(
        url,
        json={
            "encoding": {
                "position": {"x": "x", "y": "y", "z": "temperature", "chart_box": {}},
            }
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job"] is not None
    assert body["job"]["kind"] == "scene.tile"
    retiled = await wait_for_scene(client, headers, scene["id"])
    assert retiled["status"] == "ready"
    assert retiled["frame"] == "chart"
    assert retiled["axes"]["z"]["column"] == "temperature"
    assert retiled["tileset_version"] != scene["tileset_version"]


async def test_share_link_access_and_revocation(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    response = await client.post(f"/api/v1/scenes/{scene['id']}/share-links", headers=headers)
    assert response.status_code == 201, response.text
    link = response.json()
    assert f"/scenes/{scene['id']}?share=" in link["url"]
    token = parse_qs(urlsplit(link["url"]).query)["share"][0]

    shared = await client.get(f"/api/v1/scenes/{scene['id']}", params={"share": token})
    assert shared.status_code == 200, shared.text
    tileset_url = shared.json()["tileset_url"]
    assert (await client.get(tileset_url)).status_code == 200
    header_access = await client.get(
        f"/api/v1/scenes/{scene['id']}/tileset.json", headers={"X-Share-Token": token}
    )
    assert header_access.status_code == 200
    picked = await client.post(
        f"/api/v1/scenes/{scene['id']}/query",
        params={"share": token},
        json={"kind": "pick", "row": 3},
    )
    assert picked.status_code == 200
    # Read-only: a share token cannot change anything.
    patched = await client.patch(
        f"/api/v1/scenes/{scene['id']}", params={"share": token}, json={"name": "x"}
    )
    assert patched.status_code == 401

    listed = await client.get(f"/api/v1/scenes/{scene['id']}/share-links", headers=headers)
    assert [item["id"] for item in listed.json()] == [link["id"]]
    revoked = await client.delete(
        f"/api/v1/scenes/{scene['id']}/share-links/{link['id']}", headers=headers
    )
    assert revoked.status_code == 204
    after = await client.get(f"/api/v1/scenes/{scene['id']}", params={"share": token})
    assert after.status_code == 403
    assert after.json()["code"] == "signature_revoked"
    # Tile URLs minted through the link die with it.
    assert (await client.get(tileset_url)).status_code == 403

    events = await client.get(
        "/api/v1/audit-events",
        params={"workspace_id": user["personal_workspace_id"]},
        headers=headers,
    )
    if events.status_code == 200:
        actions = {e["action"] for e in events.json()["items"]}
        assert {"scene.share_link_created", "scene.share_link_revoked"} <= actions


def _points(data: bytes) -> np.ndarray:
    rows = [line.split(",") for line in data.decode().strip().splitlines()[1:]]
    return np.array([[float(r[0]), float(r[1]), float(r[2])] for r in rows])


async def test_queries_match_brute_force(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    data = csv_bytes(400, seed=7)
    scene = await ready_scene(client, headers, user["personal_workspace_id"], data)
    xyz = _points(data)
    url = f"/api/v1/scenes/{scene['id']}/query"

    pick = await client.post(url, json={"kind": "pick", "row": 5}, headers=headers)
    assert pick.status_code == 200, pick.text
    row = pick.json()["row"]
    assert row["row_id"] == 5
    assert row["x"] == pytest.approx(xyz[5, 0])

    lo, hi = [20.0, 20.0, 20.0], [60.0, 70.0, 80.0]
    box = await client.post(url, json={"kind": "box", "min": lo, "max": hi}, headers=headers)
    assert box.status_code == 200, box.text
    inside = np.all((xyz >= lo) & (xyz <= hi), axis=1)
    assert box.json()["count"] == int(inside.sum())

    center, radius = [50.0, 50.0, 50.0], 30.0
    sphere = await client.post(
        url, json={"kind": "sphere", "center": center, "radius": radius}, headers=headers
    )
    assert sphere.status_code == 200
    dist = np.linalg.norm(xyz - center, axis=1)
    assert sphere.json()["count"] == int((dist <= radius).sum())

    knn = await client.post(url, json={"kind": "knn", "point": center, "k": 5}, headers=headers)
    assert knn.status_code == 200
    got = [n["distance"] for n in knn.json()["neighbours"]]
    assert got == pytest.approx(sorted(dist)[:5], abs=1e-6)

    missing = await client.post(url, json={"kind": "pick", "row": 10_000}, headers=headers)
    assert missing.status_code == 404
    too_many = await client.post(
        url, json={"kind": "knn", "point": center, "k": 100_000}, headers=headers
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "k"


async def test_exports_usdz_and_3tz_end_to_end(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])

    usdz = await fetch_export(client, headers, scene["id"], "usdz")
    assert usdz.headers["content-type"] == "model/vnd.usdz+zip"
    assert "attachment" in usdz.headers["content-disposition"]
    assert zipfile.ZipFile(io.BytesIO(usdz.content)).namelist()[0].endswith(".usdc")
    again = await client.get(
        f"/api/v1/scenes/{scene['id']}/export.usdz",
        headers={**headers, "If-None-Match": usdz.headers["etag"]},
    )
    assert again.status_code == 304

    archive = await fetch_export(client, headers, scene["id"], "3tz")
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "tileset.json" in names
    assert names[-1] == INDEX_NAME
    tileset = json.loads(zipfile.ZipFile(io.BytesIO(archive.content)).read("tileset.json"))
    assert tileset["asset"]["version"] == "1.1"
    # The archive is the whole tileset: the sidecars travel with their tiles.
    sidecar = tileset["root"]["extras"]["spatialviz"]["attributes"]
    assert sidecar in names
    assert sidecar.removesuffix(".attrs.glb") + ".glb" in names

    glb = await fetch_export(client, headers, scene["id"], "glb")
    assert glb.content[:4] == b"glTF"

    unknown = await client.get(f"/api/v1/scenes/{scene['id']}/export.obj", headers=headers)
    assert unknown.status_code == 404


async def test_delete_scene(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    response = await client.delete(f"/api/v1/scenes/{scene['id']}", headers=headers)
    assert response.status_code == 204
    assert (await client.get(f"/api/v1/scenes/{scene['id']}", headers=headers)).status_code == 404
    assert (await client.get(scene["tileset_url"])).status_code == 404


def _only_tileset_file(settings: Settings) -> Path:
    [tileset] = Path(settings.storage_url.removeprefix("file://")).rglob("tileset.json")
    return tileset


async def test_a_failed_export_is_tried_again_on_the_next_request(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    tileset = _only_tileset_file(settings)
    hidden = tileset.with_name("hidden.json.tmp")
    tileset.rename(hidden)  # the archive job now fails: there is no tileset.json to pack

    url = f"/api/v1/scenes/{scene['id']}/export.3tz"
    first = await client.get(url, headers=headers)
    assert first.status_code == 202
    failed = await wait_for_job(client, headers, first.json()["job"]["id"])
    assert failed["status"] == "failed", failed
    assert "tileset.json" in (failed["error_message"] or ""), failed

    hidden.rename(tileset)
    second = await client.get(url, headers=headers)
    assert second.status_code == 202
    assert second.json()["job"]["id"] != failed["id"]
    archive = await fetch_export(client, headers, scene["id"], "3tz")
    assert "tileset.json" in zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    # The failed job stays in the history.
    old = await client.get(f"/api/v1/jobs/{failed['id']}", headers=headers)
    assert old.json()["status"] == "failed"
