"""Hostile files through the real ingest job: refused with their code on the first attempt
(never retried: the file will not read better the second time) and leaving nothing behind.
Before the readers' budgets these hung a worker for minutes, memory rising, until the job
was reaped and run again."""

from __future__ import annotations

import struct
from pathlib import Path

import httpx
import pytest

from spatialviz.config import Settings
from tests.dataset.helpers import las_bytes, stored_files, upload, wait_for_dataset
from tests.factories import register_and_sign_in
from tests.formats.bombs import arrow_zstd_bomb, geojson_nesting_bomb, parquet_page_bomb

#: x, y, z float64: 96 MiB decoded, above the budget's 64 MiB floor, in a few kilobytes
BOMB_ROWS = 4 * 1024 * 1024

DEEP = 200_000


def _vlr_bomb() -> bytes:
    data = bytearray(las_bytes(10))
    struct.pack_into("<I", data, 100, 1_073_741_824)  # VLRs declared: 1.07 billion
    return bytes(data)


def _arrow_bomb(tmp: Path) -> bytes:
    return arrow_zstd_bomb(tmp / "bomb.arrow", BOMB_ROWS).read_bytes()


def _parquet_bomb(tmp: Path) -> bytes:
    return parquet_page_bomb(tmp / "bomb.parquet", BOMB_ROWS).read_bytes()


@pytest.mark.parametrize(
    ("name", "make", "code"),
    [
        ("bomb.las", lambda _: _vlr_bomb(), "count_exceeds_file"),
        ("deep.geojson", lambda _: geojson_nesting_bomb(DEEP), "nesting_too_deep"),
        ("bomb.arrow", _arrow_bomb, "decompression_bomb"),
        ("bomb.parquet", _parquet_bomb, "decompression_bomb"),
    ],
)
async def test_a_hostile_file_fails_its_job_at_once(
    client: httpx.AsyncClient,
    settings: Settings,
    tmp_path: Path,
    name: str,
    make: object,
    code: str,
) -> None:
    user, headers = await register_and_sign_in(client)
    assert callable(make)
    content = make(tmp_path)
    response = await upload(client, headers, user["personal_workspace_id"], content, name)
    assert response.status_code == 202, response.text
    body = response.json()
    dataset = await wait_for_dataset(client, headers, body["dataset"]["id"])
    assert dataset["status"] == "failed"
    assert dataset["error_code"] == code
    job = (await client.get(f"/api/v1/jobs/{body['job']['id']}", headers=headers)).json()
    assert job["status"] == "failed"
    assert job["error_code"] == code
    assert job["attempts"] == 1  # a refusal is final, not a retry
    assert stored_files(settings) == []
