"""All configuration, read once from SPATIALVIZ_* environment variables.

Embedded defaults need no configuration at all: SQLite, in-process cache and jobs, blobs in
``var/``. Production is the same code with real URLs, and refuses to start on unsafe secrets.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_MARKERS = frozenset({"", "changeme", "change-me", "secret", "dev", "development"})
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration cannot run safely; the message is one line that says why."""


class JwtKey(BaseModel):
    """One entry of the JWT key set. An entry with a private key can sign; an entry with
    only a public key verifies tokens it signed earlier (the rotation overlap window)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kid: str = Field(min_length=1, max_length=64)
    private_key: SecretStr | None = None
    public_key: str | None = None

    @model_validator(mode="after")
    def _has_a_key(self) -> JwtKey:
        if self.private_key is None and self.public_key is None:
            raise ValueError(f"JWT key {self.kid!r} has neither private_key nor public_key")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPATIALVIZ_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("var")

    database_url: str = ""
    database_echo: bool = False
    #: A PostgreSQL streaming replica for GET/HEAD reads (kit/replica.py); None: none.
    database_replica_url: str | None = None
    #: How long a caller who wrote stays on the primary (read-your-writes); longer than any
    #: replica lag we accept.
    database_replica_sticky_seconds: float = Field(default=10.0, ge=0)
    redis_url: str | None = None
    redis_timeout_seconds: float = 2.0
    storage_url: str = ""
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "us-east-1"

    secret_key: SecretStr | None = None
    log_format: Literal["console", "json"] | None = None
    log_level: str = "INFO"
    cors_origins: list[str] = Field(default_factory=list)
    cors_allow_credentials: bool = True
    #: Where users reach the web client (e.g. "https://viz.example.org"), for links the
    #: server hands out (share links). None: follow each request's own scheme and host
    #: (X-Forwarded-Proto believed only from ``trusted_proxies``).
    public_base_url: str | None = None

    # Identity and access (docs/security.md).
    jwt_keys: list[JwtKey] = Field(default_factory=list)
    #: The rotated keys (JWT and tile signing) written by ``spatialviz keys rotate``
    #: (kit/keyring.py, docs/operations.md "Key rotation"); default var/keys.json when it exists.
    keys_file: Path | None = None
    jwt_active_kid: str | None = None
    jwt_issuer: str = "spatialviz"
    jwt_audience: str = "spatialviz-api"
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=300)
    password_min_length: int = Field(default=10, ge=8)
    argon2_cost: Literal["standard", "fast-insecure"] = "standard"
    """Argon2id cost. ``standard`` (3 passes, 64 MiB): the only one allowed outside tests.
    ``fast-insecure`` (1 pass, 1 MiB) exists so a test suite that registers hundreds of users
    does not spend minutes hashing; every hash records its own cost, so hashes made under
    either profile verify under the other."""
    max_json_body_bytes: int = Field(default=1 << 20, ge=1024)
    """Bound on every request body except uploads', whatever its content type."""
    request_header_timeout_seconds: float = Field(default=30.0, gt=0)
    """A request's headers must be complete this long after its first byte (or after the
    connection opened), else 408 and the connection is closed (kit/slow_clients.py)."""
    request_body_idle_timeout_seconds: float = Field(default=30.0, gt=0)
    """A request body that stops arriving for this long is refused (408)."""
    request_body_min_rate_bytes: float = Field(default=1024.0, ge=0)
    request_body_rate_grace_seconds: float = Field(default=30.0, ge=0)
    """After the grace, a body averaging under min_rate bytes a second is refused (408)."""
    rate_limit_enabled: bool = True
    rate_limit_api: str = "600/minute"
    rate_limit_auth: str = "10/minute"
    #: Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or CIDR
    #: networks, e.g. ["10.0.0.5"]). None by default: a client cannot pick its own address
    #: (a fresh rate-limit bucket) by sending the header. Used by ``spatialviz serve``.
    #: A JSON list or comma-separated; host names are resolved when the server starts.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: /docs and /openapi.json. Default: on in development and tests, off in production.
    docs_enabled: bool | None = None
    #: /metrics in production answers only a request with ``Authorization: Bearer <token>``
    #: or from an address in ``metrics_allowed_ips``; nothing configured, nobody (404).
    metrics_token: SecretStr | None = None
    metrics_allowed_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Uploads and ingest: every limit a client could abuse is bounded here.
    max_upload_bytes: int = 50 * 1024**3
    upload_expiry_seconds: int = 24 * 3600
    storage_tmp_max_age_seconds: float = Field(default=3600.0, ge=0)
    """A temporary write untouched this long, and held by no live writer, is abandoned:
    the sweep (at start-up, then every storage_sweep_interval_seconds) removes it."""
    storage_sweep_interval_seconds: float = Field(default=600.0, gt=0)
    ingest_max_points: int = 2_000_000_000
    ingest_batch_rows: int = 1_000_000
    ingest_max_decompression_ratio: float = 200.0

    # Background jobs. "auto": Celery when a broker URL is configured, else the embedded
    # process pool. Celery's broker may be Redis (standalone or Sentinel) or RabbitMQ.
    jobs_backend: Literal["auto", "embedded", "celery"] = "auto"
    celery_broker_url: str | None = None
    celery_result_backend: str | None = None
    celery_sentinel_master: str | None = None
    jobs_embedded_workers: int = Field(default=2, ge=1, le=64)
    jobs_heartbeat_seconds: float = Field(default=2.0, gt=0)
    # When the reaper cannot see a worker's process (another host), work is taken from it
    # only after this long without a heartbeat: wide, because a busy machine delays the
    # heartbeats of live workers. A worker known to be alive is never robbed.
    jobs_stale_after_seconds: float = Field(default=300.0, gt=0)
    # A worker known to be gone (same host, its process has ended) loses its work once its
    # heartbeat is this old: lost parts are sent again in seconds.
    jobs_lost_after_seconds: float = Field(default=10.0, gt=0)
    # Worker losses (not failures) a job or one fan-out part may suffer before it fails
    # with ``worker_lost``: they do not count against a kind's max_attempts.
    jobs_max_worker_losses: int = Field(default=5, ge=1, le=100)
    jobs_reap_interval_seconds: float = Field(default=15.0, gt=0)
    jobs_requeue_after_seconds: float = Field(default=300.0, gt=0)
    jobs_progress_interval_seconds: float = Field(default=0.5, ge=0)
    jobs_max_attempts: int = Field(default=3, ge=1, le=20)
    jobs_visibility_timeout_seconds: int = Field(default=6 * 3600, gt=0)
    jobs_soft_time_limit_seconds: int = Field(default=3 * 3600, gt=0)
    jobs_hard_time_limit_seconds: int = Field(default=3 * 3600 + 300, gt=0)
    # Modules imported for their job kinds beyond the product's own (the tests' kinds),
    # as a JSON list: '["tests.job.kinds"]'.
    jobs_kind_modules: list[str] = Field(default_factory=list)

    # Scenes: tile delivery, share links, tiling and exports (docs/scenes.md).
    scene_signature_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    scene_share_link_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    scene_share_link_max_ttl_seconds: int = Field(default=90 * 24 * 3600, ge=60)
    scene_delivery_cache_seconds: float = Field(default=30.0, ge=0)
    #: How long a tile signature's grant state (membership, API key, share link) is cached.
    #: Revocations delete it at once; this bounds a lookup racing a revocation (issue 16).
    scene_grant_cache_seconds: float = Field(default=5.0, ge=0, le=5.0)
    #: When set and storage is local, tile bytes are handed to nginx with X-Accel-Redirect
    #: under this internal location (deploy/nginx/spatialviz.conf: "/_blobs/").
    x_accel_prefix: str | None = None
    #: Gzip JSON and other text responses in the API process (kit/compression.py). Off only
    #: behind a proxy or CDN that compresses them itself (with brotli, say): the precompressed
    #: web client is sent as it is either way.
    gzip_responses: bool = True
    scene_tiling_jobs: int = Field(default=1, ge=1, le=64)
    scene_tiling_max_chunk_points: int | None = Field(default=None, ge=1000)
    """Cap on points per chunk (chunks are the units spread over workers); default: derived
    from the memory budget."""
    tiling_work_dir: Path | None = None
    """Where a tiling job's chunk files live between its stages (default var/tiling). With
    Celery workers on several machines it must be a filesystem they all mount."""
    scene_tiling_memory_budget: int = Field(default=700 << 20, ge=64 << 20)
    scene_tiling_compression: Literal["none", "meshopt", "draco"] = "meshopt"
    """Tile content compression (docs/scenes.md, "Tile content"). ``meshopt`` (default):
    lossless, conformant, read by CesiumJS, cesium-native, three.js and Babylon.js;
    ``draco``: KHR_draco_mesh_compression on point primitives, which three.js and
    3DTilesRendererJS read and CesiumJS does not draw; ``none``: for viewers without either."""
    scene_export_budget_points: int = Field(default=50_000, ge=1, le=250_000)
    scene_query_max_scan_rows: int = Field(default=5_000_000, ge=1)

    @field_validator("trusted_proxies", "metrics_allowed_ips", mode="before")
    @classmethod
    def _address_list(cls, value: object) -> object:
        """``10.0.0.5,nginx`` or ``["10.0.0.5", "nginx"]`` from the environment."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / 'spatialviz.db'}"
        if not self.storage_url:
            self.storage_url = f"file://{(self.var_dir / 'storage').resolve()}"
        if "*" in self.cors_origins and self.cors_allow_credentials:
            raise ConfigError(
                "SPATIALVIZ_CORS_ORIGINS contains '*' while credentials are allowed; "
                "list the allowed origins explicitly"
            )
        if self.jobs_stale_after_seconds <= 2 * self.jobs_heartbeat_seconds:
            raise ConfigError(
                "SPATIALVIZ_JOBS_STALE_AFTER_SECONDS must exceed twice the heartbeat interval"
            )
        if _is_cluster_url(self.celery_broker_url) or (
            self.jobs_backend == "celery"
            and self.celery_broker_url is None
            and _is_cluster_url(self.redis_url)
        ):
            raise ConfigError(
                "SPATIALVIZ_CELERY_BROKER_URL: Celery cannot use a Redis Cluster as its broker; "
                "name RabbitMQ (amqp://) or a single Redis node"
            )
        if _is_sentinel_url(self.celery_broker_url):
            raise ConfigError(
                "SPATIALVIZ_CELERY_BROKER_URL: Celery names Sentinel its own way: "
                "sentinel://h1:26379;sentinel://h2:26379 with SPATIALVIZ_CELERY_SENTINEL_MASTER"
            )
        if self.jobs_backend == "celery" and self.broker_url is None:
            raise ConfigError(
                "SPATIALVIZ_JOBS_BACKEND=celery needs SPATIALVIZ_CELERY_BROKER_URL or "
                "SPATIALVIZ_REDIS_URL"
            )
        return self

    @property
    def broker_url(self) -> str | None:
        if self.celery_broker_url:
            return self.celery_broker_url
        if _is_cluster_url(self.redis_url) or _is_sentinel_url(self.redis_url):
            return None
        return self.redis_url

    @property
    def uses_celery(self) -> bool:
        if self.jobs_backend == "auto":
            return self.celery_broker_url is not None
        return self.jobs_backend == "celery"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def docs_on(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def effective_log_format(self) -> Literal["console", "json"]:
        if self.log_format is not None:
            return self.log_format
        # Readable lines are for a developer's terminal; everywhere else logs are JSON.
        return "console" if self.env == "development" else "json"

    @cached_property
    def secret(self) -> str:
        """The application secret. Production demands a strong one; development keeps a
        generated one in var/ so tokens survive restarts."""
        given = self.secret_key.get_secret_value() if self.secret_key else ""
        if self.is_production:
            if given.strip().lower() in DEFAULT_SECRET_MARKERS:
                raise ConfigError(
                    "SPATIALVIZ_SECRET_KEY is missing or a default value; production needs "
                    f"a random secret of at least {MIN_SECRET_LENGTH} characters"
                )
            if len(given) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    f"SPATIALVIZ_SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters"
                )
            return given
        if given:
            return given
        return _development_secret(self.var_dir)

    @cached_property
    def jwt_key_set(self) -> tuple[list[JwtKey], str]:
        """The configured JWT keys and the kid that signs. Without configured keys,
        development keeps a generated Ed25519 key in var/ like the secret, and production
        derives one from the secret key."""
        keys = list(self.jwt_keys)
        if not keys:
            # Production without a key set derives one from the (checked) secret, so every
            # process agrees without extra configuration; rotating it needs SPATIALVIZ_JWT_KEYS.
            keys = [
                _derived_jwt_key(self.secret)
                if self.is_production
                else _development_jwt_key(self.var_dir)
            ]
        kids = [k.kid for k in keys]
        if len(set(kids)) != len(kids):
            raise ConfigError("SPATIALVIZ_JWT_KEYS contains a kid twice")
        active = self.jwt_active_kid or next((k.kid for k in keys if k.private_key), None)
        signer = next((k for k in keys if k.kid == active), None)
        if signer is None or signer.private_key is None:
            raise ConfigError(
                f"SPATIALVIZ_JWT_ACTIVE_KID {active!r} names no key with a private key"
            )
        return keys, signer.kid

    def validate_for_startup(self) -> None:
        """Fail fast with one line when the configuration is unsafe."""
        _ = self.secret
        _ = self.jwt_key_set
        self._check_replica()
        if self.argon2_cost != "standard" and self.env != "test":
            raise ConfigError(
                "SPATIALVIZ_ARGON2_COST=fast-insecure is only allowed with SPATIALVIZ_ENV=test"
            )
        self._check_jobs_in_production()

    def _check_jobs_in_production(self) -> None:
        # Production runs jobs on Celery workers; falling back to a pool inside every API
        # process without being asked is how a forgotten broker setting would show up.
        if self.is_production and self.jobs_backend == "auto" and not self.celery_broker_url:
            raise ConfigError(
                "SPATIALVIZ_CELERY_BROKER_URL is missing: production runs jobs on Celery "
                "workers (set it to RabbitMQ), or say SPATIALVIZ_JOBS_BACKEND=embedded for "
                "a single host"
            )

    def _check_replica(self) -> None:
        replica = self.database_replica_url
        if replica is None:
            return
        if replica == self.database_url:
            raise ConfigError(
                "SPATIALVIZ_DATABASE_REPLICA_URL is the primary's URL: name the replica, or unset"
            )
        if self.uses_sqlite or not replica.startswith("postgresql"):
            raise ConfigError(
                "SPATIALVIZ_DATABASE_REPLICA_URL needs PostgreSQL for both primary and replica"
            )


def _is_cluster_url(url: str | None) -> bool:
    """``redis+cluster://`` (kit/redis_topology.py; not imported here: config imports no kit)."""
    return url is not None and url.split("://", 1)[0].lower() in ("redis+cluster", "rediss+cluster")


def _is_sentinel_url(url: str | None) -> bool:
    """``redis+sentinel://``: Celery cannot read it (its own form is ``sentinel://``)."""
    return url is not None and url.split("://", 1)[0].lower() in (
        "redis+sentinel",
        "rediss+sentinel",
    )


def _development_secret(var_dir: Path) -> str:
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _development_jwt_key(var_dir: Path) -> JwtKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = var_dir / "jwt_ed25519.pem"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        # link() never overwrites: when two processes start at once, the first key wins.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    return JwtKey(kid="dev-1", private_key=SecretStr(path.read_text()))


def _derived_jwt_key(secret: str) -> JwtKey:
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = hashlib.sha256(b"spatialviz-jwt-ed25519:" + secret.encode()).digest()
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return JwtKey(kid="derived-" + hashlib.sha256(public).hexdigest()[:8], private_key=pem)
