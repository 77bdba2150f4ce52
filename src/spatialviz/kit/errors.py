"""Typed errors rendered once, as RFC 9457 application/problem+json."""

from __future__ import annotations

from typing import Any, NotRequired

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from typing_extensions import TypedDict  # pydantic reads InvalidField (before Python 3.12)

from spatialviz.kit.outages import Outage, outage_of

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://spatialviz.dev/problems/"

log = structlog.get_logger(__name__)


class InvalidField(TypedDict):
    """One input a request got wrong (``Problem.errors``)."""

    field: str
    message: str
    type: NotRequired[str]


class Problem(BaseModel):
    """RFC 9457 problem details, as documented in the OpenAPI spec."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str | None = None
    errors: list[InvalidField] | None = None


class SpatialvizError(Exception):
    """Base for every error a client may see. Subclasses set status, code and title."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        if code is not None:
            self.code = code

    def invalid_fields(self) -> list[InvalidField] | None:
        """The request fields this error names (``Problem.errors``), if any."""
        return None


class NotFound(SpatialvizError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(SpatialvizError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unauthorized(SpatialvizError):
    status = 401
    code = "unauthorized"
    title = "Not authenticated"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ):
        super().__init__(
            detail, headers={"WWW-Authenticate": "Bearer", **(headers or {})}, code=code
        )


class Forbidden(SpatialvizError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class PayloadTooLarge(SpatialvizError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnprocessableEntity(SpatialvizError):
    status = 422
    code = "unprocessable"
    title = "Unprocessable content"


class TooManyRequests(SpatialvizError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


class ServiceUnavailable(SpatialvizError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"


def problem_body(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    code: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The one place a problem+json body is shaped, for the app's error handlers and for
    the ASGI middleware that answers before the app runs."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_BASE}{code}" if code else "about:blank",
        "title": title,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if code is not None:
        body["code"] = code
    if instance is not None:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    code: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(status, title, detail, code=code, instance=instance, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_STATUS_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def status_title(status: int) -> str:
    return _STATUS_TITLES.get(status, "Error")


def _validation_errors(exc: RequestValidationError) -> list[InvalidField]:
    out: list[InvalidField] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": err.get("msg", ""), "type": err["type"]})
    return out


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's 405 names only the first
    matching route's methods, and FastAPI makes one route per method."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SpatialvizError)
    async def _domain(request: Request, exc: SpatialvizError) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            code=exc.code,
            instance=request.url.path,
            headers=exc.headers,
            errors=exc.invalid_fields(),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _STATUS_TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem_response(
            exc.status_code,
            title,
            detail,
            code=title.lower().replace(" ", "_"),
            instance=request.url.path,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        fields = ", ".join(e["field"] for e in errors[:5])
        return problem_response(
            422,
            "Unprocessable content",
            f"Invalid request: {fields}" if fields else "Invalid request",
            code="validation_error",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return await _fault_response(request, exc)

    # Errors a dependency's client raises are answered here (Starlette's exception
    # middleware), not by the catch-all above, which re-raises into the server's log.
    for fault_class in _dependency_error_classes():
        app.add_exception_handler(fault_class, _fault_response)
    app.add_exception_handler(ClientDisconnect, _client_gone)


async def _fault_response(request: Request, exc: Exception) -> JSONResponse:
    """503 + Retry-After naming the dependency when one is down; 500 otherwise."""
    outage = outage_of(exc)
    if outage is not None:
        log.warning("dependency_unavailable", dependency=outage.dependency, error=repr(exc)[:300])
        return outage_response(outage, instance=request.url.path)
    # The client never sees a stack trace; the log has it, tied to the request id.
    log.exception("unhandled_error", path=request.url.path)
    return problem_response(
        500,
        "Internal server error",
        "An unexpected error occurred; it has been logged.",
        code="internal_error",
        instance=request.url.path,
    )


def outage_response(outage: Outage, *, instance: str | None = None) -> JSONResponse:
    return problem_response(
        503,
        "Service unavailable",
        outage.detail,
        code="dependency_unavailable",
        instance=instance,
        headers={"Retry-After": str(outage.retry_after)},
        dependency=outage.dependency,
    )


# An exception handler's signature is Starlette's; the exception says nothing more here.
async def _client_gone(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
    # The client hung up mid-body: nobody reads this answer, and it is not our fault.
    log.info("client_disconnected", path=request.url.path)
    return problem_response(
        400, "Bad request", "The client disconnected.", code="client_disconnected"
    )


def _dependency_error_classes() -> list[type[Exception]]:
    import asyncpg
    import redis.exceptions
    import sqlalchemy.exc

    classes: list[type[Exception]] = [
        sqlalchemy.exc.SQLAlchemyError,
        redis.exceptions.RedisError,
        asyncpg.PostgresError,
        OSError,
    ]
    try:
        import botocore.exceptions
        import kombu.exceptions

        classes += [kombu.exceptions.KombuError, botocore.exceptions.BotoCoreError]
    except ImportError:  # pragma: no cover - both ship with the default install
        pass
    return classes


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries declaring the problem statuses a route can return."""
    return {
        status: {
            "model": Problem,
            "description": _STATUS_TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {}},
        }
        for status in statuses
    }
