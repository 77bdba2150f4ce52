"""Identity errors, each with its HTTP status (rendered as problem+json)."""

from __future__ import annotations

from spatialviz.kit.errors import (
    Conflict,
    Forbidden,
    InvalidField,
    Unauthorized,
    UnprocessableEntity,
)


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"

    def __init__(self, detail: str = "The credentials are not valid") -> None:
        super().__init__(detail)


class InvalidAccessToken(Unauthorized):
    code = "invalid_token"

    def __init__(self, detail: str = "The access token is invalid, expired or revoked") -> None:
        super().__init__(detail)


class MissingCredentials(Unauthorized):
    code = "missing_credentials"

    def __init__(self) -> None:
        super().__init__("Send Authorization: Bearer <access token or API key>")


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"

    def __init__(self, detail: str = "The refresh token is invalid, expired or revoked") -> None:
        super().__init__(detail)


class EmailAlreadyRegistered(Conflict):
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__("An account with this email already exists")


class WeakPassword(UnprocessableEntity):
    code = "weak_password"

    def __init__(self, reason: str) -> None:
        super().__init__(f"password {reason}")

    def invalid_fields(self) -> list[InvalidField]:
        return [{"field": "body.password", "message": self.detail}]


class UserSessionRequired(Forbidden):
    code = "user_session_required"

    def __init__(self) -> None:
        super().__init__("This action needs a signed-in user, not an API key")
