"""Access tokens (signed JWTs), refresh tokens and API keys (opaque, stored hashed).

Access tokens are signed with an asymmetric key (Ed25519 → EdDSA, or P-256 → ES256) from
the key set in settings; each token names its key in the ``kid`` header. Verification
accepts only the algorithm that belongs to the named key, so ``alg: none`` and HS256
tokens "signed" with a public key are refused before any signature is computed.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pydantic import SecretStr

from spatialviz.config import JwtKey, Settings
from spatialviz.kit import keyring

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105
REFRESH_TOKEN_PREFIX = "svr_"  # noqa: S105
API_KEY_PREFIX = "svk_"
API_KEY_VISIBLE_CHARS = 8
REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "jti", "sid")

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


class InvalidToken(Exception):
    """The token is not one we issued, or no longer valid; the message is for logs."""


@dataclass(frozen=True)
class VerifyingKey:
    kid: str
    algorithm: str
    public_key: PublicKey


@dataclass(frozen=True)
class KeySet:
    signing_kid: str
    signing_algorithm: str
    signing_key: PrivateKey
    verifying: dict[str, VerifyingKey]


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    token_id: str
    session_id: uuid.UUID
    expires_at: int


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    token_id: str
    expires_in: int


def _algorithm(key: PrivateKey | PublicKey) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError(f"unsupported elliptic curve {key.curve.name}; use Ed25519 or P-256")


def _load(entry: JwtKey) -> tuple[PrivateKey | None, PublicKey]:
    private: PrivateKey | None = None
    if entry.private_key is not None:
        loaded = serialization.load_pem_private_key(
            entry.private_key.get_secret_value().encode(), password=None
        )
        if not isinstance(loaded, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"JWT key {entry.kid!r}: use an Ed25519 or P-256 key")
        private = loaded
        public: Any = loaded.public_key()
    else:
        assert entry.public_key is not None
        public = serialization.load_pem_public_key(entry.public_key.encode())
    if not isinstance(public, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise ValueError(f"JWT key {entry.kid!r}: use an Ed25519 or P-256 key")
    return private, public


@lru_cache(maxsize=16)
def _build_key_set(entries: tuple[JwtKey, ...], signing_kid: str) -> KeySet:
    verifying: dict[str, VerifyingKey] = {}
    signing: PrivateKey | None = None
    for entry in entries:
        private, public = _load(entry)
        verifying[entry.kid] = VerifyingKey(entry.kid, _algorithm(public), public)
        if entry.kid == signing_kid:
            signing = private
    assert signing is not None  # Settings.jwt_key_set checked it
    return KeySet(signing_kid, _algorithm(signing), signing, verifying)


def key_set(settings: Settings, *, now: float | None = None) -> KeySet:
    """The keys that sign and verify now: from the key file when ``spatialviz keys rotate``
    wrote one (re-read when it changes), else from the configuration."""
    configured, signing_kid = settings.jwt_key_set
    ring = keyring.current(settings)
    if ring is None or not ring.jwt:
        return _build_key_set(tuple(configured), signing_kid)
    moment = time.time() if now is None else now
    by_kid = {k.kid: k for k in configured}
    entries: list[JwtKey] = []
    for entry in ring.jwt:
        if not entry.verifies_at(moment):
            continue  # retired: its tokens have all expired
        if entry.material is not None:
            entries.append(JwtKey(kid=entry.kid, private_key=SecretStr(entry.material)))
        elif entry.public_key is not None:
            entries.append(JwtKey(kid=entry.kid, public_key=entry.public_key))
        elif entry.kid in by_kid:
            entries.append(by_kid[entry.kid])
        else:
            raise keyring.KeyFileError(
                f"{keyring.keys_path(settings)}: JWT key {entry.kid!r} is in neither the key "
                "file nor SPATIALVIZ_JWT_KEYS"
            )
    signer = ring.signer("jwt", moment)
    if signer is None or not any(e.kid == signer.kid and e.private_key for e in entries):
        raise keyring.KeyFileError(f"{keyring.keys_path(settings)}: no JWT key signs now")
    return _build_key_set(tuple(entries), signer.kid)


def issue_access_token(
    settings: Settings, user_id: uuid.UUID, session_id: uuid.UUID, *, now: float | None = None
) -> IssuedAccessToken:
    issued = int(now if now is not None else time.time())
    keys = key_set(settings, now=issued)
    ttl = settings.access_token_ttl_seconds
    token_id = secrets.token_urlsafe(16)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + ttl,
        "jti": token_id,
        "sid": str(session_id),
    }
    token = jwt.encode(
        claims,
        keys.signing_key,
        algorithm=keys.signing_algorithm,
        headers={"kid": keys.signing_kid, "typ": ACCESS_TOKEN_TYPE},
    )
    return IssuedAccessToken(token, token_id, ttl)


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    keys = key_set(settings)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed token: {exc}") from None
    kid = header.get("kid")
    key = keys.verifying.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("unknown kid")
    if header.get("alg") != key.algorithm or header.get("typ") != ACCESS_TOKEN_TYPE:
        raise InvalidToken("unexpected alg or typ")
    try:
        claims = jwt.decode(
            token,
            key.public_key,
            algorithms=[key.algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": list(REQUIRED_CLAIMS)},
            leeway=5,
        )
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            token_id=str(claims["jti"]),
            session_id=uuid.UUID(claims["sid"]),
            expires_at=int(claims["exp"]),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(f"{type(exc).__name__}: {exc}") from None


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret; a slow hash is not needed for 256 random bits."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """(full key, visible prefix). The prefix identifies the key in lists and logs."""
    visible = secrets.token_hex(API_KEY_VISIBLE_CHARS // 2)
    prefix = API_KEY_PREFIX + visible
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def looks_like_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)
