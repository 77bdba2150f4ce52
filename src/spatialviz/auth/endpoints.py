"""HTTP routes for identity: register, token (OAuth2 password flow), refresh, logout, me,
and API keys. Routes parse, call the service and shape the response; nothing else."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm

from spatialviz.auth import service
from spatialviz.auth.deps import (
    CurrentPrincipal,
    UserPrincipal,
    seconds_left,
)
from spatialviz.auth.exceptions import UserSessionRequired
from spatialviz.auth.repository import ApiKeyRepository
from spatialviz.auth.schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    MembershipOut,
    MeOut,
    MeWorkspace,
    RefreshIn,
    RegisteredOut,
    RegisterIn,
    TokenOut,
)
from spatialviz.kit.db import utcnow
from spatialviz.kit.deps import ResourcesDep, SessionDep, SettingsDep
from spatialviz.kit.errors import NotFound, problem_response, problem_responses
from spatialviz.kit.pagination import LimitQuery, Page
from spatialviz.kit.ratelimit import client_ip, limit_by_ip
from spatialviz.kit.tenancy import require_role
from spatialviz.models import ApiKey, Role

router = APIRouter(prefix="/api/v1", tags=["identity"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_register_limit = Depends(limit_by_ip("register", lambda s: s.rate_limit_auth))
_sign_in_limit = Depends(limit_by_ip("sign-in", lambda s: s.rate_limit_auth))
_refresh_limit = Depends(limit_by_ip("refresh", lambda s: s.rate_limit_auth))


def _token_out(pair: service.TokenPair) -> JSONResponse:
    body = TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )
    return JSONResponse(body.model_dump(), headers=NO_STORE)


@router.post(
    "/auth/register",
    status_code=201,
    response_model=RegisteredOut,
    dependencies=[_register_limit],
    summary="Create an account and its personal workspace",
    responses=problem_responses(409, 413, 422, 429),
)
async def register(
    body: RegisterIn, request: Request, session: SessionDep, settings: SettingsDep
) -> RegisteredOut:
    user, workspace = await service.register(
        session,
        settings,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        ip=client_ip(request),
    )
    return RegisteredOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        created_at=user.created_at,
        personal_workspace_id=workspace.id,
    )


@router.post(
    "/auth/token",
    response_model=TokenOut,
    dependencies=[_sign_in_limit],
    summary="Sign in (OAuth2 password flow; username is the email)",
    responses=problem_responses(401, 422, 429),
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    pair = await service.sign_in(
        session, settings, email=form.username, password=form.password, ip=client_ip(request)
    )
    if pair is None:
        # Returned, not raised: the failed attempt's audit event must be committed.
        return problem_response(
            401,
            "Not authenticated",
            "Incorrect email or password",
            code="invalid_credentials",
            instance=request.url.path,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return _token_out(pair)


@router.post(
    "/auth/refresh",
    response_model=TokenOut,
    dependencies=[_refresh_limit],
    summary="Exchange a refresh token for a new pair (the old one is spent)",
    responses=problem_responses(401, 422, 429),
)
async def refresh(
    body: RefreshIn, request: Request, session: SessionDep, resources: ResourcesDep
) -> Response:
    outcome = await service.refresh(
        session,
        resources.cache,
        resources.settings,
        refresh_token=body.refresh_token,
        ip=client_ip(request),
    )
    if isinstance(outcome, service.RefreshOutcome):
        # Returned, not raised: a reuse's revoked family and audit event must be committed.
        reused = outcome is service.RefreshOutcome.reused
        return problem_response(
            401,
            "Not authenticated",
            "This refresh token was already used; the session is revoked, sign in again"
            if reused
            else "The refresh token is invalid, expired or revoked",
            code="refresh_token_reused" if reused else "invalid_refresh_token",
            instance=request.url.path,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return _token_out(outcome)


@router.post(
    "/auth/logout",
    status_code=204,
    summary="Revoke this access token and its refresh-token family",
    responses=problem_responses(401, 403),
)
async def logout(
    principal: UserPrincipal, request: Request, session: SessionDep, resources: ResourcesDep
) -> Response:
    await service.sign_out(
        session,
        resources.cache,
        resources.settings,
        principal,
        seconds_left=seconds_left(principal),
        ip=client_ip(request),
    )
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, summary="Who am I", responses=problem_responses(401))
async def me(principal: CurrentPrincipal, session: SessionDep) -> MeOut:
    user = await service.current_user(session, principal)
    reachable = await service.reachable_workspaces(session, principal)
    workspaces = sorted(
        (
            MeWorkspace(id=w.id, name=w.name, role=principal.roles[w.id], is_personal=w.is_personal)
            for w in reachable
        ),
        key=lambda w: (not w.is_personal, w.name.lower()),
    )
    return MeOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        created_at=user.created_at,
        last_sign_in_at=user.last_sign_in_at,
        memberships=[
            MembershipOut(workspace_id=ws, role=role) for ws, role in principal.roles.items()
        ],
        api_key_id=principal.api_key_id,
        workspaces=workspaces,
    )


# API keys ------------------------------------------------------------------------------


async def _owned_api_key(
    key_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> ApiKey:
    key = await ApiKeyRepository(session).get(principal, key_id, Role.owner)
    if key is None or key.revoked_at is not None:
        raise NotFound("API key not found")
    if principal.is_api_key:
        raise UserSessionRequired()
    return key


ApiKeyOwned = Annotated[ApiKey, Depends(_owned_api_key)]


@router.get(
    "/api-keys",
    response_model=Page[ApiKeyOut],
    tags=["api keys"],
    summary="Active API keys of the workspaces you own",
    responses=problem_responses(401, 403),
)
async def list_api_keys(
    principal: UserPrincipal,
    session: SessionDep,
    workspace_id: uuid.UUID | None = None,
    limit: LimitQuery = 100,
) -> Page[ApiKeyOut]:
    keys = await service.list_api_keys(session, principal, workspace_id=workspace_id, limit=limit)
    return Page[ApiKeyOut](items=[ApiKeyOut.model_validate(k) for k in keys])


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreatedOut,
    tags=["api keys"],
    summary="Create an API key for one workspace and role (the key is shown once)",
    responses=problem_responses(401, 403, 404, 422),
)
async def create_api_key(
    body: ApiKeyIn, principal: UserPrincipal, request: Request, session: SessionDep
) -> JSONResponse:
    require_role(principal, body.workspace_id, Role.owner)
    expires_at = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    key, full = await service.create_api_key(
        session,
        principal,
        workspace_id=body.workspace_id,
        name=body.name,
        role=body.role,
        expires_at=expires_at,
        ip=client_ip(request),
    )
    out = ApiKeyCreatedOut.model_validate({**_key_fields(key), "key": full})
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers=NO_STORE)


def _key_fields(key: ApiKey) -> dict[str, Any]:
    return ApiKeyOut.model_validate(key).model_dump()


@router.delete(
    "/api-keys/{key_id}",
    status_code=204,
    tags=["api keys"],
    summary="Revoke an API key",
    responses=problem_responses(401, 403, 404),
)
async def revoke_api_key(
    key: ApiKeyOwned,
    principal: UserPrincipal,
    request: Request,
    session: SessionDep,
    resources: ResourcesDep,
) -> Response:
    await service.revoke_api_key(session, resources.cache, principal, key, ip=client_ip(request))
    return Response(status_code=204)
