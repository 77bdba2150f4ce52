"""Test fixtures for both modes.

Embedded (default): SQLite, in-process cache and pub/sub, local blobs.
Services (SPATIALVIZ_TEST_SERVICES=1): real PostgreSQL and Redis; a service that is missing
fails the run, it is never skipped.

Isolation: every test gets a fresh database cloned from a template migrated once per run
(SQLite: a file copy; PostgreSQL: CREATE DATABASE ... TEMPLATE), its own blob directory and,
in services mode, a flushed Redis database.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import socket
import sys
import threading
import traceback
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis
import uvicorn
from fastapi import FastAPI

from spatialviz.app import create_app
from spatialviz.config import Settings
from spatialviz.kit.migrate import upgrade
from spatialviz.kit.proxies import uvicorn_proxy_options
from spatialviz.server import ServeOptions

# A real Redis Cluster and a real Sentinel deployment for the modules that run their Redis
# behaviours on them (services mode).
pytest_plugins = ["tests.redis_cluster", "tests.redis_sentinel", "tests.exit_watchdog"]

SERVICES = os.environ.get("SPATIALVIZ_TEST_SERVICES") == "1"
# pytest-xdist runs the suite in several processes (`make test`: -n PYTEST_WORKERS); each is
# numbered (gw0, gw1, ...) and takes its own Redis database and its own fixed ports, so two
# processes never share a server's state. Databases, vhosts and blob directories are
# already named per test.
XDIST_WORKER_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
PG_ADMIN_DSN = os.environ.get("SPATIALVIZ_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _per_worker_redis_url(url: str) -> str:
    """``url`` with its database number lowered by the worker's index (15, 14, ... by
    default; a run that sets SPATIALVIZ_TEST_REDIS to db N uses N, N-1, ...)."""
    base, _, database = url.rpartition("/")
    number = int(database or 0) - XDIST_WORKER_INDEX
    assert number >= 0, f"too many test processes for Redis databases below {database}"
    return f"{base}/{number}"


def worker_port(base: int) -> int:
    """A fixed loopback port of this test process: ``base`` for the first, 1000 apart after.
    The fixed ranges (Redis Cluster 22101-22133, PostgreSQL 22201, Sentinel 22301-22313)
    stay apart for up to 10 processes, below the kernel's ephemeral ports (32768)."""
    return base + 1000 * XDIST_WORKER_INDEX


REDIS_TEST_URL = _per_worker_redis_url(
    os.environ.get("SPATIALVIZ_TEST_REDIS", "redis://127.0.0.1:6379/15")
)
TEST_SECRET = "test-secret-" + "x" * 40
TEST_KIND_MODULE = "tests.job.kinds"


# --- secrets never logged (issue 16): every test's captured output is scanned -------------

# Independent of the redaction patterns in spatialviz.kit.redact, so a shape they miss is
# caught here rather than missed twice.
_LEAK_SHAPES = {
    "API key": re.compile(r"svk_[0-9a-f]{8}_[A-Za-z0-9_-]{16,}"),
    "refresh token": re.compile(r"svr_[A-Za-z0-9_-]{16,}"),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "tile signature": re.compile(
        r"sig=read\.[0-9a-z]+\.|read\.[0-9a-z]+\.[0-9a-z]+\.[mks][0-9a-f]{32}"
    ),
    "share token": re.compile(r"share=[0-9a-f]{32}\.|[0-9a-f]{32}\.[0-9a-f]{32}\.[0-9a-z]+\."),
    "password": re.compile(re.escape("correct horse battery staple 42")),
}
_leaks: list[str] = []


def find_leaks(text: str) -> list[str]:
    return [name for name, shape in _LEAK_SHAPES.items() if shape.search(text)]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for section, content in report.sections:
        if section.startswith("Captured") and "log" not in section.split()[1:2]:
            for name in find_leaks(content):
                _leaks.append(f"{report.nodeid} ({section}): a {name}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _leaks:
        print("\nSecrets were logged (issue 16):\n  " + "\n  ".join(sorted(set(_leaks))))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_report_header() -> str:
    return f"spatialviz test mode: {'services (PostgreSQL + Redis)' if SERVICES else 'embedded'}"


@dataclass(frozen=True)
class DatabaseTemplate:
    kind: str  # "sqlite" | "postgresql"
    name: str  # SQLite: template file path; PostgreSQL: template database name


def _asyncpg_dsn(database: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{database}"


def _sqlalchemy_pg_url(database: str) -> str:
    return _asyncpg_dsn(database).replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseTemplate]:
    if not SERVICES:
        path = tmp_path_factory.mktemp("db") / "template.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        yield DatabaseTemplate("sqlite", str(path))
        return
    name = f"sv_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    upgrade(_sqlalchemy_pg_url(name))
    yield DatabaseTemplate("postgresql", name)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database_url(db_template: DatabaseTemplate, tmp_path: Path) -> AsyncIterator[str]:
    if db_template.kind == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(db_template.name, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"sv_t_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{db_template.name}"')
    yield _sqlalchemy_pg_url(name)
    await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def pg_admin(sql: str) -> None:
    """One statement on the shared server's admin database (CREATE/DROP DATABASE)."""
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def redis_url() -> Iterator[str | None]:
    if not SERVICES:
        yield None
        return
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str | None) -> Settings:
    return Settings(
        env="test",
        var_dir=tmp_path / "var",
        database_url=database_url,
        redis_url=redis_url,
        storage_url=f"file://{tmp_path / 'storage'}",
        secret_key=TEST_SECRET,
        log_format="console",
        # INFO: the access log and audit lines are captured too, for the secret scan above.
        log_level="INFO",
        # Argon2 at 1 pass / 1 MiB: the suite registers hundreds of users. The standard cost
        # is exercised by tests/auth/test_password_profiles.py.
        argon2_cost="fast-insecure",
        # Generous limits so factories can create many users; the rate-limit tests set
        # their own.
        rate_limit_auth="1000/minute",
        rate_limit_api="10000/minute",
        # The runner tests' kinds (example.*), in the pool and Celery worker processes too.
        jobs_kind_modules=[TEST_KIND_MODULE],
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The app served by a real uvicorn on a loopback port (its own lifespan and job
    runner), for clients that speak real HTTP: the CLI, a browser."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        # as `spatialviz serve` runs it
        timeout_graceful_shutdown=ServeOptions.graceful_timeout,
        **uvicorn_proxy_options(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    # Its lifespan stops the job pool (killing its processes); a server still running when
    # the run ends would keep its pool's threads alive past pytest's exit. The bound is wide
    # for a busy machine, not a timing check.
    thread.join(timeout=120)
    assert not thread.is_alive(), "the test server did not stop within 120 s:\n" + _waits_in(thread)


def _waits_in(thread: threading.Thread) -> str:
    """Where a server thread that will not stop waits: its stack, and its event loop's tasks
    (read from another thread, so best effort: it is for the failure message)."""
    frame = sys._current_frames().get(thread.ident or 0)
    report = traceback.format_stack(frame) if frame is not None else ["(no stack)\n"]
    while frame is not None and not isinstance(frame.f_locals.get("self"), asyncio.BaseEventLoop):
        frame = frame.f_back
    if frame is not None:
        try:
            for task in asyncio.all_tasks(frame.f_locals["self"]):
                out = io.StringIO()
                task.print_stack(file=out)
                report.append(out.getvalue())
        except RuntimeError as error:  # the set of tasks changed while being read
            report.append(f"(tasks unreadable: {error})\n")
    return "".join(report)


@contextlib.asynccontextmanager
async def on_loopback(app: Any) -> AsyncIterator[int]:
    """An ASGI app served by uvicorn in this event loop on a free loopback port (yielded),
    stopped on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    # A bound for a server that never starts, wide for a busy machine (not a timing check).
    for _ in range(6000):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "the test server did not start"
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 60)


@pytest.fixture
async def server_url(app: FastAPI) -> AsyncIterator[str]:
    """The test's own app (and so its pub/sub) on a real loopback socket, for a real
    WebSocket client (``ws://...``)."""
    async with on_loopback(app) as port:
        yield f"ws://127.0.0.1:{port}"


async def receive_json(ws: Any) -> dict[str, Any]:
    """The next WebSocket message as JSON (bounded, so a silent server fails the test)."""
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 60))
    return message
