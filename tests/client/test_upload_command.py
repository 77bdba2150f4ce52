"""The CLI upload against a real server on loopback: interrupted, then resumed at the
server's offset, then the ingest followed to the end."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from spatialviz.cli import app as cli_app
from spatialviz.client.tus_upload import ResumeStore, upload_file
from tests.dataset.helpers import csv_bytes


class Interrupted(Exception):
    pass


def _token(url: str) -> tuple[str, str]:
    with httpx.Client(base_url=url) as c:
        email = "cli@example.com"
        user = c.post(
            "/api/v1/auth/register", json={"email": email, "password": "a long cli password 9"}
        ).json()
        tokens = c.post(
            "/api/v1/auth/token", data={"username": email, "password": "a long cli password 9"}
        ).json()
    return str(tokens["access_token"]), str(user["personal_workspace_id"])


async def test_upload_resumes_after_interruption(live_server: str, tmp_path: Path) -> None:
    token, workspace_id = await asyncio.to_thread(_token, live_server)
    source = tmp_path / "survey.csv"
    source.write_bytes(csv_bytes(3000))
    store = ResumeStore(tmp_path / "resume.json")
    seen: list[int] = []

    def stop_after_first_chunk(done: int, total: int) -> None:
        seen.append(done)
        if done > 0:
            raise Interrupted

    def first_try() -> None:
        with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {token}"}) as c:
            upload_file(
                c,
                source,
                workspace_id=workspace_id,
                store=store,
                on_progress=stop_after_first_chunk,
                chunk_bytes=16 * 1024,
            )

    with pytest.raises(Interrupted):
        await asyncio.to_thread(first_try)
    assert seen == [0, 16 * 1024]
    [interrupted_url] = json.loads((tmp_path / "resume.json").read_text()).values()

    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke,
        cli_app,
        [
            "upload",
            str(source),
            "--url",
            live_server,
            "--token",
            token,
            "--resume-file",
            str(tmp_path / "resume.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "dataset is ready" in result.output
    assert (tmp_path / "resume.json").read_text() == "{}"

    # The second run finished the interrupted upload (same tus resource) instead of
    # starting a new one: that upload is the one that became the dataset.
    def finished_upload() -> httpx.Response:
        with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {token}"}) as c:
            return c.head(interrupted_url, headers={"Tus-Resumable": "1.0.0"})

    head = await asyncio.to_thread(finished_upload)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == str(source.stat().st_size)
    assert head.headers["Spatialviz-Dataset-Id"] in result.output
