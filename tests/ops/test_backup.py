"""`spatialviz backup` / `restore`: a running server's database and blobs, encrypted with age,
restored into a fresh database and storage; the restored server serves the same scene byte
for byte. Refusals say why in one line and touch nothing."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pyrage import x25519

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.kit.resources import storage_from_settings
from spatialviz.ops.backup import BackupError, restore_backup, write_backup
from tests.conftest import PG_ADMIN_DSN, TEST_SECRET, _sqlalchemy_pg_url
from tests.factories import register_and_sign_in
from tests.scene_api.helpers import ready_scene

Keys = tuple[str, str]  # (recipient, identity)


@pytest.fixture
def age_keys(monkeypatch: pytest.MonkeyPatch) -> Keys:
    identity = x25519.Identity.generate()
    recipient = str(identity.to_public())
    monkeypatch.setenv("SPATIALVIZ_BACKUP_RECIPIENTS", recipient)
    monkeypatch.setenv("SPATIALVIZ_BACKUP_IDENTITY", str(identity))
    return recipient, str(identity)


@pytest.fixture
async def empty_settings(settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """The same configuration with a database and a storage that hold nothing yet."""
    fresh = tmp_path / "restored"
    if settings.uses_sqlite:
        database_url = f"sqlite+aiosqlite:///{fresh / 'db.sqlite'}"
        yield _with(settings, database_url=database_url, fresh=fresh)
        return
    name = f"sv_restore_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield _with(settings, database_url=_sqlalchemy_pg_url(name), fresh=fresh)
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _with(settings: Settings, *, database_url: str, fresh: Path) -> Settings:
    return Settings(
        **{
            **settings.model_dump(),
            "database_url": database_url,
            "storage_url": f"file://{fresh / 'storage'}",
        }
    )


def _tile_uris(tile: dict[str, Any]) -> Iterator[str]:
    if "content" in tile:
        yield tile["content"]["uri"]
    for child in tile.get("children", []):
        yield from _tile_uris(child)


async def _scene_bytes(client: httpx.AsyncClient, headers: Any, scene_id: str) -> dict[str, bytes]:
    scene = (await client.get(f"/api/v1/scenes/{scene_id}", headers=headers)).json()
    query = urlsplit(scene["tileset_url"]).query
    tileset = await client.get(scene["tileset_url"])
    assert tileset.status_code == 200, tileset.text
    files = {"tileset.json": tileset.content}
    for uri in _tile_uris(tileset.json()["root"]):
        response = await client.get(f"/api/v1/scenes/{scene_id}/{uri}?{query}")
        assert response.status_code == 200, (uri, response.text)
        files[uri] = response.content
    return files


async def _client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.mark.usefixtures("age_keys")
async def test_restore_serves_the_same_scene_byte_for_byte(
    client: httpx.AsyncClient, settings: Settings, empty_settings: Settings, tmp_path: Path
) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    before = await _scene_bytes(client, headers, scene["id"])
    assert any(name.endswith(".glb") for name in before)

    # Backed up while the server runs (the client's app is live).
    backup = tmp_path / "spatialviz.backup.age"
    manifest = write_backup(settings, storage_from_settings(settings), backup, force=False)
    assert manifest["blobs"]
    assert user["email"].encode() not in backup.read_bytes()  # encrypted, not merely packed

    restored = restore_backup(
        empty_settings, storage_from_settings(empty_settings), backup, force=False
    )
    assert restored["blobs"] == manifest["blobs"]

    async for restored_client in _client_for(create_app(empty_settings)):
        me = await restored_client.get("/api/v1/me", headers=headers)
        assert me.status_code == 200, me.text  # same users, same signing keys
        after = await _scene_bytes(restored_client, headers, scene["id"])
    assert after == before


@pytest.mark.usefixtures("age_keys")
async def test_restore_refuses_a_non_empty_target_and_a_wrong_key(
    client: httpx.AsyncClient,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await register_and_sign_in(client)
    storage = storage_from_settings(settings)
    backup = tmp_path / "b.age"
    write_backup(settings, storage, backup, force=False)
    with pytest.raises(BackupError, match="not empty"):
        restore_backup(settings, storage, backup, force=False)
    monkeypatch.setenv("SPATIALVIZ_BACKUP_IDENTITY", str(x25519.Identity.generate()))
    with pytest.raises(BackupError, match="cannot be decrypted"):
        restore_backup(settings, storage, backup, force=True)


@pytest.mark.usefixtures("age_keys")
async def test_backup_refuses_to_overwrite_or_to_write_into_storage(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    await register_and_sign_in(client)
    storage = storage_from_settings(settings)
    existing = tmp_path / "existing.age"
    existing.write_bytes(b"someone's file")
    with pytest.raises(BackupError, match="--force"):
        write_backup(settings, storage, existing, force=False)
    assert existing.read_bytes() == b"someone's file"
    inside = Path(settings.storage_url.removeprefix("file://")) / "backup.age"
    with pytest.raises(BackupError, match="inside the storage"):
        write_backup(settings, storage, inside, force=True)
    assert not inside.exists()


def test_the_cli_says_what_is_missing_in_one_line(settings: Settings, tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "SPATIALVIZ_ENV": "test",
        "SPATIALVIZ_VAR_DIR": str(settings.var_dir),
        "SPATIALVIZ_DATABASE_URL": settings.database_url,
        "SPATIALVIZ_STORAGE_URL": settings.storage_url,
        "SPATIALVIZ_SECRET_KEY": TEST_SECRET,
    }
    result = subprocess.run(
        [sys.executable, "-m", "spatialviz", "backup", str(tmp_path / "b.age")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "SPATIALVIZ_BACKUP_RECIPIENTS" in result.stderr
    assert not (tmp_path / "b.age").exists()
