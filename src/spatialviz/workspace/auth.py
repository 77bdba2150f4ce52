"""Typed loading dependencies: a route's signature says which role it needs. They run
before the body is read and answer 404 for a workspace the caller is not in."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from spatialviz.auth.deps import CurrentPrincipal
from spatialviz.kit.deps import SessionDep
from spatialviz.kit.errors import NotFound
from spatialviz.kit.tenancy import Principal, require_role
from spatialviz.models import Role, Workspace
from spatialviz.workspace.repository import WorkspaceRepository


def _loader(
    needed: Role,
) -> Callable[[uuid.UUID, Principal, SessionDep], Awaitable[Workspace]]:
    async def load(
        workspace_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
    ) -> Workspace:
        require_role(principal, workspace_id, needed)
        workspace = await WorkspaceRepository(session).get(principal, workspace_id, needed)
        if workspace is None:
            raise NotFound("Workspace not found")
        return workspace

    return load


WorkspaceReadable = Annotated[Workspace, Depends(_loader(Role.viewer))]
WorkspaceEditable = Annotated[Workspace, Depends(_loader(Role.editor))]
WorkspaceOwned = Annotated[Workspace, Depends(_loader(Role.owner))]
