"""Database password rotation against a real PostgreSQL that checks passwords.

The shared test server trusts loopback connections (no password is ever checked), so this
module starts its own PostgreSQL cluster from Debian's binaries in a temporary directory,
with scram-sha-256 for every TCP login, on a loopback port from
``SPATIALVIZ_TEST_PG_AUTH_PORT`` (default 22201), and removes it afterwards. In it: an
application role owning a migrated schema; a rotation (old and new passwords both log in
and the new role reads, writes and migrates as the owner); the retirement (the old one no
longer logs in, the new one does), and the refusals on the way.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from spatialviz.ops.db_credentials import CredentialError, retire_role, rotate_password
from tests.conftest import SERVICES, worker_port
from tests.private_servers import dies_with_this_process, refuse_taken_ports, wait_until_up

PORT_SETTING = "SPATIALVIZ_TEST_PG_AUTH_PORT"
PORT = worker_port(int(os.environ.get(PORT_SETTING, "22201")))
START_LIMIT_SECONDS = 120
ADMIN_PASSWORD = "admin-" + "a" * 24
APP_PASSWORD = "app-" + "b" * 24
pytestmark = pytest.mark.skipif(not SERVICES, reason="PostgreSQL (services mode)")


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL's {name} is not installed (Debian: postgresql)")
    return found[-1]


def _wait_until_ready(server: subprocess.Popen[bytes], log: Path) -> None:
    probe = [_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(PORT), "-t", "2"]

    def ready() -> bool:
        if server.poll() is not None:
            pytest.fail(f"the private PostgreSQL server exited:\n{log.read_text()[-2000:]}")
        return subprocess.run(probe, check=False, timeout=30).returncode == 0

    wait_until_up("the private PostgreSQL server", ready, START_LIMIT_SECONDS)


def _as_owner(args: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *args] if owner else args


@pytest.fixture(scope="module")
def password_server() -> Iterator[str]:
    """A PostgreSQL cluster that asks for passwords; yields its admin URL."""
    refuse_taken_ports("the private PostgreSQL server", [PORT], PORT_SETTING)
    # initdb refuses root: as root, the cluster belongs to the "postgres" system user.
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="sv-pgauth-"))
    data = root / "data"
    pwfile = root / "pw"
    pwfile.write_text(ADMIN_PASSWORD)
    if owner:
        shutil.chown(root, owner)
        shutil.chown(pwfile, owner)
    subprocess.run(
        _as_owner(
            [
                _bin("initdb"), "-D", str(data), "-U", "admin", "--pwfile", str(pwfile),
                "--auth-local", "scram-sha-256", "--auth-host", "scram-sha-256", "-E", "UTF8",
            ],
            owner,
        ),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    # In the foreground, not through pg_ctl: a daemonised postmaster would outlive a killed
    # test process (see tests/private_servers.py).
    command = [
        _bin("postgres"), "-D", str(data), "-p", str(PORT),
        "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
    ]  # fmt: skip
    with (root / "log").open("wb") as log:
        server = subprocess.Popen(
            dies_with_this_process(command, run_as=owner), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_ready(server, root / "log")
        yield f"postgresql://admin:{ADMIN_PASSWORD}@127.0.0.1:{PORT}/postgres"
    finally:
        server.send_signal(signal.SIGQUIT)  # an immediate shutdown: the data is thrown away
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


async def _admin(admin_url: str, database: str, *statements: str) -> None:
    conn = await asyncpg.connect(admin_url.rsplit("/", 1)[0] + f"/{database}", timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _logs_in(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except asyncpg.InvalidPasswordError:
        return False
    except asyncpg.InvalidAuthorizationSpecificationError:
        return False  # NOLOGIN, or a dropped role
    await conn.close()
    return True


@pytest.fixture
async def app_database(password_server: str) -> AsyncIterator[tuple[str, str]]:
    """A database owned by a fresh application role, with a migrated-looking schema."""
    suffix = str(time.monotonic_ns())[-8:]
    role, database = f"svapp{suffix}", f"svdb{suffix}"
    await _admin(
        password_server,
        "postgres",
        f"CREATE ROLE {role} LOGIN PASSWORD '{APP_PASSWORD}'",
        f"CREATE DATABASE {database} OWNER {role}",
    )
    url = f"postgresql+asyncpg://{role}:{APP_PASSWORD}@127.0.0.1:{PORT}/{database}"
    conn = await asyncpg.connect(url.replace("+asyncpg", ""), timeout=10)
    try:
        await conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        await conn.execute("CREATE TABLE things (id int PRIMARY KEY, name text)")
        await conn.execute("INSERT INTO things VALUES (1, 'before')")
    finally:
        await conn.close()
    yield url, role
    # Every role this test made: the app role and those the rotation made.
    conn = await asyncpg.connect(password_server, timeout=10)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        made = await conn.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE $1", role + "%")
        for row in made:
            await conn.execute(f'DROP ROLE IF EXISTS "{row["rolname"]}"')
    finally:
        await conn.close()


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_dual_credential_window_then_retire(
    password_server: str, app_database: tuple[str, str], tmp_path: Path
) -> None:
    old_url, old_role = app_database
    assert await _logs_in(_plain(old_url))
    assert not await _logs_in(_plain(old_url).replace(APP_PASSWORD, "wrong-password"))

    url_file = tmp_path / "database-url"
    rotated = await rotate_password(old_url, password_server, url_file)
    assert rotated.owner == old_role
    assert rotated.old_role == old_role
    assert oct(url_file.stat().st_mode & 0o777) == "0o600"
    new_url = url_file.read_text().strip()
    assert new_url.startswith("postgresql+asyncpg://" + rotated.new_role + ":")
    assert APP_PASSWORD not in new_url

    # The window: both log in.
    assert await _logs_in(_plain(old_url))
    assert await _logs_in(_plain(new_url))
    # The new role works as the owner: reads, writes, and what it creates is the owner's.
    conn = await asyncpg.connect(_plain(new_url), timeout=10)
    try:
        assert await conn.fetchval("SELECT name FROM things WHERE id = 1") == "before"
        await conn.execute("INSERT INTO things VALUES (2, 'after')")
        await conn.execute("CREATE TABLE made_by_migration (id int)")
        owner = await conn.fetchval(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'made_by_migration'"
        )
        assert owner == old_role
    finally:
        await conn.close()

    # Retiring the role the configuration still uses is refused.
    with pytest.raises(CredentialError, match="roll out the new URL first"):
        await retire_role(old_url, password_server, old_role)
    # A process still on the old URL: refused unless told to end its sessions.
    straggler = await asyncpg.connect(_plain(old_url), timeout=10)
    try:
        with pytest.raises(CredentialError, match="still log in"):
            await retire_role(new_url, password_server, old_role)
    finally:
        await straggler.close()

    done = await retire_role(new_url, password_server, old_role)
    assert "can no longer log in" in done  # it owns the schema: kept, without login
    assert not await _logs_in(_plain(old_url))
    assert await _logs_in(_plain(new_url))

    # The next rotation joins the same owner; retiring the previous login role drops it.
    second = await rotate_password(new_url, password_server, tmp_path / "database-url-2")
    assert second.owner == old_role
    newest = (tmp_path / "database-url-2").read_text().strip()
    assert await _logs_in(_plain(newest))
    assert await retire_role(newest, password_server, rotated.new_role) == (
        f"{rotated.new_role}: dropped"
    )
    assert not await _logs_in(_plain(new_url))
    conn = await asyncpg.connect(_plain(newest), timeout=10)
    try:
        assert await conn.fetchval("SELECT count(*) FROM things") == 2
    finally:
        await conn.close()


async def test_url_file_never_overwritten(
    password_server: str, app_database: tuple[str, str], tmp_path: Path
) -> None:
    old_url, _ = app_database
    existing = tmp_path / "taken"
    existing.write_text("keep me")
    with pytest.raises(CredentialError, match="exists"):
        await rotate_password(old_url, password_server, existing)
    assert existing.read_text() == "keep me"
    # Nothing left behind: no role was made for a URL that could not be written.
    conn = await asyncpg.connect(password_server, timeout=10)
    try:
        made = await conn.fetchval(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE $1", app_database[1] + "\\_%"
        )
    finally:
        await conn.close()
    assert made == 0
