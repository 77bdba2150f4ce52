"""``spatialviz keys rotate database`` / ``keys retire database``: a new PostgreSQL password
with a window in which the old and the new both log in.

A PostgreSQL role has one password, so changing it in place would lock out every process
still configured with the old one. Instead each rotation creates a NEW login role that is a
member of the role owning the schema (and sets its session to that role, so tables that
migrations create stay owned by the owner, whoever ran them):

1. ``rotate``: create ``<owner>_<stamp>`` LOGIN with a random password; write the new
   ``SPATIALVIZ_DATABASE_URL`` to a file readable by the caller only. Old and new log in.
2. roll that URL out to every process (Kubernetes Secret + rollout, or the service's
   environment + restart).
3. ``retire --role OLD``: refuses while OLD still has sessions (a process not yet rolled);
   then OLD cannot log in any more (NOLOGIN, no password), and is dropped when it owns
   nothing (a rotation-made role). The owner role itself is never dropped.

The admin URL (a superuser or a role with CREATEROLE and ADMIN on the owner) is used for
these statements only. Passwords are never printed or logged.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import asyncpg
from sqlalchemy.engine import make_url

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class CredentialError(RuntimeError):
    """The rotation cannot go on; the message is one line that says why."""


@dataclass(frozen=True)
class Rotated:
    owner: str
    old_role: str
    new_role: str
    url_file: Path


def _ident(name: str) -> str:
    if not ROLE_NAME.fullmatch(name):
        raise CredentialError(f"role name {name!r} is not a plain lower-case identifier")
    return f'"{name}"'


def _admin_dsn(admin_url: str, database: str | None) -> str:
    """The admin URL, on the application's database, in asyncpg's form."""
    url = make_url(admin_url).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


async def _owner_of_schema(conn: asyncpg.Connection, database_role: str) -> str:
    """The role that owns the application's tables (alembic_version marks them)."""
    owner = await conn.fetchval(
        "SELECT tableowner FROM pg_tables WHERE tablename = 'alembic_version' LIMIT 1"
    )
    return str(owner) if owner else database_role


async def rotate_password(app_url: str, admin_url: str, url_file: Path) -> Rotated:
    """Create the new login role and write the URL that uses it to ``url_file``."""
    current = make_url(app_url)
    if not current.drivername.startswith("postgresql") or not current.username:
        raise CredentialError(
            "SPATIALVIZ_DATABASE_URL must be a PostgreSQL URL with a user to rotate its password"
        )
    # The file first: a role whose password was written nowhere would be lost.
    out = _create_private(url_file)
    try:
        conn = await asyncpg.connect(_admin_dsn(admin_url, current.database), timeout=10)
    except BaseException:
        _discard(out, url_file)
        raise
    try:
        owner = await _owner_of_schema(conn, current.username)
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        new_role = f"{owner}_{stamp}_{secrets.token_hex(2)}"[:63]
        password = secrets.token_urlsafe(32)
        async with conn.transaction():
            # The password is sent as a literal (DDL takes no parameters); quote_literal
            # escapes it, and token_urlsafe has no quote anyway.
            literal = await conn.fetchval("SELECT quote_literal($1::text)", password)
            await conn.execute(
                f"CREATE ROLE {_ident(new_role)} LOGIN INHERIT PASSWORD {literal} "
                f"IN ROLE {_ident(owner)}"
            )
            await conn.execute(f"ALTER ROLE {_ident(new_role)} SET role = {_ident(owner)}")
        new_url = current.set(username=new_role, password=password)
        with out:
            out.write(new_url.render_as_string(hide_password=False) + "\n")
    except BaseException:
        _discard(out, url_file)
        raise
    finally:
        await conn.close()
    return Rotated(owner, current.username, new_role, url_file)


async def retire_role(app_url: str, admin_url: str, role: str, *, terminate: bool = False) -> str:
    """Stop ``role`` from logging in; drop it when it owns nothing. Returns what was done."""
    current = make_url(app_url)
    if role == current.username:
        raise CredentialError(
            f"{role!r} is the role SPATIALVIZ_DATABASE_URL uses now: roll out the new URL first"
        )
    conn = await asyncpg.connect(_admin_dsn(admin_url, current.database), timeout=10)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role) is None:
            raise CredentialError(f"no role {role!r}")
        sessions = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()",
            role,
        )
        if sessions and not terminate:
            raise CredentialError(
                f"{sessions} session(s) still log in as {role!r}: some process still has the "
                "old URL; roll it out everywhere first (or pass --terminate)"
            )
        await conn.execute(f"ALTER ROLE {_ident(role)} NOLOGIN PASSWORD NULL")
        if sessions:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
                role,
            )
        owns = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = $1",
            role,
        )
        owner = await _owner_of_schema(conn, role)
        if owns or role == owner:
            return f"{role}: can no longer log in (kept: it owns the schema)"
        await conn.execute(f"DROP ROLE {_ident(role)}")
        return f"{role}: dropped"
    finally:
        await conn.close()


def _discard(out: TextIO, path: Path) -> None:
    out.close()
    path.unlink(missing_ok=True)


def _create_private(path: Path) -> TextIO:
    """Created readable by the owner only, or refused when it exists (never overwritten)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CredentialError(f"{path} exists; give a new file for the new URL") from None
    return os.fdopen(fd, "w")
