"""Forged, expired and misdirected access tokens are refused with 401; key rotation keeps
old tokens valid exactly as long as their kid stays in the key set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from spatialviz.app import create_app
from spatialviz.auth.tokens import key_set
from spatialviz.config import JwtKey, Settings
from spatialviz.kit.errors import PROBLEM_JSON
from tests.factories import bearer, register_and_sign_in


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact(header: dict[str, Any], payload: dict[str, Any], sign: Any) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _hs256(secret: bytes) -> Any:
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def _claims(settings: Settings, user_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": user_id,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "sid": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(settings: Settings, claims: dict[str, Any], **header: Any) -> str:
    keys = key_set(settings)
    return jwt.encode(
        claims,
        keys.signing_key,
        algorithm=keys.signing_algorithm,
        headers={"kid": keys.signing_kid, "typ": "at+jwt", **header},
    )


async def _status(client: httpx.AsyncClient, token: str) -> int:
    response = await client.get("/api/v1/me", headers=bearer(token))
    if response.status_code == 401:
        assert response.headers["content-type"] == PROBLEM_JSON
    return response.status_code


async def test_a_well_formed_token_from_our_key_is_accepted(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, _ = await register_and_sign_in(client)
    assert await _status(client, _sign(settings, _claims(settings, user["id"]))) == 200


FORGERIES = [
    "alg_none",
    "hs256_with_public_key",
    "hs256_with_other_secret",
    "hs256_with_app_secret",
    "expired",
    "wrong_audience",
    "wrong_issuer",
    "missing_exp",
    "missing_jti",
    "tampered_payload",
    "unknown_kid",
    "other_private_key_same_kid",
    "es256_key_not_in_set",
    "garbage",
]


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_forged_tokens_are_rejected(
    client: httpx.AsyncClient, settings: Settings, forgery: str
) -> None:
    user, _ = await register_and_sign_in(client)
    keys = key_set(settings)
    kid = keys.signing_kid
    claims = _claims(settings, user["id"])
    public_pem = keys.verifying[kid].public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forge = _forgeries(settings, user["id"], kid, claims, public_pem)
    token = forge.get(forgery, lambda: "not.a.jwt")()
    assert await _status(client, token) == 401


def _forgeries(
    settings: Settings, user_id: str, kid: str, claims: dict[str, Any], public_pem: bytes
) -> dict[str, Callable[[], str]]:
    """Each forgery by name: how an attacker would make the token."""
    now = int(time.time())
    hs256 = {"alg": "HS256", "typ": "at+jwt", "kid": kid}
    signed_as_us = {"kid": kid, "typ": "at+jwt"}

    def without(claim: str) -> str:
        return _sign(settings, {k: v for k, v in claims.items() if k != claim})

    def tampered_payload() -> str:
        head, _, sig = _sign(settings, claims).split(".")
        other = {**claims, "sub": str(uuid.uuid4())}
        return f"{head}.{_b64(json.dumps(other).encode())}.{sig}"

    return {
        "alg_none": lambda: _compact(
            {"alg": "none", "typ": "at+jwt", "kid": kid}, claims, lambda _: b""
        ),
        "hs256_with_public_key": lambda: _compact(hs256, claims, _hs256(public_pem)),
        "hs256_with_other_secret": lambda: _compact(
            hs256, claims, _hs256(b"another-secret-of-sufficient-length!!")
        ),
        "hs256_with_app_secret": lambda: _compact(hs256, claims, _hs256(settings.secret.encode())),
        "expired": lambda: _sign(
            settings, _claims(settings, user_id, iat=now - 3600, exp=now - 60)
        ),
        "wrong_audience": lambda: _sign(settings, _claims(settings, user_id, aud="someone-else")),
        "wrong_issuer": lambda: _sign(
            settings, _claims(settings, user_id, iss="https://evil.example")
        ),
        "missing_exp": lambda: without("exp"),
        "missing_jti": lambda: without("jti"),
        "tampered_payload": tampered_payload,
        "unknown_kid": lambda: _sign(settings, claims, kid="no-such-kid"),
        "other_private_key_same_kid": lambda: jwt.encode(
            claims, ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=signed_as_us
        ),
        "es256_key_not_in_set": lambda: jwt.encode(
            claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=signed_as_us
        ),
    }


def _pem(key: ed25519.Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key: ed25519.Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _with(settings: Settings, **updates: Any) -> Settings:
    # A fresh Settings (not model_copy): cached properties must not carry over.
    return Settings(**{**settings.model_dump(), **updates})


@asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_key_rotation_overlap_then_removal(settings: Settings) -> None:
    old = ed25519.Ed25519PrivateKey.generate()
    new = ed25519.Ed25519PrivateKey.generate()
    before = _with(settings, jwt_keys=[JwtKey(kid="k-old", private_key=_pem(old))])
    # Step 1 of the procedure: add the new key, keep the old one (verification only).
    overlap = _with(
        settings,
        jwt_keys=[
            JwtKey(kid="k-new", private_key=_pem(new)),
            JwtKey(kid="k-old", public_key=_public_pem(old)),
        ],
        jwt_active_kid="k-new",
    )
    # Step 2, once every old token has expired: remove the old key.
    after = _with(settings, jwt_keys=[JwtKey(kid="k-new", private_key=_pem(new))])

    async with _serving(before) as c:
        _, old_headers = await register_and_sign_in(c)
        assert jwt.get_unverified_header(old_headers["Authorization"][7:])["kid"] == "k-old"
        assert (await c.get("/api/v1/me", headers=old_headers)).status_code == 200

    async with _serving(overlap) as c:
        assert (await c.get("/api/v1/me", headers=old_headers)).status_code == 200
        _, new_headers = await register_and_sign_in(c)
        assert jwt.get_unverified_header(new_headers["Authorization"][7:])["kid"] == "k-new"
        assert (await c.get("/api/v1/me", headers=new_headers)).status_code == 200

    async with _serving(after) as c:
        assert (await c.get("/api/v1/me", headers=old_headers)).status_code == 401
        assert (await c.get("/api/v1/me", headers=new_headers)).status_code == 200
