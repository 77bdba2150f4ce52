"""`spatialviz demo`: the demo account, two ready datasets and two ready scenes, made once."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from spatialviz.auth.passwords import password_problem
from spatialviz.cli import app as cli
from spatialviz.config import Settings
from spatialviz.demo.command import DEMO_EMAIL, demo_password, run_demo
from tests.conftest import TEST_SECRET
from tests.factories import bearer, sign_in

POINTS = 3_000


async def test_demo_makes_account_datasets_and_scenes_once(settings: Settings) -> None:
    first = await run_demo(settings, points=POINTS)

    assert first.account_created
    assert first.changed
    assert {d["status"] for d in first.datasets.values()} == {"ready"}
    assert {s["status"] for s in first.scenes.values()} == {"ready"}
    assert first.datasets["lidar"]["row_count"] == POINTS
    assert first.datasets["chart"]["row_count"] == 5_000
    assert first.scenes["lidar"]["resolved_encoding"]["color"]["mode"] == "rgb"
    chart = first.scenes["chart"]
    assert chart["frame"] == "chart"
    assert set(chart["axes"]) >= {"x", "y", "z"}
    assert chart["resolved_encoding"]["color"]["mode"] == "categorical"

    second = await run_demo(settings, points=POINTS)

    assert not second.account_created
    assert not second.changed
    assert second.password == first.password
    ids = {k: (v["id"], v["tileset_version"]) for k, v in first.scenes.items()}
    assert {k: (v["id"], v["tileset_version"]) for k, v in second.scenes.items()} == ids
    assert {k: v["id"] for k, v in second.datasets.items()} == {
        k: v["id"] for k, v in first.datasets.items()
    }


async def test_the_demo_user_can_sign_in_and_sees_exactly_the_demo(
    settings: Settings, app: FastAPI, client: httpx.AsyncClient
) -> None:
    await run_demo(settings, points=POINTS)

    tokens = await sign_in(client, DEMO_EMAIL, demo_password(settings))
    listed = await client.get("/api/v1/datasets", headers=bearer(tokens["access_token"]))
    assert listed.status_code == 200
    names = sorted(d["name"] for d in listed.json()["items"])
    assert names == ["demo-lidar.las", "demo-measurements.csv"]


def test_demo_password_passes_the_password_rules(settings: Settings) -> None:
    password = demo_password(settings)
    assert password_problem(password, email=DEMO_EMAIL, min_length=10) is None
    assert password == demo_password(settings)


def test_cli_prints_the_sign_in_once_the_demo_exists(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "SPATIALVIZ_ENV": "test",
        "SPATIALVIZ_VAR_DIR": str(settings.var_dir),
        "SPATIALVIZ_DATABASE_URL": settings.database_url,
        "SPATIALVIZ_STORAGE_URL": settings.storage_url,
        "SPATIALVIZ_SECRET_KEY": TEST_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    if settings.redis_url:
        monkeypatch.setenv("SPATIALVIZ_REDIS_URL", settings.redis_url)

    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--points", str(POINTS)])
    assert first.exit_code == 0, first.output
    assert "Demo ready" in first.output
    assert f"Demo sign-in: {DEMO_EMAIL}  password: {demo_password(settings)}" in first.output

    again = runner.invoke(cli, ["demo", "--points", str(POINTS)])
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.output
    assert demo_password(settings) in again.output
