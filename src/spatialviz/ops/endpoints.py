"""GET /livez, /readyz, /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from spatialviz.kit.deps import ResourcesDep
from spatialviz.kit.errors import problem_response, problem_responses
from spatialviz.ops.service import readiness

router = APIRouter(tags=["operations"])


@router.get("/livez", summary="The process is up")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database, Redis and storage are reachable",
    responses=problem_responses(503),
)
async def readyz(resources: ResourcesDep) -> JSONResponse:
    checks = await readiness(resources)
    down = [name for name, result in checks.items() if result != "ok"]
    if down:
        return problem_response(
            503,
            "Service unavailable",
            f"Not ready: {', '.join(down)} unreachable",
            code="not_ready",
            checks=checks,
        )
    return JSONResponse({"status": "ok", "checks": checks})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(resources: ResourcesDep) -> Response:
    return Response(generate_latest(resources.registry), media_type=CONTENT_TYPE_LATEST)
