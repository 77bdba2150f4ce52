"""`spatialviz demo`: a demo account with a LiDAR scene and a 3D chart, so the first screen
after `make run` shows something real.

Everything goes through the real API in-process (the app's own lifespan runs the job
runner), so the demo exercises the same path as any client. Only the account is created
directly with the auth service: the API rightly refuses the reserved ``.local`` domain.

Idempotent and resumable: each demo dataset is found by its file name in the demo
workspace; whatever is missing or failed is made again, and a complete demo is left alone.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from spatialviz.app import create_app
from spatialviz.auth.repository import UserRepository
from spatialviz.auth.service import register
from spatialviz.config import ConfigError, Settings
from spatialviz.demo import DEFAULT_POINTS
from spatialviz.demo.generate import write_lidar_las, write_measurements_csv
from spatialviz.kit.db import transaction
from spatialviz.kit.resources import Resources

DEMO_EMAIL = "demo@spatialviz.local"
DEMO_DISPLAY_NAME = "Demo"
CHART_ROWS = 5_000
POLL_SECONDS = 0.2
JOB_TIMEOUT_SECONDS = 900.0
FINAL_JOB = frozenset({"succeeded", "failed", "cancelled"})

Json = dict[str, Any]


class DemoFailed(RuntimeError):
    """The demo could not be made; the message is one line that says why."""


@dataclass(frozen=True)
class DemoItem:
    key: str
    filename: str
    scene_name: str
    encoding: Json
    write: Callable[[Path, int], Path]
    #: Upload ``columns`` metadata: which source columns become the points' x/y/z.
    positions: Json | None = None


def _write_lidar(path: Path, points: int) -> Path:
    return write_lidar_las(path, points=points)


def _write_chart(path: Path, _points: int) -> Path:
    return write_measurements_csv(path, rows=CHART_ROWS)


DEMO_ITEMS = (
    DemoItem(
        key="lidar",
        filename="demo-lidar.las",
        scene_name="Demo: LiDAR town",
        encoding={"color": {"mode": "rgb"}},
        write=_write_lidar,
    ),
    DemoItem(
        key="chart",
        filename="demo-measurements.csv",
        scene_name="Demo: income, age and happiness by region",
        encoding={
            "position": {
                "x": "age",
                "y": "income",
                "z": "happiness",
                "chart_box": {"size": [1.0, 1.0, 1.0]},
            },
            "color": {"mode": "categorical", "column": "region", "palette": "tableau10"},
        },
        write=_write_chart,
        # Ingest turns the columns chosen as x/y/z into the canonical x/y/z, so the chart's
        # columns would lose their names (and the axes their labels). The table has no
        # spatial position: the row id stands in, and every measurement stays a column.
        positions={"x": "id", "y": "id"},
    ),
)


@dataclass
class DemoResult:
    email: str
    password: str
    account_created: bool = False
    changed: bool = False
    datasets: dict[str, Json] = field(default_factory=dict)
    scenes: dict[str, Json] = field(default_factory=dict)


def demo_password(settings: Settings) -> str:
    """The demo account's password, derived from the application secret: the same on
    every run of one installation (so it can be printed again), different between them."""
    digest = hmac.new(settings.secret.encode(), b"spatialviz demo account", hashlib.sha256)
    text = base64.b32encode(digest.digest()).decode().lower()[:16]
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


class Display:
    """One progress row per demo item; silent when no console is given (tests)."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._rows: dict[str, TaskID] = {}

    def show(self, item: DemoItem, text: str, fraction: float | None = None) -> None:
        if self._progress is None:
            return
        description = f"{item.key:>5}  {text}"
        percent = round(100 * (fraction or 0.0))
        row = self._rows.get(item.key)
        if row is None:
            self._rows[item.key] = self._progress.add_task(
                description, total=100, completed=percent
            )
        else:
            self._progress.update(row, description=description, completed=percent)


async def _ensure_account(resources: Resources, settings: Settings, password: str) -> bool:
    """Create the demo account unless it exists; True when it was created."""
    async with transaction(resources.sessions) as session:
        if await UserRepository(session).by_email(DEMO_EMAIL) is not None:
            return False
        await register(
            session,
            settings,
            email=DEMO_EMAIL,
            password=password,
            display_name=DEMO_DISPLAY_NAME,
            ip=None,
        )
        return True


def _check(response: httpx.Response, what: str, *expected: int) -> Json:
    if response.status_code not in (expected or (200,)):
        detail = ""
        if response.headers.get("content-type", "").endswith("json"):
            body = response.json()
            detail = f": {body.get('detail') or body.get('title') or body}"
        raise DemoFailed(f"{what} answered HTTP {response.status_code}{detail}")
    body = response.json()
    if not isinstance(body, dict):
        raise DemoFailed(f"{what} answered something other than a JSON object")
    return body


class DemoApi:
    """The few API calls the demo makes, as the demo user."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    async def sign_in(self, password: str) -> None:
        response = await self.client.post(
            "/api/v1/auth/token", data={"username": DEMO_EMAIL, "password": password}
        )
        if response.status_code == 401:
            raise DemoFailed(
                f"{DEMO_EMAIL} exists but its password is not the one derived from this "
                "installation's secret key (was SPATIALVIZ_SECRET_KEY changed?)"
            )
        tokens = _check(response, "sign-in")
        self.client.headers["Authorization"] = f"Bearer {tokens['access_token']}"

    async def personal_workspace(self) -> str:
        me = _check(await self.client.get("/api/v1/me"), "GET /api/v1/me")
        return str(me["workspaces"][0]["id"])

    async def datasets_by_name(self, workspace_id: str) -> dict[str, Json]:
        """The newest usable (not failed) dataset for each file name."""
        found: dict[str, Json] = {}
        cursor: str | None = None
        while True:
            params = {"workspace_id": workspace_id, "limit": "100"}
            if cursor:
                params["cursor"] = cursor
            page = _check(await self.client.get("/api/v1/datasets", params=params), "datasets")
            for dataset in page["items"]:
                if dataset["status"] != "failed":
                    found.setdefault(dataset["name"], dataset)
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    async def upload(self, workspace_id: str, path: Path, positions: Json | None) -> Json:
        params = {"workspace_id": workspace_id, "filename": path.name}
        if positions is not None:
            params["columns"] = json.dumps(positions)
        response = await self.client.post(
            "/api/v1/datasets",
            params=params,
            content=await anyio.Path(path).read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
        )
        return _check(response, f"upload of {path.name}", 202)

    async def get(self, kind: str, object_id: str) -> Json:
        return _check(await self.client.get(f"/api/v1/{kind}/{object_id}"), f"{kind} {object_id}")

    async def create_scene(self, dataset_id: str, item: DemoItem) -> Json:
        body = {"dataset_id": dataset_id, "name": item.scene_name, "encoding": item.encoding}
        response = await self.client.post("/api/v1/scenes", json=body)
        return _check(response, f"scene for {item.filename}", 202)

    async def follow(self, job_id: str | None, label: str, item: DemoItem, shown: Display) -> None:
        """Show a job's progress until it ends (a Celery job waits for a worker)."""
        if job_id is None:
            return
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        while True:
            job = await self.get("jobs", job_id)
            stage = job.get("stage") or job["status"]
            shown.show(item, f"{label}: {stage}", float(job.get("progress") or 0.0))
            if job["status"] in FINAL_JOB:
                return
            if time.monotonic() > deadline:
                hint = " (is a worker running?)" if self.settings.uses_celery else ""
                raise DemoFailed(f"{label} of {item.filename} still {job['status']}{hint}")
            await asyncio.sleep(POLL_SECONDS)


async def _ready_dataset(
    api: DemoApi, item: DemoItem, dataset: Json, shown: Display
) -> tuple[Json, bool]:
    await api.follow(dataset.get("ingest_job_id"), "ingest", item, shown)
    dataset = await api.get("datasets", dataset["id"])
    if dataset["status"] != "ready":
        reason = dataset.get("error_message") or dataset["status"]
        raise DemoFailed(f"ingest of {item.filename} failed: {reason}")
    return dataset, False


async def _ensure_item(
    api: DemoApi,
    item: DemoItem,
    existing: Json | None,
    workspace_id: str,
    workdir: Path,
    points: int,
    shown: Display,
) -> tuple[Json, Json, bool]:
    """The item's ready dataset and ready scene, made if missing; True when anything changed."""
    changed = False
    if existing is None:
        shown.show(item, f"generating {item.filename}")
        path = await anyio.to_thread.run_sync(item.write, workdir / item.filename, points)
        shown.show(item, f"uploading {path.stat().st_size / 1e6:.1f} MB")
        existing = (await api.upload(workspace_id, path, item.positions))["dataset"]
        changed = True
    dataset, _ = await _ready_dataset(api, item, existing, shown)
    scene = await _existing_scene(api, dataset)
    if scene is None:
        scene = (await api.create_scene(dataset["id"], item))["scene"]
        changed = True
    await api.follow(scene.get("job_id"), "tiling", item, shown)
    scene = await api.get("scenes", scene["id"])
    if scene["status"] != "ready":
        reason = scene.get("error_message") or scene["status"]
        raise DemoFailed(f"tiling of {item.filename} failed: {reason}")
    shown.show(item, f"ready: {item.scene_name}", 1.0)
    return dataset, scene, changed


async def _existing_scene(api: DemoApi, dataset: Json) -> Json | None:
    """The dataset's newest scene that has not failed (the demo makes one per dataset)."""
    page = _check(
        await api.client.get("/api/v1/scenes", params={"dataset_id": dataset["id"]}), "scenes"
    )
    return next((s for s in page["items"] if s["status"] != "failed"), None)


async def run_demo(
    settings: Settings, *, points: int = DEFAULT_POINTS, progress: Progress | None = None
) -> DemoResult:
    """Make (or complete) the demo in the database and storage ``settings`` point at."""
    result = DemoResult(email=DEMO_EMAIL, password=demo_password(settings))
    shown = Display(progress)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        resources: Resources = app.state.resources
        result.account_created = await _ensure_account(resources, settings, result.password)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://demo.internal", timeout=120.0
        ) as client:
            api = DemoApi(client, settings)
            await api.sign_in(result.password)
            workspace_id = await api.personal_workspace()
            existing = await api.datasets_by_name(workspace_id)
            with tempfile.TemporaryDirectory(prefix="spatialviz-demo-") as tmp:
                outcomes = await asyncio.gather(
                    *(
                        _ensure_item(
                            api,
                            item,
                            existing.get(item.filename),
                            workspace_id,
                            Path(tmp),
                            points,
                            shown,
                        )
                        for item in DEMO_ITEMS
                    )
                )
    for item, (dataset, scene, changed) in zip(DEMO_ITEMS, outcomes, strict=True):
        result.datasets[item.key] = dataset
        result.scenes[item.key] = scene
        result.changed = result.changed or changed
    result.changed = result.changed or result.account_created
    return result


@contextmanager
def _progress(console: Console) -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        yield progress


def demo(points: int = DEFAULT_POINTS) -> None:
    """Create the demo account with a LiDAR scene and a 3D chart (idempotent); the body of
    ``spatialviz demo``."""
    console = Console(stderr=False)
    try:
        # The demo shows its own progress; INFO logs (also from the job runner's worker
        # processes, which read the environment) would interleave with it.
        os.environ.setdefault("SPATIALVIZ_LOG_LEVEL", "WARNING")
        settings = Settings()
        settings.validate_for_startup()
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        if settings.uses_celery:
            console.print(
                "Jobs run on Celery: a worker must be running (spatialviz worker) for the "
                "demo to finish."
            )
        started = time.monotonic()
        with _progress(console) as progress:
            result = asyncio.run(run_demo(settings, points=points, progress=progress))
    except (DemoFailed, ConfigError) as exc:
        typer.echo(f"spatialviz demo: failed: {exc}", err=True)
        raise typer.Exit(1) from None
    except SQLAlchemyError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        typer.echo(
            f"spatialviz demo: failed: database error ({first_line}); "
            "is it reachable and migrated (spatialviz migrate)?",
            err=True,
        )
        raise typer.Exit(1) from None
    except (OSError, httpx.HTTPError) as exc:
        typer.echo(f"spatialviz demo: failed: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if result.changed:
        console.print(f"Demo ready in {time.monotonic() - started:.1f} s.")
    else:
        console.print("Demo already in place; nothing to do.")
    console.print(f"Demo sign-in: {result.email}  password: {result.password}")
