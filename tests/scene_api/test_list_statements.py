"""The scene list costs a constant number of SQL statements, whatever the page holds (it
used to load each scene's dataset and job one row at a time: two statements per row)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from tests.factories import Headers, register_and_sign_in
from tests.scene_api.helpers import create_scene, ready_dataset, wait_for_scene


async def _statements_of_list(
    app: FastAPI, client: httpx.AsyncClient, headers: Headers, workspace_id: str
) -> tuple[int, list[dict[str, Any]]]:
    seen: list[str] = []
    engine = app.state.resources.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = await client.get(
            "/api/v1/scenes", params={"workspace_id": workspace_id}, headers=headers
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200, response.text
    return len(seen), response.json()["items"]


async def _scene_on(
    client: httpx.AsyncClient, headers: Headers, dataset: dict[str, Any]
) -> dict[str, Any]:
    created = await create_scene(client, headers, dataset["id"])
    scene = await wait_for_scene(client, headers, created["scene"]["id"])
    assert scene["status"] == "ready", scene
    return scene


async def test_scene_list_statements_do_not_grow_with_the_page(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await register_and_sign_in(client)
    workspace_id = user["personal_workspace_id"]
    first, second = [await ready_dataset(client, headers, workspace_id) for _ in range(2)]
    await _scene_on(client, headers, first)
    await _statements_of_list(app, client, headers, workspace_id)  # warm the caller's caches
    one_row, items = await _statements_of_list(app, client, headers, workspace_id)
    assert len(items) == 1

    # Every scene waited for until ready: no job writes while the list is counted.
    for dataset in (first, second, second):
        await _scene_on(client, headers, dataset)
    four_rows, items = await _statements_of_list(app, client, headers, workspace_id)
    assert len(items) == 4
    assert {item["dataset_id"] for item in items} == {first["id"], second["id"]}
    assert all(item["status"] == "ready" and item["attributes"] for item in items)
    assert four_rows == one_row
