"""Rate limits: sliding-window counters from the ``limits`` library.

Per user/API key on the API, per client IP on registration, sign-in and refresh. Over the
limit: 429 problem+json with an integer Retry-After. With Redis down the API limit fails
open and the sign-in limit fails closed (docs/security.md). In services mode, two server
processes sharing Redis together accept at most the limit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.kit.errors import PROBLEM_JSON
from spatialviz.kit.redis_topology import topology
from tests.conftest import SERVICES, TEST_SECRET
from tests.factories import (
    DEFAULT_PASSWORD,
    bearer,
    create_api_key,
    register,
    register_and_sign_in,
    sign_in,
    unique_email,
)
from tests.redis_cluster import REDIS_KINDS, each_redis

LIMIT = 5


@pytest.fixture(params=REDIS_KINDS)
def redis_url(request: pytest.FixtureRequest, redis_url: str | None) -> Iterator[str | None]:
    """Every test here runs on a single Redis node, a Redis Cluster and behind Sentinel
    (services mode)."""
    yield from each_redis(request, redis_url)


def _with(settings: Settings, **updates: Any) -> Settings:
    return Settings(**{**settings.model_dump(), **updates})


@asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def _assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60


async def test_api_limit_per_user_exactly_l_then_429(settings: Settings) -> None:
    async with _serving(_with(settings, rate_limit_api=f"{LIMIT}/minute")) as c:
        _, alice = await register_and_sign_in(c)
        _, bob = await register_and_sign_in(c)
        statuses = [(await c.get("/api/v1/me", headers=alice)).status_code for _ in range(LIMIT)]
        assert statuses == [200] * LIMIT
        _assert_429(await c.get("/api/v1/me", headers=alice))
        # Another user has their own budget.
        assert (await c.get("/api/v1/me", headers=bob)).status_code == 200


async def test_api_key_has_its_own_budget(settings: Settings) -> None:
    async with _serving(_with(settings, rate_limit_api=f"{LIMIT}/minute")) as c:
        user, owner = await register_and_sign_in(c)
        key = await create_api_key(c, owner, user["personal_workspace_id"])
        # The owner's JWT spent one request of the owner's budget, not of the key's.
        for _ in range(LIMIT):
            assert (await c.get("/api/v1/me", headers=bearer(key["key"]))).status_code == 200
        _assert_429(await c.get("/api/v1/me", headers=bearer(key["key"])))


async def test_sign_in_limit_per_ip(settings: Settings) -> None:
    async with _serving(_with(settings, rate_limit_auth=f"{LIMIT}/minute")) as c:
        user = await register(c)
        form = {"username": user["email"], "password": "wrong password 1"}
        for _ in range(LIMIT):
            assert (await c.post("/api/v1/auth/token", data=form)).status_code == 401
        # The right password does not help once the IP is over the limit.
        right = {"username": user["email"], "password": DEFAULT_PASSWORD}
        _assert_429(await c.post("/api/v1/auth/token", data=right))


async def test_registration_limit_per_ip(settings: Settings) -> None:
    async with _serving(_with(settings, rate_limit_auth=f"{LIMIT}/minute")) as c:
        for _ in range(LIMIT):
            await register(c)
        over = await c.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": DEFAULT_PASSWORD}
        )
        _assert_429(over)


async def test_redis_down_api_fails_open_sign_in_fails_closed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, owner = await register_and_sign_in(client)
    key = await create_api_key(client, owner, user["personal_workspace_id"])
    nowhere = {
        "single": "redis://127.0.0.1:1/0",
        "cluster": "redis+cluster://127.0.0.1:1",
        "sentinel": "redis+sentinel://127.0.0.1:1/svtest",
    }[topology(settings.redis_url or "")]
    dead = _with(settings, redis_url=nowhere)
    async with _serving(dead) as c:
        started = time.monotonic()
        # API limit: fail open, an API key (checked in the database) still works.
        me = await c.get("/api/v1/me", headers=bearer(key["key"]))
        assert me.status_code == 200, me.text
        # Sign-in limit: fail closed, 503 + Retry-After, no password check at all.
        sign = await c.post(
            "/api/v1/auth/token", data={"username": user["email"], "password": DEFAULT_PASSWORD}
        )
        assert sign.status_code == 503
        assert sign.headers["content-type"] == PROBLEM_JSON
        assert sign.headers["retry-after"].isdigit()
        # The deny-list fails closed: a JWT cannot be checked for revocation, so 503.
        jwt_me = await c.get("/api/v1/me", headers=owner)
        assert jwt_me.status_code == 503
        assert jwt_me.json()["code"] == "revocation_unavailable"
        assert time.monotonic() - started < 15  # bounded, never hangs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_live(port: int, process: subprocess.Popen[bytes]) -> None:
    # A bound, not a timing claim: on the shared 2-core machine under load, importing the
    # app alone took 21-36 s, so 30 s failed both processes before they could start.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


@pytest.mark.skipif(not SERVICES, reason="shared counters need Redis (services mode)")
def test_two_processes_share_one_budget(settings: Settings, tmp_path: Path) -> None:
    var_dir = tmp_path / "shared-var"
    shared = Settings(**{**settings.model_dump(), "var_dir": var_dir})
    shared.validate_for_startup()  # generate the JWT key once, before both processes start
    env = {
        **os.environ,
        "SPATIALVIZ_ENV": "test",
        "SPATIALVIZ_VAR_DIR": str(var_dir),
        "SPATIALVIZ_DATABASE_URL": settings.database_url,
        "SPATIALVIZ_REDIS_URL": str(settings.redis_url),
        "SPATIALVIZ_STORAGE_URL": settings.storage_url,
        "SPATIALVIZ_SECRET_KEY": TEST_SECRET,
        "SPATIALVIZ_LOG_LEVEL": "WARNING",
        "SPATIALVIZ_RATE_LIMIT_API": f"{LIMIT}/minute",
        "SPATIALVIZ_RATE_LIMIT_AUTH": "100/minute",
    }
    ports = [_free_port(), _free_port()]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "spatialviz.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_until_live(port, process)
        base = [f"http://127.0.0.1:{p}" for p in ports]
        with httpx.Client(timeout=10) as http:
            email = unique_email()
            created = http.post(
                f"{base[0]}/api/v1/auth/register",
                json={"email": email, "password": DEFAULT_PASSWORD},
            )
            assert created.status_code == 201, created.text
            token = http.post(
                f"{base[1]}/api/v1/auth/token",
                data={"username": email, "password": DEFAULT_PASSWORD},
            ).json()["access_token"]
            statuses = [
                http.get(f"{base[i % 2]}/api/v1/me", headers=bearer(token)).status_code
                for i in range(4 * LIMIT)
            ]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == 3 * LIMIT, statuses
    assert statuses[:LIMIT] == [200] * LIMIT


async def test_sign_in_helper_is_unaffected(client: httpx.AsyncClient) -> None:
    # The default test settings are generous, so factories never trip the limits.
    user = await register(client)
    for _ in range(12):
        await sign_in(client, user["email"])


async def test_limit_per_caller_dependency(settings: Settings) -> None:
    from fastapi import Depends

    from spatialviz.auth.deps import limit_per_caller

    application = create_app(settings)

    @application.post(
        "/api/v1/test-expensive",
        dependencies=[Depends(limit_per_caller("expensive", lambda _settings: "2/minute"))],
    )
    async def expensive() -> dict[str, bool]:
        return {"ok": True}

    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            _, headers = await register_and_sign_in(c)
            ok = [
                (await c.post("/api/v1/test-expensive", headers=headers)).status_code for _ in "ab"
            ]
            assert ok == [200, 200]
            _assert_429(await c.post("/api/v1/test-expensive", headers=headers))
            assert (await c.post("/api/v1/test-expensive")).status_code == 401
