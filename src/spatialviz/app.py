"""The application factory: routers, middleware, error rendering and the lifespan that
owns every resource."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from spatialviz import __version__
from spatialviz.annotations.endpoints import router as annotations_router
from spatialviz.api_docs import install_api_docs
from spatialviz.auth import grants
from spatialviz.auth.endpoints import router as auth_router
from spatialviz.auth.passwords import configure_password_hashing
from spatialviz.config import Settings
from spatialviz.dataset.endpoints import router as dataset_router
from spatialviz.dataset.upload_endpoints import router as upload_router
from spatialviz.dataset.uploads import sweep_uploads_forever
from spatialviz.job.dispatch import start_jobs
from spatialviz.job.endpoints import router as job_router
from spatialviz.job.leftovers import sweep_leftovers
from spatialviz.kit.bodylimit import BodyLimitMiddleware, BodyLimits
from spatialviz.kit.compression import GzipMiddleware
from spatialviz.kit.errors import install_error_handlers
from spatialviz.kit.logging import configure_logging
from spatialviz.kit.middleware import HttpMetrics, RequestContextMiddleware
from spatialviz.kit.openapi import install_openapi
from spatialviz.kit.replica import ReplicaFallbackMiddleware
from spatialviz.kit.resources import Resources, open_resources
from spatialviz.kit.security import SecurityHeadersMiddleware
from spatialviz.kit.sweep import sweep_temporary_forever
from spatialviz.ops.endpoints import router as ops_router
from spatialviz.ops.exposition import install_metrics
from spatialviz.realtime.endpoints import router as realtime_router
from spatialviz.scene import delivery
from spatialviz.scene.endpoints import router as scene_router
from spatialviz.scene.fastpath import SignedDeliveryFastPath
from spatialviz.styling.encoding import Encoding
from spatialviz.web import STATIC_DIR, mount_web_client
from spatialviz.workspace.audit_endpoints import router as audit_router
from spatialviz.workspace.endpoints import router as workspace_router

log = structlog.get_logger(__name__)
# Routes whose body is a file streamed to storage under max_upload_bytes.
STREAMED_UPLOADS = (("POST", "/api/v1/datasets"), ("PATCH", "/api/v1/uploads/"))
# Never gzipped: the tus protocol's answers are headers (and tus clients read them raw).
UNCOMPRESSED_PREFIXES = ("/api/v1/uploads",)
# The caches the signed fast path lives on: their hit ratio is on the dashboard.
COUNTED_CACHES = (delivery.CACHE_NAMESPACE, grants.CACHE_NAMESPACE)


def _engines(app: FastAPI) -> dict[str, AsyncEngine]:
    """The engines whose pools /metrics reports: none before the lifespan opened them."""
    resources: Resources | None = getattr(app.state, "resources", None)
    if resources is None:
        return {}
    engines = {"primary": resources.engine}
    if resources.replica is not None:
        engines["replica"] = resources.replica.replica_engine
    return engines


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.validate_for_startup()
    configure_logging(settings.effective_log_format, settings.log_level)
    configure_password_hashing(settings.argon2_cost)
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = open_resources(settings, registry, counted_caches=COUNTED_CACHES)
        app.state.resources = resources
        supervisor = await start_jobs(resources)
        sweeper = asyncio.create_task(sweep_uploads_forever(resources), name="upload-sweeper")
        tmp_sweeper = asyncio.create_task(
            sweep_temporary_forever(
                resources.storage,
                settings.storage_tmp_max_age_seconds,
                settings.storage_sweep_interval_seconds,
                also=functools.partial(sweep_leftovers, settings, resources.sessions),
            ),
            name="storage-tmp-sweeper",
        )
        live_pools = app.state.exposition.live_pools
        pool_sampler = None
        if live_pools is not None:
            live_pools.sample()  # before the first request, so a scrape sees this worker
            pool_sampler = asyncio.create_task(live_pools.sample_forever(), name="pool-gauges")
        log.info("started", env=settings.env, database=resources.engine.dialect.name)
        try:
            yield
        finally:
            sweeper.cancel()
            tmp_sweeper.cancel()
            if pool_sampler is not None:
                pool_sampler.cancel()
            await supervisor.aclose()
            await resources.aclose()

    app = FastAPI(
        title="Spatialviz API",
        version=__version__,
        summary="Spatial datasets in, level-of-detail 3D Tiles out.",
        lifespan=lifespan,
        # Not public in production unless asked for (issue 16): the schema maps every route.
        openapi_url="/openapi.json" if settings.docs_on else None,
        docs_url=None,  # served by api_docs from local assets, under the same condition
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.exposition = install_metrics(registry, functools.partial(_engines, app))
    install_error_handlers(app)
    # A scene's encoding is validated against the dataset's columns in code; its shape (and
    # the colormap names) is published for the web client's generated types.
    install_openapi(app, published=[Encoding])
    # Added inner to outer: the body bound runs after CORS; headers and request ids wrap
    # every response, errors included, the signed fast path's too.
    app.add_middleware(SignedDeliveryFastPath, registry=registry)
    if settings.gzip_responses:
        # Just outside the fast path, so its tileset.json is compressed too; its tiles are
        # not a compressible type and pass with one look at their headers.
        app.add_middleware(GzipMiddleware, excluded_prefixes=UNCOMPRESSED_PREFIXES)
    if settings.database_replica_url is not None:
        # Inside the access log and metrics: a GET replayed on the primary counts once.
        app.add_middleware(ReplicaFallbackMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        limits=BodyLimits(
            max_bytes=settings.max_json_body_bytes,
            max_streamed_bytes=settings.max_upload_bytes,
            idle_timeout=settings.request_body_idle_timeout_seconds,
            min_rate=settings.request_body_min_rate_bytes,
            rate_grace=settings.request_body_rate_grace_seconds,
        ),
        streamed=STREAMED_UPLOADS,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-Request-ID",
                "Tus-Resumable",
                "Upload-Length",
                "Upload-Offset",
                "Upload-Metadata",
            ],
            expose_headers=["X-Request-ID", "Retry-After", "Location", "Upload-Offset"],
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware, metrics=HttpMetrics(registry))
    app.include_router(ops_router)
    app.include_router(auth_router)
    app.include_router(workspace_router)
    app.include_router(audit_router)
    app.include_router(dataset_router)
    app.include_router(upload_router)
    app.include_router(job_router)
    app.include_router(realtime_router)
    app.include_router(scene_router)
    app.include_router(annotations_router)
    if settings.docs_on:
        install_api_docs(app, STATIC_DIR)
    # Last: the client's routes must never shadow an API route.
    mount_web_client(app, STATIC_DIR)
    return app
