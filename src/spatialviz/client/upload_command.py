"""`spatialviz upload FILE`: a resumable upload with a progress bar, then the ingest job
followed to its end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from spatialviz.client.credentials import CredentialStore, NotSignedIn, StoredLogin
from spatialviz.client.tus_upload import ResumeStore, UploadFailed, upload_file

POLL_SECONDS = 0.5
FINAL = {"succeeded", "failed", "cancelled"}


def _client(url: str, token: str | None) -> httpx.Client:
    """With ``token``: that bearer token (or API key). Without: what ``spatialviz login`` kept
    for ``url``, refreshed when it expires."""
    if token:
        return httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0
        )
    return httpx.Client(base_url=url, auth=StoredLogin(CredentialStore(), url), timeout=60.0)


def _default_workspace(client: httpx.Client) -> str:
    me = client.get("/api/v1/me")
    if me.status_code != 200:
        raise UploadFailed(f"Cannot read /api/v1/me (HTTP {me.status_code}); check the token.")
    body: dict[str, Any] = me.json()
    writable = [
        m["workspace_id"] for m in body.get("memberships", []) if m["role"] in ("editor", "owner")
    ]
    if len(writable) != 1:
        raise UploadFailed(
            f"You can upload to {len(writable)} workspaces; choose one with --workspace."
        )
    return str(writable[0])


def follow_job(client: httpx.Client, job_id: str, progress: Progress) -> dict[str, Any]:
    task = progress.add_task("ingest", total=1.0)
    while True:
        response = client.get(f"/api/v1/jobs/{job_id}")
        if response.status_code != 200:
            raise UploadFailed(f"Cannot read job {job_id} (HTTP {response.status_code}).")
        job: dict[str, Any] = response.json()
        progress.update(
            task,
            completed=float(job.get("progress") or 0.0),
            description=f"ingest: {job.get('stage') or job['status']}",
        )
        if job["status"] in FINAL:
            return job
        time.sleep(POLL_SECONDS)


def upload(
    file: Path,
    *,
    workspace: str | None,
    url: str,
    token: str | None,
    resume_file: Path,
    wait: bool,
) -> None:
    """Upload FILE (resumable: run again after an interruption) and follow its ingest;
    the body of ``spatialviz upload`` (options in :mod:`spatialviz.cli`)."""
    try:
        client = _client(url, token)
    except NotSignedIn as exc:
        typer.echo(f"spatialviz: {exc} (or pass --token)", err=True)
        raise typer.Exit(1) from None
    with client, _progress() as progress:
        try:
            workspace_id = workspace or _default_workspace(client)
            bar = progress.add_task(f"upload {file.name}", total=file.stat().st_size)
            outcome = upload_file(
                client,
                file,
                workspace_id=workspace_id,
                store=ResumeStore(resume_file),
                on_progress=lambda done, _total: progress.update(bar, completed=done),
            )
            if outcome.dataset_id:
                progress.console.print(f"dataset {outcome.dataset_id}")
            if wait and outcome.job_id:
                job = follow_job(client, outcome.job_id, progress)
                if job["status"] != "succeeded":
                    reason = job.get("error_message") or job["status"]
                    progress.console.print(f"[red]ingest {job['status']}: {reason}")
                    raise typer.Exit(1)
                progress.console.print("[green]ingest finished: the dataset is ready")
        except (UploadFailed, httpx.HTTPError) as exc:
            progress.console.print(f"[red]upload failed: {exc}")
            raise typer.Exit(1) from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
