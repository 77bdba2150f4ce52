"""Short-lived tile URL signatures and share-link tokens, checked without a database.

Tile signature (``?sig=``), for one scene::

    <scope>.<expires, base36>.<generation, base36>.<share id or "-">.<mac>

``mac`` is HMAC-SHA256, truncated to 128 bits, over the scene id and every other field.
The scene id is not in the token (it is in the URL path) but is signed, so a token for one
scene never opens another. ``generation`` is a per-scene counter: bumping it revokes every
signature issued before. A signature minted for a share link carries the link id, so
revoking the link also kills its tile URLs.

Share token (the ``/s/<token>`` in a share URL)::

    <share id, 32 hex>.<scene id, 32 hex>.<expires, base36>.<mac>

Keys are derived per purpose from the application secret, so a tile signature can never be
replayed as a share token or the other way round.
"""

from __future__ import annotations

import base64
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


@dataclass(frozen=True)
class TileGrant:
    """What a verified tile signature allows."""

    scope: str
    expires_at: int
    generation: int
    share_id: uuid.UUID | None


def sign(
    scene_id: uuid.UUID | str,
    scope: str,
    expires_at: datetime | int,
    secret: str | bytes,
    *,
    generation: int = 0,
    share_id: uuid.UUID | str | None = None,
) -> str:
    """A compact URL-safe token granting ``scope`` on ``scene_id`` until ``expires_at``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    share = _uuid_hex(share_id) if share_id is not None else "-"
    body = f"{scope}.{_b36(_epoch(expires_at))}.{_b36(generation)}.{share}"
    mac = _mac(_subkey(secret, _TILE_PURPOSE), f"{_uuid_hex(scene_id)}|{body}")
    return f"{body}.{mac}"


def verify(
    token: str,
    scene_id: uuid.UUID | str,
    now: datetime | int | float,
    secret: str | bytes,
    *,
    generation: int = 0,
    revoked_share_ids: Collection[uuid.UUID] = (),
    scope: str = "read",
) -> TileGrant:
    """Check a tile signature; raise :class:`SignatureInvalid`, :class:`SignatureExpired` or
    :class:`SignatureRevoked`. ``generation`` is the scene's current revocation generation
    and ``revoked_share_ids`` the (cached) revoked share links — both from the caller."""
    parts = token.split(".")
    if len(parts) != 5 or len(token) > 200:
        raise SignatureInvalid("malformed signature")
    tok_scope, exp_text, gen_text, share_text, mac = parts
    try:
        scene_hex = _uuid_hex(scene_id)
    except ValueError:
        raise SignatureInvalid("bad scene id") from None
    body = ".".join(parts[:4])
    expected = _mac(_subkey(secret, _TILE_PURPOSE), f"{scene_hex}|{body}")
    if not hmac.compare_digest(expected, mac):
        raise SignatureInvalid("signature does not match")
    # Authentic from here on: the fields were written by us.
    expires_at, token_generation = _from_b36(exp_text), _from_b36(gen_text)
    share_id = None if share_text == "-" else uuid.UUID(hex=share_text)
    if tok_scope != scope:
        raise SignatureInvalid(f"signature is for scope {tok_scope!r}, not {scope!r}")
    if _epoch(now) >= expires_at:
        raise SignatureExpired("signature expired")
    if token_generation != generation:
        raise SignatureRevoked("signature was revoked")
    if share_id is not None and share_id in revoked_share_ids:
        raise SignatureRevoked("share link was revoked")
    return TileGrant(tok_scope, expires_at, token_generation, share_id)


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
