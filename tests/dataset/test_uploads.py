"""tus 1.0 resumable uploads: creation, resume at the server's offset, checksums,
termination and expiry; finishing one creates a dataset and starts its ingest."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import httpx
from sqlalchemy import update

from spatialviz.config import Settings
from spatialviz.dataset.uploads import sweep_expired
from spatialviz.kit.db import utcnow
from spatialviz.kit.resources import Resources
from spatialviz.models.upload import Upload
from tests.dataset.helpers import csv_bytes, stored_files, wait_for_dataset
from tests.factories import Headers, register_and_sign_in

TUS = {"Tus-Resumable": "1.0.0"}


def metadata(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


async def create(
    client: httpx.AsyncClient, headers: Headers, workspace_id: str, length: int
) -> str:
    response = await client.post(
        "/api/v1/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata(filename="tus.csv", workspace_id=workspace_id),
        },
    )
    assert response.status_code == 201, response.text
    location: str = response.headers["Location"]
    return location


async def patch(
    client: httpx.AsyncClient,
    headers: Headers,
    url: str,
    offset: int,
    data: bytes,
    checksum: str | None = None,
) -> httpx.Response:
    extra = {"Upload-Checksum": checksum} if checksum else {}
    return await client.patch(
        url,
        content=data,
        headers={
            **headers,
            **TUS,
            **extra,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
    )


async def test_options_advertises_the_protocol(client: httpx.AsyncClient) -> None:
    response = await client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert "checksum" in response.headers["Tus-Extension"]
    assert "termination" in response.headers["Tus-Extension"]


async def test_interrupted_upload_resumes_and_finishes_into_a_dataset(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, headers = await register_and_sign_in(client)
    data = csv_bytes(400)
    url = await create(client, headers, user["personal_workspace_id"], len(data))
    half = len(data) // 2
    first = await patch(client, headers, url, 0, data[:half])
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == str(half)
    # The client "crashed": it asks where to resume.
    head = await client.head(url, headers={**headers, **TUS})
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == str(half)
    assert head.headers["Upload-Length"] == str(len(data))
    digest = base64.b64encode(hashlib.sha1(data[half:], usedforsecurity=False).digest()).decode()
    last = await patch(client, headers, url, half, data[half:], f"sha1 {digest}")
    assert last.status_code == 204, last.text
    dataset_id = last.headers["Spatialviz-Dataset-Id"]
    assert last.headers["Spatialviz-Job-Id"]
    dataset = await wait_for_dataset(client, headers, dataset_id)
    assert dataset["status"] == "ready"
    assert dataset["row_count"] == 400
    assert dataset["sha256"] == hashlib.sha256(data).hexdigest()
    assert not [f for f in stored_files(settings) if f.startswith("uploads/")]


async def test_wrong_offset_is_409_and_bad_checksum_is_460(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    url = await create(client, headers, user["personal_workspace_id"], 100)
    wrong = await patch(client, headers, url, 10, b"x" * 10)
    assert wrong.status_code == 409
    bad = await patch(client, headers, url, 0, b"x" * 10, "sha1 " + "A" * 28)
    assert bad.status_code == 460
    head = await client.head(url, headers={**headers, **TUS})
    assert head.headers["Upload-Offset"] == "0"


async def test_protocol_errors(client: httpx.AsyncClient) -> None:
    user, headers = await register_and_sign_in(client)
    ws = user["personal_workspace_id"]
    no_version = await client.post("/api/v1/uploads", headers={**headers, "Upload-Length": "5"})
    assert no_version.status_code == 412
    no_length = await client.post("/api/v1/uploads", headers={**headers, **TUS})
    assert no_length.status_code == 400
    no_workspace = await client.post(
        "/api/v1/uploads", headers={**headers, **TUS, "Upload-Length": "5"}
    )
    assert no_workspace.status_code == 422
    url = await create(client, headers, ws, 5)
    wrong_type = await client.patch(
        url,
        content=b"12345",
        headers={**headers, **TUS, "Upload-Offset": "0", "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415
    too_long = await patch(client, headers, url, 0, b"123456")
    assert too_long.status_code == 413


async def test_termination_and_other_workspaces(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, headers = await register_and_sign_in(client)
    url = await create(client, headers, user["personal_workspace_id"], 100)
    await patch(client, headers, url, 0, b"x,y,z\n")
    _, stranger = await register_and_sign_in(client)
    assert (await client.head(url, headers={**stranger, **TUS})).status_code == 404
    assert (await patch(client, stranger, url, 6, b"1,2,3\n")).status_code == 404
    # Not even broken protocol headers reveal that the upload exists.
    garbled = await client.patch(url, content=b"x", headers={**stranger, "Content-Type": "a/b"})
    assert garbled.status_code == 404
    assert (await client.delete(url, headers=stranger)).status_code == 404
    deleted = await client.delete(url, headers={**headers, **TUS})
    assert deleted.status_code == 204
    assert (await client.head(url, headers={**headers, **TUS})).status_code == 404
    assert not [f for f in stored_files(settings) if f.startswith("uploads/")]


async def test_abandoned_uploads_expire_and_their_parts_go(
    client: httpx.AsyncClient, app: object, settings: Settings
) -> None:
    user, headers = await register_and_sign_in(client)
    url = await create(client, headers, user["personal_workspace_id"], 100)
    await patch(client, headers, url, 0, b"x,y,z\n")
    resources: Resources = app.state.resources  # type: ignore[attr-defined]
    async with resources.sessions() as session:
        await session.execute(update(Upload).values(expires_at=utcnow() - timedelta(seconds=1)))
        assert await sweep_expired(session, resources.storage) == 1
        await session.commit()
    assert (await client.head(url, headers={**headers, **TUS})).status_code == 404
    assert not [f for f in stored_files(settings) if f.startswith("uploads/")]
