"""The OpenAPI document, completed once for every route: errors as application/problem+json.

Routes declare only the statuses that belong to what they do (404, 409, ...). The statuses
that come from the stack every route runs through are added here, so no route can forget
them and a new one gets them for free:

- 500 for every operation (the catch-all handler in kit/errors.py);
- 503 for every /api operation (a dependency such as the database, Redis or the rate
  limiter's storage is unreachable);
- 401 and 429 for every operation that takes credentials (the API rate limit counts every
  authenticated call);
- 422 for every operation with parameters or a body (request validation);
- 400 and 413 for every operation with a JSON or form body (unparseable; over the limit).

Every error response, declared here or on a route, is documented as problem+json with the
``Problem`` schema and nothing else: FastAPI would otherwise list it as application/json.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from spatialviz.kit.errors import PROBLEM_JSON, Problem, status_title

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
BODY_MEDIA_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded"})
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

Operation = dict[str, Any]


def shared_error_statuses(path: str, operation: Operation) -> set[int]:
    """The error statuses an operation can return because of the stack it runs through."""
    statuses = {500}
    if path.startswith("/api/"):
        statuses.add(503)
    if operation.get("security"):
        statuses |= {401, 429}
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.add(422)
    body_types = set(operation.get("requestBody", {}).get("content", {}))
    if body_types & BODY_MEDIA_TYPES:
        statuses |= {400, 413}
    return statuses


def problem_response_object(status: int, declared: dict[str, Any] | None) -> dict[str, Any]:
    """An error response documented as problem+json only, keeping a route's own description
    and headers."""
    response = dict(declared or {})
    description = response.get("description")
    if not description or description in {"Validation Error", "Successful Response"}:
        response["description"] = status_title(status)
    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    return response


def complete_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared statuses to every operation and document every error as problem+json."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status in shared_error_statuses(path, operation):
                responses.setdefault(str(status), None)
            for key in list(responses):
                if key.isdigit() and int(key) >= 400:
                    responses[key] = problem_response_object(int(key), responses[key])
            operation["responses"] = dict(sorted(responses.items()))
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", Problem.model_json_schema(ref_template=_REF_TEMPLATE))
    # FastAPI's own validation-error shapes are never sent: 422s are problems too.
    for unused in ("HTTPValidationError", "ValidationError"):
        if not _is_referenced(schema, unused):
            schemas.pop(unused, None)
    return schema


_REF_TEMPLATE = "#/components/schemas/{model}"


def _is_referenced(node: Any, name: str) -> bool:
    target = f"#/components/schemas/{name}"
    if isinstance(node, dict):
        return node.get("$ref") == target or any(_is_referenced(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_is_referenced(v, name) for v in node)
    return False


def blob_responses(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries of a route that serves stored bytes: the whole file, one byte
    range of it, or 304 for a matching ETag."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    content = {media_type: binary for media_type in media_types}
    return {
        200: {"description": "The file", "content": content},
        206: {"description": "One byte range of the file (Range)", "content": content},
        304: {"description": "Not modified (If-None-Match)"},
    }


def publish_models(schema: dict[str, Any], models: Iterable[type[BaseModel]]) -> None:
    """Add models no route names to the document's components (with the models they use),
    so clients generated from it share their shapes and names."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        published = model.model_json_schema(ref_template=_REF_TEMPLATE)
        for name, definition in published.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas.setdefault(model.__name__, published)


def install_openapi(app: FastAPI, *, published: Iterable[type[BaseModel]] = ()) -> None:
    """Serve the completed document at ``app.openapi_url`` (built once, then cached);
    ``published`` models are added to its components (see publish_models)."""
    extra = tuple(published)

    build = app.openapi  # FastAPI's own generator, which caches in app.openapi_schema
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not completed:
            schema = complete_error_responses(build())
            publish_models(schema, extra)
            completed.append(schema)
        return completed[0]

    setattr(app, "openapi", openapi)  # noqa: B010 - FastAPI's documented override point


def operations(schema: dict[str, Any]) -> Iterable[tuple[str, str, Operation]]:
    """(path, METHOD, operation) for every operation in the document."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method.upper(), operation
