"""Request and response bodies for identity routes. Requests refuse unknown fields."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from spatialviz.auth.passwords import MAX_PASSWORD_LENGTH
from spatialviz.kit.names import Name
from spatialviz.models import Role


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class RegisterIn(StrictModel):
    email: EmailStr = Field(max_length=320)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    display_name: Name | None = Field(default=None, max_length=120)


class RefreshIn(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str
    created_at: datetime


class RegisteredOut(UserOut):
    personal_workspace_id: uuid.UUID


class MembershipOut(BaseModel):
    workspace_id: uuid.UUID
    role: Role


class MeWorkspace(BaseModel):
    id: uuid.UUID
    name: str
    role: Role
    is_personal: bool


class MeOut(UserOut):
    last_sign_in_at: datetime | None
    memberships: list[MembershipOut]
    workspaces: list[MeWorkspace] = Field(
        default_factory=list, description="The workspaces you can reach, personal first"
    )
    api_key_id: uuid.UUID | None = None


class ApiKeyIn(StrictModel):
    workspace_id: uuid.UUID
    name: Name = Field(min_length=1, max_length=120)
    role: Role = Role.viewer
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    prefix: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The full key. Shown once; store it now.")
