"""Annotations through the API: who may read, add and remove them, their limits, the audit
trail, and the live announcement over a real WebSocket (issue 17)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import websockets

from spatialviz.annotations import service as annotation_service
from spatialviz.kit.errors import PROBLEM_JSON
from tests.conftest import receive_json
from tests.factories import (
    DEFAULT_PASSWORD,
    Headers,
    add_member,
    bearer,
    register_and_sign_in,
    sign_in,
)
from tests.scene_api.helpers import create_scene, ready_dataset


async def _scene(client: httpx.AsyncClient, headers: Headers, workspace_id: str) -> str:
    """A scene (its tiling may still run: annotations do not need the tiles)."""
    dataset = await ready_dataset(client, headers, workspace_id)
    created = await create_scene(client, headers, dataset["id"])
    return str(created["scene"]["id"])


def _url(scene_id: str, suffix: str = "") -> str:
    return f"/api/v1/scenes/{scene_id}/annotations{suffix}"


async def _add(
    client: httpx.AsyncClient, headers: Headers, scene_id: str, text: str = "Crack here"
) -> dict[str, Any]:
    response = await client.post(
        _url(scene_id), json={"text": text, "position": [1.5, -2.0, 3.25]}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _member(
    client: httpx.AsyncClient, owner: Headers, workspace_id: str, role: str
) -> tuple[dict[str, Any], Headers]:
    user, _ = await register_and_sign_in(client)
    await add_member(client, owner, workspace_id, user["email"], role)
    # A fresh sign-in: the access token carries the roles it was issued with.
    tokens = await sign_in(client, user["email"], DEFAULT_PASSWORD)
    return user, bearer(tokens["access_token"])


async def test_add_list_remove_and_the_audit_trail(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    workspace = user["personal_workspace_id"]
    scene_id = await _scene(client, headers, workspace)

    first = await _add(client, headers, scene_id, "Crack here")
    second = await _add(client, headers, scene_id, "Ünïcode ✓ note")
    assert first["position"] == [1.5, -2.0, 3.25]
    assert first["author_id"] == user["id"]
    assert first["scene_id"] == scene_id
    listed = (await client.get(_url(scene_id), headers=headers)).json()
    assert [a["id"] for a in listed] == [first["id"], second["id"]]
    assert listed[1]["text"] == "Ünïcode ✓ note"

    removed = await client.delete(_url(scene_id, f"/{first['id']}"), headers=headers)
    assert removed.status_code == 204
    again = await client.delete(_url(scene_id, f"/{first['id']}"), headers=headers)
    assert again.status_code == 404
    assert again.json()["code"] == "annotation_not_found"
    assert [a["id"] for a in (await client.get(_url(scene_id), headers=headers)).json()] == [
        second["id"]
    ]

    events = await client.get(
        "/api/v1/audit-events", params={"workspace_id": workspace}, headers=headers
    )
    actions = [(e["action"], e["target_id"]) for e in events.json()["items"]]
    assert ("annotation.created", first["id"]) in actions
    assert ("annotation.created", second["id"]) in actions
    assert ("annotation.deleted", first["id"]) in actions


async def test_roles_and_workspaces(client: httpx.AsyncClient) -> None:
    owner, owner_headers = await register_and_sign_in(client)
    workspace = owner["personal_workspace_id"]
    scene_id = await _scene(client, owner_headers, workspace)
    _, viewer = await _member(client, owner_headers, workspace, "viewer")
    editor_user, editor = await _member(client, owner_headers, workspace, "editor")
    _, stranger = await register_and_sign_in(client)

    # Viewers read; they cannot write.
    mine = await _add(client, owner_headers, scene_id)
    assert (await client.get(_url(scene_id), headers=viewer)).json()[0]["id"] == mine["id"]
    refused = await client.post(
        _url(scene_id), json={"text": "hi", "position": [0, 0, 0]}, headers=viewer
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert refused.json()["code"] == "insufficient_role"

    # Another workspace's scene does not exist for the stranger, whatever the verb.
    for response in (
        await client.get(_url(scene_id), headers=stranger),
        await client.post(
            _url(scene_id), json={"text": "x", "position": [0, 0, 0]}, headers=stranger
        ),
        await client.delete(_url(scene_id, f"/{mine['id']}"), headers=stranger),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "scene_not_found"

    # Editors remove their own notes only; the owner removes anyone's.
    theirs = await _add(client, editor, scene_id, "editor's note")
    assert theirs["author_id"] == editor_user["id"]
    not_theirs = await client.delete(_url(scene_id, f"/{mine['id']}"), headers=editor)
    assert not_theirs.status_code == 403
    assert not_theirs.json()["code"] == "not_your_annotation"
    assert (
        await client.delete(_url(scene_id, f"/{theirs['id']}"), headers=owner_headers)
    ).status_code == 204

    # An annotation id is only reachable under its own scene.
    other_scene = await _scene(client, owner_headers, workspace)
    wrong_scene = await client.delete(_url(other_scene, f"/{mine['id']}"), headers=owner_headers)
    assert wrong_scene.status_code == 404


async def test_share_links_read_without_author_names_and_cannot_write(
    client: httpx.AsyncClient,
) -> None:
    user, headers = await register_and_sign_in(client)
    scene_id = await _scene(client, headers, user["personal_workspace_id"])
    await _add(client, headers, scene_id)
    link = await client.post(f"/api/v1/scenes/{scene_id}/share-links", headers=headers)
    token = link.json()["url"].split("share=")[1]

    shared = await client.get(_url(scene_id), params={"share": token})
    assert shared.status_code == 200, shared.text
    assert shared.json()[0]["text"] == "Crack here"
    assert shared.json()[0]["author_name"] is None
    as_member = (await client.get(_url(scene_id), headers=headers)).json()
    assert as_member[0]["author_name"] is not None

    write = await client.post(
        _url(scene_id), params={"share": token}, json={"text": "x", "position": [0, 0, 0]}
    )
    assert write.status_code == 401
    assert write.headers["content-type"].startswith(PROBLEM_JSON)


@pytest.mark.parametrize(
    "body",
    [
        {"text": "x" * 281, "position": [0, 0, 0]},
        {"text": "   ", "position": [0, 0, 0]},
        {"text": "line\nbreak", "position": [0, 0, 0]},
        {"text": "ok", "position": [0, 0]},
        {"text": "ok", "position": [0, 0, 0, 0]},
        {"text": "ok", "position": [0, 0, 1e13]},
        {"text": "ok", "position": [0, 0, 0], "row_id": -1},
        {"text": "ok", "position": [0, 0, 0], "colour": "red"},
    ],
)
async def test_bad_input_is_refused_with_a_problem(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    user, headers = await register_and_sign_in(client)
    scene_id = await _scene(client, headers, user["personal_workspace_id"])
    response = await client.post(_url(scene_id), json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert (await client.get(_url(scene_id), headers=headers)).json() == []


async def test_non_finite_positions_are_refused(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    scene_id = await _scene(client, headers, user["personal_workspace_id"])
    for literal in ("NaN", "Infinity", "-Infinity"):
        raw = '{"text": "ok", "position": [0, 0, ' + literal + "]}"
        response = await client.post(
            _url(scene_id), content=raw, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, (literal, response.text)
    assert (await client.get(_url(scene_id), headers=headers)).json() == []


async def test_a_scene_holds_a_bounded_number(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(annotation_service, "MAX_PER_SCENE", 3)
    user, headers = await register_and_sign_in(client)
    scene_id = await _scene(client, headers, user["personal_workspace_id"])
    added = [await _add(client, headers, scene_id, f"n{i}") for i in range(3)]
    full = await client.post(
        _url(scene_id), json={"text": "4th", "position": [0, 0, 0]}, headers=headers
    )
    assert full.status_code == 409
    assert full.json()["code"] == "annotation_limit_reached"
    await client.delete(_url(scene_id, f"/{added[0]['id']}"), headers=headers)
    await _add(client, headers, scene_id, "room again")
    assert len((await client.get(_url(scene_id), headers=headers)).json()) == 3


async def _next_list(ws: Any, channel: str) -> list[dict[str, Any]]:
    """The next annotations state on ``channel`` (a resync may repeat the current one)."""
    message = await receive_json(ws)
    assert message["type"] == "annotations", message
    assert message["channel"] == channel
    items: list[dict[str, Any]] = message["annotations"]
    return items


async def test_other_viewers_see_additions_and_removals_live(
    client: httpx.AsyncClient, server_url: str
) -> None:
    owner, owner_headers = await register_and_sign_in(client)
    workspace = owner["personal_workspace_id"]
    scene_id = await _scene(client, owner_headers, workspace)
    _, viewer = await _member(client, owner_headers, workspace, "viewer")
    _, stranger = await register_and_sign_in(client)
    channel = f"annotations:{scene_id}"

    stranger_token = stranger["Authorization"].removeprefix("Bearer ")
    async with websockets.connect(f"{server_url}/api/v1/ws?token={stranger_token}") as ws:
        assert (await receive_json(ws))["type"] == "hello"
        await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
        assert await receive_json(ws) == {"type": "error", "code": "not_found", "channel": channel}

    token = viewer["Authorization"].removeprefix("Bearer ")
    async with websockets.connect(f"{server_url}/api/v1/ws?token={token}") as ws:
        assert (await receive_json(ws))["type"] == "hello"
        await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
        assert await receive_json(ws) == {"type": "subscribed", "channel": channel}
        assert await _next_list(ws, channel) == []

        added = await _add(client, owner_headers, scene_id, "Look at this")
        seen = await _next_list(ws, channel)
        assert [a["id"] for a in seen] == [added["id"]]
        assert seen[0]["text"] == "Look at this"
        assert seen[0]["position"] == [1.5, -2.0, 3.25]

        gone = await client.delete(_url(scene_id, f"/{added['id']}"), headers=owner_headers)
        assert gone.status_code == 204
        assert await _next_list(ws, channel) == []


async def test_a_removed_members_socket_stops_following_and_a_signed_out_one_closes(
    client: httpx.AsyncClient, server_url: str
) -> None:
    """Access on an open socket ends with the access: a member removed from the workspace
    loses the channel (not_found, as a stranger gets) and hears nothing more; a member who
    signs out has the socket closed (1008). Both within the socket's recheck (5 s)."""
    owner, owner_headers = await register_and_sign_in(client)
    workspace = owner["personal_workspace_id"]
    scene_id = await _scene(client, owner_headers, workspace)
    removed_user, removed = await _member(client, owner_headers, workspace, "viewer")
    _, leaving = await _member(client, owner_headers, workspace, "viewer")
    channel = f"annotations:{scene_id}"

    async def following(headers: Headers) -> Any:
        token = headers["Authorization"].removeprefix("Bearer ")
        ws = await websockets.connect(f"{server_url}/api/v1/ws?token={token}")
        assert (await receive_json(ws))["type"] == "hello"
        assert await _subscribe(ws, channel) == {"type": "subscribed", "channel": channel}
        await _next_list(ws, channel)  # the notes so far
        return ws

    async with await following(removed) as ws:
        gone = await client.delete(
            f"/api/v1/workspaces/{workspace}/members/{removed_user['id']}", headers=owner_headers
        )
        assert gone.status_code == 204, gone.text
        # Resyncs may repeat the (empty) list meanwhile; then the channel ends.
        while (message := await receive_json(ws))["type"] == "annotations":
            assert message["annotations"] == []
        assert message == {"type": "error", "code": "not_found", "channel": channel}
        await _add(client, owner_headers, scene_id, "Not for former members")
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive_json(ws) == {"type": "pong"}  # nothing of the note came first

    async with await following(leaving) as ws:
        out = await client.post("/api/v1/auth/logout", headers=leaving)
        assert out.status_code in (200, 204), out.text
        while (message := await receive_json(ws))["type"] == "annotations":
            pass
        assert message == {"type": "error", "code": "access_ended"}
        with pytest.raises(websockets.ConnectionClosed):
            await receive_json(ws)
        assert ws.close_code == 1008


async def _share(client: httpx.AsyncClient, headers: Headers, scene_id: str) -> tuple[str, str]:
    """A share link of the scene: its id and its token."""
    made = await client.post(f"/api/v1/scenes/{scene_id}/share-links", headers=headers)
    assert made.status_code == 201, made.text
    link = made.json()
    return str(link["id"]), str(link["url"]).split("share=")[1]


async def _subscribe(ws: Any, channel: str) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
    return await receive_json(ws)


async def test_a_share_link_follows_its_own_scenes_notes_read_only(
    client: httpx.AsyncClient, server_url: str
) -> None:
    """A share link's socket (``?share=``) follows ``annotations:<its scene>`` live, without
    author names as over HTTP; no other scene's channel, no job channel, no writing; a
    forged token is refused, and revoking the link closes the socket."""
    owner, headers = await register_and_sign_in(client)
    workspace = owner["personal_workspace_id"]
    scene_id = await _scene(client, headers, workspace)
    other_scene = await _scene(client, headers, workspace)
    await _add(client, headers, other_scene, "Not shared")
    link_id, token = await _share(client, headers, scene_id)
    job_id = (await client.get(f"/api/v1/scenes/{scene_id}", headers=headers)).json()["job_id"]
    channel = f"annotations:{scene_id}"

    flipped = "B" if token[-5] == "A" else "A"
    forged = f"{token[:-5]}{flipped}{token[-4:]}"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"{server_url}/api/v1/ws?share={forged}"):
            pass
    assert refused.value.response.status_code == 403

    async with websockets.connect(f"{server_url}/api/v1/ws?share={token}") as ws:
        assert (await receive_json(ws))["type"] == "hello"
        # Same workspace, same owner, but not the link's scene; nor its tiling job.
        for elsewhere in (f"annotations:{other_scene}", f"job:{job_id}", "annotations:nope"):
            assert await _subscribe(ws, elsewhere) == {
                "type": "error",
                "code": "not_found",
                "channel": elsewhere,
            }
        assert await _subscribe(ws, channel) == {"type": "subscribed", "channel": channel}
        assert await _next_list(ws, channel) == []

        added = await _add(client, headers, scene_id, "Seen through the link")
        seen = await _next_list(ws, channel)
        assert [(a["id"], a["text"]) for a in seen] == [(added["id"], "Seen through the link")]
        assert seen[0]["author_name"] is None
        member_view = (await client.get(_url(scene_id), headers=headers)).json()
        assert member_view[0]["author_name"] is not None

        # Read-only: a message that is not a subscription changes nothing.
        await ws.send(json.dumps({"type": "annotate", "channel": channel, "text": "x"}))
        assert await receive_json(ws) == {"type": "error", "code": "bad_message"}

        revoked = await client.delete(
            f"/api/v1/scenes/{scene_id}/share-links/{link_id}", headers=headers
        )
        assert revoked.status_code == 204
        # Resyncs may repeat the list meanwhile; the socket ends with the link.
        while (message := await receive_json(ws))["type"] == "annotations":
            assert message["annotations"][0]["author_name"] is None
        assert message == {"type": "error", "code": "share_ended"}
        with pytest.raises(websockets.ConnectionClosed):
            await receive_json(ws)
        assert ws.close_code == 1008

    with pytest.raises(websockets.InvalidStatus) as ended:
        async with websockets.connect(f"{server_url}/api/v1/ws?share={token}"):
            pass
    assert ended.value.response.status_code == 403
