"""`spatialviz backup` / `restore`: a running server's database and blobs, encrypted with age,
restored into a fresh database and storage; the restored server serves the same scene byte
for byte. Refusals say why in one line and touch nothing."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from pyrage import x25519

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.kit.backup_lease import (
    DEFERRED_PREFIX,
    LEASE_PREFIX,
    run_deferred_deletes,
    write_lease,
)
from spatialviz.kit.resources import storage_from_settings
from spatialviz.kit.storage import BlobStorage
from spatialviz.kit.sweep import sweep_temporary_forever
from spatialviz.ops.backup import BackupError, restore_backup, write_backup
from spatialviz.ops.backup_status import STATUS_KEY
from tests.cli_helpers import assert_one_line_refusal, run_spatialviz
from tests.conftest import TEST_SECRET, _sqlalchemy_pg_url, pg_admin
from tests.factories import DEFAULT_PASSWORD, create_workspace, register_and_sign_in
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
    await pg_admin(f'CREATE DATABASE "{name}"')
    yield _with(settings, database_url=_sqlalchemy_pg_url(name), fresh=fresh)
    await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
async def test_writes_commit_while_a_backup_is_under_way(
    client: httpx.AsyncClient, settings: Settings, empty_settings: Settings, tmp_path: Path
) -> None:
    """The backup is held just after its database snapshot (before it reads the blobs, most
    of its run): the API's writes commit meanwhile; the backup then finishes and restores
    to the snapshot, consistent, without the writes made after it."""
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    before = await _scene_bytes(client, headers, scene["id"])
    snapshot_taken, resume = threading.Event(), threading.Event()

    def hold() -> None:
        snapshot_taken.set()
        # Bounded so a failing test cannot hang the run; the test sets it long before.
        assert resume.wait(300), "the test never let the backup go on"

    backup = tmp_path / "during-writes.age"
    running = asyncio.create_task(
        asyncio.to_thread(
            write_backup,
            settings,
            storage_from_settings(settings),
            backup,
            force=False,
            after_snapshot=hold,
        )
    )
    try:
        assert await asyncio.to_thread(snapshot_taken.wait, 300)
        # Writes while the backup is under way: a new account and a workspace (rows in
        # several tables, in their own transactions), both committed and readable.
        later, later_headers = await register_and_sign_in(client)
        team = await create_workspace(client, later_headers, name="Made during the backup")
        assert not running.done()  # still held: these writes did not wait for it
        listed = await client.get("/api/v1/workspaces", headers=later_headers)
        assert team["id"] in {w["id"] for w in listed.json()["items"]}, listed.text
    finally:
        resume.set()
    manifest = await running
    assert manifest["blobs"]

    restore_backup(empty_settings, storage_from_settings(empty_settings), backup, force=False)
    async for restored_client in _client_for(create_app(empty_settings)):
        # The snapshot's state, whole: the scene's rows and every blob they name...
        after = await _scene_bytes(restored_client, headers, scene["id"])
        # ...and nothing written after it.
        refused = await restored_client.post(
            "/api/v1/auth/token", data={"username": later["email"], "password": DEFAULT_PASSWORD}
        )
    assert after == before
    assert refused.status_code == 401, refused.text


class HeldBackup:
    """A backup running in a thread, held just after its database snapshot until
    :meth:`release`."""

    def __init__(self, settings: Settings, out: Path) -> None:
        self.task_out = out
        self.snapshot_taken, self._resume = threading.Event(), threading.Event()
        self.task = asyncio.create_task(
            asyncio.to_thread(
                write_backup,
                settings,
                storage_from_settings(settings),
                out,
                force=False,
                after_snapshot=self._hold,
            )
        )

    def _hold(self) -> None:
        self.snapshot_taken.set()
        # Bounded so a failing test cannot hang the run; the test sets it long before.
        assert self._resume.wait(300), "the test never let the backup go on"

    async def held(self) -> None:
        assert await asyncio.to_thread(self.snapshot_taken.wait, 300)

    async def finish(self) -> dict[str, Any]:
        self._resume.set()
        manifest: dict[str, Any] = await self.task
        return manifest


def _keys_with(storage: BlobStorage, part: str) -> list[str]:
    return [key for key in storage.list_keys("") if part in key]


@pytest.mark.usefixtures("age_keys")
async def test_a_scene_deleted_during_a_backup_is_in_it_and_gone_after(
    client: httpx.AsyncClient, settings: Settings, empty_settings: Settings, tmp_path: Path
) -> None:
    """Deleted through the API after the backup's snapshot: the delete answers at once, the
    backup still holds every blob of the scene its snapshot holds (restored byte for byte),
    and the live system's blobs go once the backup ends."""
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    before = await _scene_bytes(client, headers, scene["id"])
    storage = storage_from_settings(settings)
    scene_part = f"/scenes/{scene['id']}/"
    scene_keys = _keys_with(storage, scene_part)
    assert any(key.endswith(".glb") for key in scene_keys)

    backup = HeldBackup(settings, tmp_path / "during-delete.age")
    try:
        await backup.held()
        deleted = await client.delete(f"/api/v1/scenes/{scene['id']}", headers=headers)
        assert deleted.status_code == 204, deleted.text
        assert not backup.task.done()  # answered while the backup is held: no waiting
        gone = await client.get(f"/api/v1/scenes/{scene['id']}", headers=headers)
        assert gone.status_code == 404, gone.text
        # The rows are gone; the blobs wait for the backup.
        assert _keys_with(storage, scene_part) == scene_keys
    finally:
        manifest = await backup.finish()
    assert set(scene_keys) <= {blob["key"] for blob in manifest["blobs"]}
    assert _keys_with(storage, scene_part) == []  # carried out when the backup ended
    assert list(storage.list_keys(DEFERRED_PREFIX)) == []
    assert list(storage.list_keys(LEASE_PREFIX)) == []

    restore_backup(
        empty_settings, storage_from_settings(empty_settings), backup.task_out, force=False
    )
    async for restored_client in _client_for(create_app(empty_settings)):
        after = await _scene_bytes(restored_client, headers, scene["id"])
    assert after == before


@pytest.mark.usefixtures("age_keys")
async def test_a_dataset_deleted_during_a_backup_keeps_its_files_until_it_ends(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    storage = storage_from_settings(settings)
    dataset_part = f"/datasets/{scene['dataset_id']}/"
    dataset_keys = _keys_with(storage, dataset_part)
    assert dataset_keys

    backup = HeldBackup(settings, tmp_path / "during-dataset-delete.age")
    try:
        await backup.held()
        deleted = await client.delete(f"/api/v1/datasets/{scene['dataset_id']}", headers=headers)
        assert deleted.status_code == 204, deleted.text
        assert not backup.task.done()
        assert _keys_with(storage, dataset_part) == dataset_keys
    finally:
        manifest = await backup.finish()
    assert set(dataset_keys) <= {blob["key"] for blob in manifest["blobs"]}
    assert _keys_with(storage, dataset_part) == []


async def test_a_stale_lease_does_not_hold_deletions(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A backup killed outright leaves its lease behind; once expired it defers nothing,
    and the next sweep tidies it away."""
    storage = storage_from_settings(settings)
    stale = f"{LEASE_PREFIX}killed.json"
    write_lease(storage, stale, expires_at=time.time() - 1)
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    scene_part = f"/scenes/{scene['id']}/"
    assert _keys_with(storage, scene_part)

    deleted = await client.delete(f"/api/v1/scenes/{scene['id']}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    assert _keys_with(storage, scene_part) == []
    assert list(storage.list_keys(DEFERRED_PREFIX)) == []
    run_deferred_deletes(storage)
    assert not storage.exists(stale)


async def test_deferred_deletions_wait_for_every_running_backup(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Two backups overlap: the one that ends first does not release the other's blobs."""
    storage = storage_from_settings(settings)
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    scene_part = f"/scenes/{scene['id']}/"
    first, second = f"{LEASE_PREFIX}first.json", f"{LEASE_PREFIX}second.json"
    for lease in (first, second):
        write_lease(storage, lease, expires_at=time.time() + 300)

    deleted = await client.delete(f"/api/v1/scenes/{scene['id']}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    kept = _keys_with(storage, scene_part)
    assert kept
    storage.delete(first)  # the first backup ends
    assert run_deferred_deletes(storage) == 0
    assert _keys_with(storage, scene_part) == kept
    storage.delete(second)  # and then the second
    assert run_deferred_deletes(storage) == 1
    assert _keys_with(storage, scene_part) == []
    assert list(storage.list_keys(DEFERRED_PREFIX)) == []


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
    result = run_spatialviz("backup", str(tmp_path / "b.age"), env=env)
    assert_one_line_refusal(result, "SPATIALVIZ_BACKUP_RECIPIENTS")
    assert not (tmp_path / "b.age").exists()


def _gauge(scrape: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", scrape, flags=re.MULTILINE)
    assert match is not None, f"{name} is not exported"
    return float(match.group(1))


@pytest.mark.usefixtures("age_keys")
async def test_a_finished_backup_shows_on_the_metrics_of_the_api(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    """The backup-age alert's input: 0 until a backup succeeds, then its time and size."""
    stamp = "spatialviz_backup_last_success_timestamp_seconds"
    assert _gauge((await client.get("/metrics")).text, stamp) == 0
    await register_and_sign_in(client)
    storage = storage_from_settings(settings)
    started = time.time()
    backup = tmp_path / "b.age"
    write_backup(settings, storage, backup, force=False)
    scrape = (await client.get("/metrics")).text
    assert started <= _gauge(scrape, stamp) <= time.time()
    assert _gauge(scrape, "spatialviz_backup_last_size_bytes") == backup.stat().st_size
    # The record is not data: the next backup leaves it out, restore ignores it.
    assert STATUS_KEY not in {blob["key"] for blob in _manifest_blobs(settings, tmp_path)}


def _manifest_blobs(settings: Settings, tmp_path: Path) -> list[dict[str, Any]]:
    again = tmp_path / "again.age"
    blobs: list[dict[str, Any]] = write_backup(
        settings, storage_from_settings(settings), again, force=False
    )["blobs"]
    return blobs


async def test_the_periodic_storage_sweep_carries_out_deferred_deletions(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The API's sweep loop (start-up, then every interval) runs what a backup held back
    once no lease is fresh; its ``also`` hook runs after, so the test knows one pass ended."""
    storage = storage_from_settings(settings)
    user, headers = await register_and_sign_in(client)
    scene = await ready_scene(client, headers, user["personal_workspace_id"])
    scene_part = f"/scenes/{scene['id']}/"
    lease = f"{LEASE_PREFIX}ended.json"
    write_lease(storage, lease, expires_at=time.time() + 300)
    deleted = await client.delete(f"/api/v1/scenes/{scene['id']}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    assert _keys_with(storage, scene_part)
    storage.delete(lease)  # its backup ended without carrying them out (killed, say)

    one_pass = asyncio.Event()

    async def passed() -> None:
        one_pass.set()

    sweeper = asyncio.create_task(
        sweep_temporary_forever(storage, 3600, 3600, also=passed), name="test-sweep"
    )
    try:
        await one_pass.wait()
    finally:
        sweeper.cancel()
    assert _keys_with(storage, scene_part) == []
    assert list(storage.list_keys(DEFERRED_PREFIX)) == []
