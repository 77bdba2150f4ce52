"""The `spatialviz` command line: serve, migrate, worker, login, upload, logout, tile, demo,
users, version.

Commands import what they need when they run. Not only for a quick ``--help``: ``spatialviz
tile`` runs its workers as spawned processes, and each of them imports this module again
(as the console script's main module), so whatever is imported here is paid once per
worker; the whole web app (through ``demo``) used to cost ~3.4 s of CPU each.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from spatialviz import __version__
from spatialviz.client import DEFAULT_RESUME_FILE
from spatialviz.demo import DEFAULT_POINTS
from spatialviz.tiling.cli import tile_command

if TYPE_CHECKING:
    from spatialviz.config import Settings

app = typer.Typer(
    help="Spatialviz: spatial datasets in, level-of-detail 3D Tiles out.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    from spatialviz.config import ConfigError, Settings

    try:
        settings = Settings()
        settings.validate_for_startup()
    except ConfigError as exc:
        typer.echo(f"spatialviz: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return settings


@app.callback()
def _root() -> None:
    """Spatialviz command line."""


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def migrate(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply database migrations up to REVISION."""
    from spatialviz.kit.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database migrated to {revision}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind"),
    port: int = typer.Option(8000, help="TCP port"),
    reload: bool = typer.Option(False, help="Reload on code changes (development)"),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="Worker processes. 1: one uvicorn process. More: Gunicorn with uvicorn workers "
        "(graceful reload on HUP, workers recycled); needs SPATIALVIZ_REDIS_URL.",
    ),
) -> None:
    """Serve the API and web client (uvicorn; Gunicorn + uvicorn workers with --workers N)."""
    from spatialviz.server import ServeOptions
    from spatialviz.server import serve as run_server

    if workers > 1 and reload:
        raise typer.BadParameter("--reload runs one process; drop --workers or --reload")
    run_server(_settings(), ServeOptions(host=host, port=port, workers=workers, reload=reload))


users = typer.Typer(help="Administer accounts.", no_args_is_help=True)
app.add_typer(users, name="users")


@users.command("disable")
def disable_user(email: str = typer.Argument(..., help="The account's email")) -> None:
    """Disable an account: its tokens, API keys and tile signatures stop working."""
    _set_disabled(email, disabled=True)


@users.command("enable")
def enable_user(email: str = typer.Argument(..., help="The account's email")) -> None:
    """Enable a disabled account again (it signs in anew)."""
    _set_disabled(email, disabled=False)


def _set_disabled(email: str, *, disabled: bool) -> None:
    import asyncio

    from spatialviz.auth.admin import disable_or_enable
    from spatialviz.kit.errors import NotFound

    try:
        user_id = asyncio.run(disable_or_enable(_settings(), email, disabled=disabled))
    except NotFound:
        typer.echo(f"spatialviz: no account with the email {email!r}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{'disabled' if disabled else 'enabled'} {user_id}")


keys = typer.Typer(
    help="Rotate and retire secrets (docs/operations.md, Key rotation).", no_args_is_help=True
)
app.add_typer(keys, name="keys")
KEY_KINDS = ("jwt", "tile-signing", "database")


@keys.command("rotate")
def rotate_keys(
    kind: str = typer.Argument(..., help="jwt | tile-signing | database"),
    activate_in: int = typer.Option(
        0,
        help="jwt/tile-signing: seconds before the new key signs; with several processes, "
        "longer than the key file takes to reach them all",
    ),
    admin_url: str = typer.Option(
        "", envvar="SPATIALVIZ_DATABASE_ADMIN_URL", help="database: a role with CREATEROLE"
    ),
    url_file: Path = typer.Option(
        None, help="database: a new file to write the new SPATIALVIZ_DATABASE_URL to (0600)"
    ),
) -> None:
    """A new key signs; the old one verifies until what it signed has expired."""
    import asyncio

    from spatialviz.ops.db_credentials import CredentialError, rotate_password
    from spatialviz.ops.keys import rotate

    settings = _settings()
    if kind == "database":
        if not admin_url or url_file is None:
            raise typer.BadParameter("database needs --admin-url and --url-file")
        with _one_line_on(CredentialError, "spatialviz keys rotate"):
            done = asyncio.run(rotate_password(settings.database_url, admin_url, url_file))
        typer.echo(
            f"database: new login role {done.new_role} (member of {done.owner}); its URL is in "
            f"{done.url_file}. Roll it out, then: spatialviz keys retire database "
            f"--role {done.old_role}"
        )
        return
    if kind not in KEY_KINDS:
        raise typer.BadParameter(f"one of {', '.join(KEY_KINDS)}")
    report = rotate(settings, "jwt" if kind == "jwt" else "tile", activate_in_seconds=activate_in)
    for line in report.lines():
        typer.echo(line)


@keys.command("retire")
def retire_keys(
    kind: str = typer.Argument("expired", help="expired (JWT and tile keys) | database"),
    role: str = typer.Option("", help="database: the old login role"),
    admin_url: str = typer.Option("", envvar="SPATIALVIZ_DATABASE_ADMIN_URL"),
    terminate: bool = typer.Option(False, help="database: end the old role's sessions"),
) -> None:
    """Drop keys whose signatures have all expired, or end an old database login role."""
    import asyncio

    from spatialviz.ops.db_credentials import CredentialError, retire_role
    from spatialviz.ops.keys import retire_expired

    settings = _settings()
    if kind == "database":
        if not admin_url or not role:
            raise typer.BadParameter("database needs --admin-url and --role")
        with _one_line_on(CredentialError, "spatialviz keys retire"):
            typer.echo(
                asyncio.run(
                    retire_role(settings.database_url, admin_url, role, terminate=terminate)
                )
            )
        return
    report = retire_expired(settings)
    for line in report.lines() or ["nothing to retire"]:
        typer.echo(line)


@app.command()
def upload(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    workspace: str | None = typer.Option(None, help="Workspace id (default: your personal one)"),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="SPATIALVIZ_URL", help="Server"),
    token: str | None = typer.Option(
        None,
        envvar="SPATIALVIZ_TOKEN",
        help="Access token or API key (SPATIALVIZ_TOKEN); default: the `spatialviz login` one",
    ),
    resume_file: Path = typer.Option(DEFAULT_RESUME_FILE, help="Where resume state is kept"),
    wait: bool = typer.Option(True, help="Follow the ingest job until it ends"),
) -> None:
    """Upload FILE (resumable: run again after an interruption) and follow its ingest."""
    from spatialviz.client.upload_command import upload as send

    send(file, workspace=workspace, url=url, token=token, resume_file=resume_file, wait=wait)


@app.command()
def login(
    url: str = typer.Option("http://127.0.0.1:8000", envvar="SPATIALVIZ_URL", help="Server"),
    email: str = typer.Option(..., prompt=True, help="Your account's email"),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, envvar="SPATIALVIZ_PASSWORD", help="Prompted if absent"
    ),
) -> None:
    """Sign in and keep the session (user config dir, mode 0600) for upload and the rest."""
    from spatialviz.client.login_command import login as sign_in

    sign_in(url, email, password)


@app.command()
def logout(
    url: str = typer.Option("http://127.0.0.1:8000", envvar="SPATIALVIZ_URL", help="Server"),
) -> None:
    """End the session `spatialviz login` kept for the server and forget it."""
    from spatialviz.client.login_command import logout as sign_out

    sign_out(url)


@app.command()
def worker(
    queues: str = typer.Option("heavy,light", help="Comma-separated queues to consume"),
    concurrency: int = typer.Option(0, help="Worker processes (0: one per CPU)"),
    beat: bool = typer.Option(
        False, help="Also run the periodic reaper schedule (one such worker per deployment)"
    ),
    metrics_port: int | None = typer.Option(None, help="Serve Prometheus metrics on this port"),
    loglevel: str = typer.Option("INFO", help="Celery log level"),
) -> None:
    """Run a Celery worker for background jobs (ingest, tiling, exports)."""
    import os

    settings = _settings()
    if not settings.broker_url:
        typer.echo(
            "spatialviz: configuration error: a worker needs SPATIALVIZ_CELERY_BROKER_URL "
            "or SPATIALVIZ_REDIS_URL",
            err=True,
        )
        raise typer.Exit(2)
    if metrics_port is not None:
        from spatialviz.job.worker_metrics import serve_worker_metrics

        serve_worker_metrics(metrics_port)

    from spatialviz.job.celery_app import start_worker

    argv = [
        "worker",
        f"--queues={queues}",
        f"--concurrency={concurrency or os.cpu_count() or 1}",
        f"--loglevel={loglevel}",
        "--without-mingle",
        "--without-gossip",
        # Unique per process: two workers on one host must not share a node name (the
        # second could not open its remote-control queue and would consume nothing).
        f"--hostname=spatialviz-{os.getpid()}@%h",
    ]
    if beat:
        argv += ["--beat", f"--schedule={settings.var_dir / 'celerybeat-schedule'}"]
    start_worker(settings, argv)


app.command("tile")(tile_command)


@app.command()
def demo(
    points: int = typer.Option(
        DEFAULT_POINTS, min=1_000, max=50_000_000, help="Points in the demo LiDAR cloud"
    ),
) -> None:
    """Create the demo account with a LiDAR scene and a 3D chart (idempotent)."""
    from spatialviz.demo.command import demo as make_demo

    make_demo(points)


@app.command()
def backup(
    output: Path = typer.Argument(..., help="The encrypted backup file to write"),
    force: bool = typer.Option(False, help="Replace OUTPUT if it exists"),
) -> None:
    """Back up the database and every blob, encrypted to SPATIALVIZ_BACKUP_RECIPIENTS (age)."""
    from spatialviz.kit.resources import storage_from_settings
    from spatialviz.ops.backup import BackupError, write_backup

    settings = _settings()
    with _one_line_on(BackupError, "spatialviz backup"):
        manifest = write_backup(settings, storage_from_settings(settings), output, force=force)
    typer.echo(f"wrote {output}: database + {len(manifest['blobs'])} blobs, encrypted")


@app.command()
def restore(
    source: Path = typer.Argument(..., help="A file written by `spatialviz backup`"),
    force: bool = typer.Option(False, help="Restore even into a non-empty database/storage"),
) -> None:
    """Restore a backup into the configured (empty) database and storage.

    Needs SPATIALVIZ_BACKUP_IDENTITY (the age secret key) in the environment."""
    from spatialviz.kit.resources import storage_from_settings
    from spatialviz.ops.backup import BackupError, restore_backup

    settings = _settings()
    with _one_line_on(BackupError, "spatialviz restore"):
        manifest = restore_backup(settings, storage_from_settings(settings), source, force=force)
    typer.echo(f"restored {source}: database + {len(manifest['blobs'])} blobs (sha256 checked)")


@contextmanager
def _one_line_on(error: type[Exception], command: str) -> Iterator[None]:
    """An expected refusal is one line on stderr and exit status 2, never a traceback."""
    try:
        yield
    except error as exc:
        typer.echo(f"{command}: {exc}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    try:
        app()
    except Exception as exc:
        from spatialviz.config import ConfigError

        if not isinstance(exc, ConfigError):
            raise
        print(f"spatialviz: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
