"""GET /livez, /readyz, /metrics."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from spatialviz.kit.deps import ResourcesDep
from spatialviz.kit.errors import NotFound, problem_response, problem_responses
from spatialviz.kit.ratelimit import client_ip
from spatialviz.ops.access import may_read_metrics
from spatialviz.ops.exposition import Exposition
from spatialviz.ops.service import CRITICAL, readiness

router = APIRouter(tags=["operations"])


@router.get("/livez", summary="The process is up")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database and storage are reachable (Redis down: 200, degraded)",
    responses=problem_responses(503),
)
async def readyz(resources: ResourcesDep) -> JSONResponse:
    checks = await readiness(resources)
    down = [name for name, result in checks.items() if result != "ok"]
    critical = [name for name in down if name in CRITICAL]
    if critical:
        return problem_response(
            503,
            "Service unavailable",
            f"Not ready: {', '.join(critical)} unreachable",
            code="not_ready",
            headers={"Retry-After": "5"},
            checks=checks,
        )
    status = "degraded" if down else "ok"
    return JSONResponse({"status": status, "degraded": down, "checks": checks})


@router.get(
    "/metrics",
    summary="Prometheus metrics (in production: the metrics token or an allowed address)",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(404),
    },
)
async def metrics(request: Request, resources: ResourcesDep) -> Response:
    if not may_read_metrics(
        resources.settings, client_ip(request), request.headers.get("authorization")
    ):
        # 404, not 401/403: the endpoint does not exist for the public.
        raise NotFound("Not Found")
    exposition: Exposition = request.app.state.exposition
    # Storage may be S3: read the backup record off the event loop.
    await anyio.to_thread.run_sync(exposition.backup.refresh, resources.storage)
    if exposition.live_pools is not None:
        exposition.live_pools.sample()  # this worker's pools as of now
    return Response(generate_latest(exposition.registry), media_type=CONTENT_TYPE_LATEST)
