"""The configuration the stack gives its API servers and workers, its generated secrets, and
the checks that refuse, in one line naming the setting, a configuration that cannot work."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from spatialviz.config import ConfigError, Settings
from spatialviz.stack.layout import (
    AMQP_PORT,
    BROKER,
    CACHE,
    DEPLOY,
    EDGE,
    MONITOR,
    POSTGRES_PORT,
    PRIMARY,
    REDIS_PORT,
    REPLICA,
)

#: The Debian packages each tier runs, by the program the stack calls.
PROGRAMS = {
    "ip": "iproute2",
    "nginx": "nginx",
    "redis-server": "redis-server",
    "prometheus": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
}
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
RABBITMQCTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
SECRET_NAMES = ("secret_key", "db_password", "replication_password", "redis_password",
                "amqp_password")  # fmt: skip


class Refused(RuntimeError):
    """A configuration that cannot work; the message is one line naming the setting."""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    ca: Path | None  # None: the operator's own certificate, trusted their own way


def own_tls_files() -> tuple[Path, Path] | None:
    """``SPATIALVIZ_STACK_TLS_CERT`` and ``SPATIALVIZ_STACK_TLS_KEY``: an operator's own
    certificate instead of the CA made at start. Both or neither; both must exist."""
    cert = os.environ.get("SPATIALVIZ_STACK_TLS_CERT")
    key = os.environ.get("SPATIALVIZ_STACK_TLS_KEY")
    if not cert and not key:
        return None
    for name, value in (("SPATIALVIZ_STACK_TLS_CERT", cert), ("SPATIALVIZ_STACK_TLS_KEY", key)):
        if not value:
            raise Refused(f"{name} is not set: give both the certificate and its key, or neither")
        if not Path(value).is_file():
            raise Refused(f"{name}={value}: no such file")
    assert cert is not None
    assert key is not None
    return Path(cert), Path(key)


def check_machine() -> None:
    if os.geteuid() != 0:
        raise Refused("make stack needs root (it creates network namespaces): run it as root")
    for program, package in PROGRAMS.items():
        if shutil.which(program, path="/usr/sbin:/usr/bin:/sbin:/bin") is None:
            raise Refused(f"{program} not found: apt-get install {package}")
    if not RABBITMQ_SERVER.exists():
        raise Refused("rabbitmq-server not found: apt-get install rabbitmq-server")
    if not pg_bin().joinpath("initdb").exists():
        raise Refused("PostgreSQL's initdb not found: apt-get install postgresql")


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    return found[-1] if found else Path("/usr/lib/postgresql/15/bin")


def load_secrets(folder: Path) -> dict[str, str]:
    """Random secrets made once per state folder (0600 files), kept so that data made by
    one run still opens in the next."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    values = {}
    for name in SECRET_NAMES:
        path = folder / name
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(32))
        values[name] = path.read_text().strip()
    return values


def app_environment(state: Path, secret: dict[str, str]) -> dict[str, str]:
    """What every API server and worker runs with. The caller's own SPATIALVIZ_* variables
    (other than SPATIALVIZ_STACK_*) override these, so a setting can be tried on the stack."""
    db = secret["db_password"]
    env = {
        "SPATIALVIZ_ENV": "production",
        "SPATIALVIZ_SECRET_KEY": secret["secret_key"],
        "SPATIALVIZ_VAR_DIR": str(state / "app"),
        "SPATIALVIZ_DATABASE_URL": (
            f"postgresql+asyncpg://spatialviz:{db}@{PRIMARY.address('data')}:{POSTGRES_PORT}/spatialviz"
        ),
        "SPATIALVIZ_DATABASE_REPLICA_URL": (
            f"postgresql+asyncpg://spatialviz:{db}@{REPLICA.address('data')}:{POSTGRES_PORT}/spatialviz"
        ),
        "SPATIALVIZ_REDIS_URL": (
            f"redis://:{secret['redis_password']}@{CACHE.address('data')}:{REDIS_PORT}/0"
        ),
        "SPATIALVIZ_CELERY_BROKER_URL": (
            f"amqp://spatialviz:{secret['amqp_password']}@{BROKER.address('data')}:{AMQP_PORT}/spatialviz"
        ),
        "SPATIALVIZ_STORAGE_URL": f"file://{state / 'storage'}",
        "SPATIALVIZ_X_ACCEL_PREFIX": "/_blobs/",
        "SPATIALVIZ_TRUSTED_PROXIES": EDGE.address("front"),
        "SPATIALVIZ_METRICS_ALLOWED_IPS": MONITOR.address("metrics"),
        "SPATIALVIZ_LOG_FORMAT": "json",
    }
    overrides = {
        name: value
        for name, value in os.environ.items()
        if name.startswith("SPATIALVIZ_") and not name.startswith("SPATIALVIZ_STACK_")
    }
    env.update(overrides)
    base = {name: os.environ[name] for name in ("PATH", "LANG", "TZ") if name in os.environ}
    base["PATH"] = f"{Path(sys.executable).parent}:{base.get('PATH', '/usr/bin:/bin')}"
    return {**base, **env}


def overridden() -> list[str]:
    return sorted(
        name
        for name in os.environ
        if name.startswith("SPATIALVIZ_")
        and not name.startswith("SPATIALVIZ_STACK_")
        and name.removeprefix("SPATIALVIZ_").lower() in Settings.model_fields
    )


def check_app_settings(env: dict[str, str]) -> None:
    """The app's own start-up checks on the stack's configuration (so a bad one is refused
    before anything starts), plus what production on the stack needs."""
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.startswith("SPATIALVIZ_")]:
            del os.environ[name]
        os.environ.update({k: v for k, v in env.items() if k.startswith("SPATIALVIZ_")})
        settings = Settings()
        settings.validate_for_startup()
    except ConfigError as error:
        raise Refused(str(error)) from None
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if settings.is_production and not settings.celery_broker_url:
        raise Refused(
            "SPATIALVIZ_CELERY_BROKER_URL is missing: production runs jobs on the Celery "
            "workers through RabbitMQ, not inside the API servers"
        )
    if not settings.database_url.startswith("postgresql"):
        raise Refused("SPATIALVIZ_DATABASE_URL must name PostgreSQL on the stack")
    if settings.redis_url is None:
        raise Refused("SPATIALVIZ_REDIS_URL is missing: two API servers must share Redis")


def deploy_file(*parts: str) -> Path:
    path = DEPLOY.joinpath(*parts)
    if not path.exists():
        raise Refused(f"{path} is missing: the stack runs the repository's deploy/ files")
    return path
