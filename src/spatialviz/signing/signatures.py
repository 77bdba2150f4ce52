"""Short-lived tile URL signatures and share-link tokens, checked without a database.

Tile signature (``?sig=``), for one scene's tile bytes only (tileset.json and its tiles)::

    <scope>.<expires, base36>.<scene generation, base36>.<grant>.<grant generation>.<mac>

``mac`` is HMAC-SHA256, truncated to 128 bits, over the scene id and every other field.
The scene id is not in the token (it is in the URL path) but is signed, so a token for one
scene never opens another. The scene generation is bumped when the scene is re-tiled.

``grant`` names the access the signature was minted from (issue 16: a signature is a
capability derived from a live grant, never a credential of its own): ``m<hex>`` a
workspace membership (bearer access), ``k<hex>`` an API key, ``s<hex>`` a share link. Its
generation is the grant's revocation counter at minting; the caller compares it with the
grant's current state (cached), so removing a member, lowering a role, disabling a user,
revoking a key or deleting a share link ends every signature minted from it.

Share token (the ``/s/<token>`` in a share URL)::

    <share id, 32 hex>.<scene id, 32 hex>.<expires, base36>.<mac>

Keys are derived per purpose from the application secret, so a tile signature can never be
replayed as a share token or the other way round.
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import hmac
import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

MAC_BYTES = 16
_TILE_PURPOSE = b"spatialviz/tile-signature/v1"
_SHARE_PURPOSE = b"spatialviz/share-token/v1"
SCOPES = frozenset({"read"})


class SignatureError(Exception):
    """Base class: the API maps every subclass to 403."""

    code = "signature_invalid"


class SignatureInvalid(SignatureError):
    """Malformed or tampered token, or one for another scene."""

    code = "signature_invalid"


class SignatureExpired(SignatureError):
    code = "signature_expired"


class SignatureRevoked(SignatureError):
    """The token is authentic and unexpired but its generation or share link was revoked."""

    code = "signature_revoked"


@functools.lru_cache(maxsize=16)  # one HMAC less per verified URL; a process has 1-2 secrets
def _subkey(secret: str | bytes, purpose: bytes) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    if len(raw) < 16:
        raise ValueError("the signing secret must be at least 16 bytes")
    return hmac.new(raw, purpose, hashlib.sha256).digest()


def _mac(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _epoch(moment: datetime | int | float) -> int:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("use timezone-aware datetimes")
        return int(moment.timestamp())
    return int(moment)


def _b36(n: int) -> str:
    if n < 0:
        raise ValueError("negative numbers cannot be encoded")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _from_b36(text: str) -> int:
    if not re.fullmatch(r"[0-9a-z]{1,13}", text):
        raise SignatureInvalid("malformed number in token")
    return int(text, 36)


def _uuid_hex(value: uuid.UUID | str) -> str:
    return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).hex


class GrantKind(enum.StrEnum):
    """What a tile signature's access derives from (one letter in the token)."""

    member = "m"
    api_key = "k"
    share = "s"


@dataclass(frozen=True)
class Grant:
    """The access a signature is minted from, and that access's revocation generation."""

    kind: GrantKind
    id: uuid.UUID
    generation: int = 0

    def encode(self) -> str:
        return f"{self.kind.value}{self.id.hex}"


@dataclass(frozen=True)
class TileGrant:
    """An authentic tile signature: what it allows, for how long, derived from what."""

    scope: str
    expires_at: int
    generation: int
    grant: Grant

    @property
    def share_id(self) -> uuid.UUID | None:
        return self.grant.id if self.grant.kind is GrantKind.share else None


def sign(
    scene_id: uuid.UUID | str,
    scope: str,
    expires_at: datetime | int,
    secret: str | bytes,
    *,
    grant: Grant,
    generation: int = 0,
) -> str:
    """A compact URL-safe token granting ``scope`` on ``scene_id`` until ``expires_at``, for
    as long as ``grant`` stays at its generation."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    body = ".".join(
        [
            scope,
            _b36(_epoch(expires_at)),
            _b36(generation),
            grant.encode(),
            _b36(grant.generation),
        ]
    )
    mac = _mac(_subkey(secret, _TILE_PURPOSE), f"{_uuid_hex(scene_id)}|{body}")
    return f"{body}.{mac}"


_GRANT = re.compile(r"([mks])([0-9a-f]{32})")


def authenticate(token: str, scene_id: uuid.UUID | str, secret: str | bytes) -> TileGrant:
    """The signature's fields once its MAC is proven for ``scene_id``; raise
    :class:`SignatureInvalid` otherwise. Needs nothing but the secret, so a forged token is
    refused the same way whether or not the scene exists."""
    parts = token.split(".")
    if len(parts) != 6 or len(token) > 200:
        raise SignatureInvalid("malformed signature")
    try:
        scene_hex = _uuid_hex(scene_id)
    except ValueError:
        raise SignatureInvalid("bad scene id") from None
    body = ".".join(parts[:5])
    expected = _mac(_subkey(secret, _TILE_PURPOSE), f"{scene_hex}|{body}")
    if not hmac.compare_digest(expected, parts[5]):
        raise SignatureInvalid("signature does not match")
    # Authentic from here on: the fields were written by us.
    scope, exp_text, gen_text, grant_text, grant_gen_text = parts[:5]
    grant_match = _GRANT.fullmatch(grant_text)
    if grant_match is None:
        raise SignatureInvalid("malformed grant")
    grant = Grant(
        GrantKind(grant_match.group(1)),
        uuid.UUID(hex=grant_match.group(2)),
        _from_b36(grant_gen_text),
    )
    return TileGrant(scope, _from_b36(exp_text), _from_b36(gen_text), grant)


def check_current(
    signed: TileGrant,
    now: datetime | int | float,
    *,
    generation: int,
    grant_generation: int | None,
    scope: str = "read",
) -> TileGrant:
    """Raise unless an authentic signature is still good: its scope, unexpired, the scene not
    re-tiled since (``generation``) and its grant alive at the same generation
    (``grant_generation``; None when the grant is gone)."""
    if signed.scope != scope:
        raise SignatureInvalid(f"signature is for scope {signed.scope!r}, not {scope!r}")
    if _epoch(now) >= signed.expires_at:
        raise SignatureExpired("signature expired")
    if signed.generation != generation:
        raise SignatureRevoked("the scene was re-tiled since this signature was made")
    if grant_generation is None or grant_generation != signed.grant.generation:
        raise SignatureRevoked("the access this signature was made from was revoked")
    return signed


def verify(
    token: str,
    scene_id: uuid.UUID | str,
    now: datetime | int | float,
    secret: str | bytes,
    *,
    generation: int = 0,
    grant_generation: int | None = 0,
    scope: str = "read",
) -> TileGrant:
    """:func:`authenticate` then :func:`check_current`."""
    signed = authenticate(token, scene_id, secret)
    return check_current(
        signed, now, generation=generation, grant_generation=grant_generation, scope=scope
    )


# --- share links -------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareToken:
    """A verified share link: read-only access to one scene until ``expires_at``."""

    share_id: uuid.UUID
    scene_id: uuid.UUID
    expires_at: int


def issue_share_token(
    share_id: uuid.UUID | str,
    scene_id: uuid.UUID | str,
    expires_at: datetime | int,
    secret: str | bytes,
) -> str:
    """The token to embed in a share URL (the share row itself lives in the database)."""
    body = f"{_uuid_hex(share_id)}.{_uuid_hex(scene_id)}.{_b36(_epoch(expires_at))}"
    return f"{body}.{_mac(_subkey(secret, _SHARE_PURPOSE), body)}"


def verify_share_token(
    token: str,
    now: datetime | int | float,
    secret: str | bytes,
    *,
    revoked_ids: Collection[uuid.UUID] = (),
) -> ShareToken:
    """Check a share token without a database query. ``revoked_ids`` is the caller's cached
    set of revoked share-link ids (refresh it on revoke via pub/sub)."""
    parts = token.split(".")
    if len(parts) != 4 or len(token) > 200:
        raise SignatureInvalid("malformed share token")
    body = ".".join(parts[:3])
    expected = _mac(_subkey(secret, _SHARE_PURPOSE), body)
    if not hmac.compare_digest(expected, parts[3]):
        raise SignatureInvalid("share token does not match")
    share = ShareToken(uuid.UUID(hex=parts[0]), uuid.UUID(hex=parts[1]), _from_b36(parts[2]))
    if _epoch(now) >= share.expires_at:
        raise SignatureExpired("share link expired")
    if share.share_id in revoked_ids:
        raise SignatureRevoked("share link was revoked")
    return share
