"""The OpenAPI document declares errors once, as problem+json, for every operation; a 405
names every method its path serves."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from spatialviz.kit.errors import PROBLEM_JSON
from spatialviz.kit.openapi import operations


async def test_every_error_response_is_declared_as_problem_json_only(app: FastAPI) -> None:
    schema = app.openapi()
    errors = 0
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.isdigit() and int(status) >= 400:
                errors += 1
                assert list(response["content"]) == [PROBLEM_JSON], (method, path, status)
                schema_ref = response["content"][PROBLEM_JSON]["schema"]["$ref"]
                assert schema_ref == "#/components/schemas/Problem"
    assert errors > 100
    assert "HTTPValidationError" not in schema["components"]["schemas"]


async def test_the_stack_s_statuses_are_declared_on_every_operation(app: FastAPI) -> None:
    for path, method, operation in operations(app.openapi()):
        declared = set(operation["responses"])
        assert "500" in declared, (method, path)
        if path.startswith("/api/"):
            assert "503" in declared, (method, path)
        if operation.get("security"):
            assert {"401", "429"} <= declared, (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in declared, (method, path)
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert {"400", "413"} <= declared, (method, path)


async def test_a_route_keeps_its_own_statuses(app: FastAPI) -> None:
    responses = app.openapi()["paths"]["/api/v1/workspaces/{workspace_id}"]["delete"]["responses"]
    assert {"204", "404", "409"} <= set(responses)


async def test_the_document_served_is_the_completed_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    scene = response.json()["paths"]["/api/v1/scenes/{scene_id}"]["get"]["responses"]
    assert list(scene["422"]["content"]) == [PROBLEM_JSON]


async def test_405_names_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.request("PUT", "/api/v1/workspaces")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert {"GET", "POST"} <= set(response.headers["allow"].split(", "))


async def test_every_success_with_a_body_declares_its_media_types(app: FastAPI) -> None:
    for path, method, operation in operations(app.openapi()):
        for status, response in operation["responses"].items():
            if status.startswith("2") and status != "204" and method not in {"HEAD", "OPTIONS"}:
                assert response.get("content"), (method, path, status)
    paths = app.openapi()["paths"]
    tile = paths["/api/v1/scenes/{scene_id}/tiles/{path}"]["get"]["responses"]
    assert {"model/gltf-binary", "application/json"} <= set(tile["200"]["content"])
    assert {"200", "206", "304"} <= set(tile)
    export = paths["/api/v1/scenes/{scene_id}/export.{fmt}"]["get"]["responses"]
    assert "model/vnd.usdz+zip" in export["200"]["content"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]


async def test_the_encoding_shape_and_colormap_names_are_published(app: FastAPI) -> None:
    """The web client's types (and its colormap table) take the names from here."""
    from spatialviz.styling.colormaps import COLORMAP_NAMES

    schemas = app.openapi()["components"]["schemas"]
    assert "Encoding" in schemas
    colormap = schemas["ContinuousColor"]["properties"]["colormap"]
    assert tuple(colormap["enum"]) == COLORMAP_NAMES
