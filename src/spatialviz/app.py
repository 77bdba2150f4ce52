"""The application factory: routers, middleware, error rendering and the lifespan that
owns every resource."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from spatialviz import __version__
from spatialviz.config import Settings
from spatialviz.job.dispatch import start_jobs
from spatialviz.kit.errors import install_error_handlers
from spatialviz.kit.logging import configure_logging
from spatialviz.kit.middleware import HttpMetrics, RequestContextMiddleware
from spatialviz.kit.resources import open_resources
from spatialviz.ops.endpoints import router as ops_router

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.validate_for_startup()
    configure_logging(settings.effective_log_format, settings.log_level)
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = open_resources(settings, registry)
        app.state.resources = resources
        supervisor = await start_jobs(resources)
        log.info("started", env=settings.env, database=resources.engine.dialect.name)
        try:
            yield
        finally:
            await supervisor.aclose()
            await resources.aclose()

    app = FastAPI(
        title="Spatialviz API",
        version=__version__,
        summary="Spatial datasets in, level-of-detail 3D Tiles out.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=HttpMetrics(registry))
    app.include_router(ops_router)
    return app
