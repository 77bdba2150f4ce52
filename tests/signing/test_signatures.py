from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from spatialviz.signing.signatures import (
    Grant,
    GrantKind,
    SignatureError,
    SignatureExpired,
    SignatureInvalid,
    SignatureRevoked,
    authenticate,
    issue_share_token,
    sign,
    verify,
    verify_share_token,
)

SECRET = "s" * 32
SCENE = uuid.UUID("12345678-1234-5678-1234-567812345678")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)
MEMBER = Grant(GrantKind.member, uuid.UUID("87654321-4321-8765-4321-876543218765"))


def test_round_trip_and_url_safety() -> None:
    token = sign(SCENE, "read", LATER, SECRET, grant=MEMBER)
    assert len(token) < 100
    assert all(c.isalnum() or c in "-_." for c in token)
    grant = verify(token, SCENE, NOW, SECRET)
    assert grant.scope == "read"
    assert grant.expires_at == int(LATER.timestamp())
    assert grant.grant == MEMBER
    assert grant.share_id is None
    assert verify(token, str(SCENE), int(NOW.timestamp()), SECRET.encode()) == grant


def test_expired_is_distinct_from_tampered() -> None:
    token = sign(SCENE, "read", LATER, SECRET, grant=MEMBER)
    with pytest.raises(SignatureExpired):
        verify(token, SCENE, LATER, SECRET)
    later_exp = token.split(".")
    later_exp[1] = "zzzzzz"
    with pytest.raises(SignatureInvalid):
        verify(".".join(later_exp), SCENE, NOW, SECRET)
    with pytest.raises(SignatureInvalid):
        verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), SCENE, NOW, SECRET)
    with pytest.raises(SignatureInvalid):
        verify(token, uuid.uuid4(), NOW, SECRET)
    with pytest.raises(SignatureInvalid):
        verify(token, SCENE, NOW, "other-secret-" + "x" * 20)
    for junk in ["", "a.b", "read.1.0.-.", "x" * 500, "read.ZZ.0.-.abc", "read.1.0.-.0.abc"]:
        with pytest.raises(SignatureInvalid):
            verify(junk, SCENE, NOW, SECRET)
    assert issubclass(SignatureExpired, SignatureError)


def test_the_grant_cannot_be_swapped() -> None:
    """The grant is under the MAC: a signature minted from one member's access cannot be
    re-labelled as another grant (say, a share link that is still alive)."""
    token = sign(SCENE, "read", LATER, SECRET, grant=MEMBER)
    parts = token.split(".")
    parts[3] = "s" + uuid.uuid4().hex
    with pytest.raises(SignatureInvalid):
        authenticate(".".join(parts), SCENE, SECRET)


def test_scene_and_grant_generations_revoke() -> None:
    token = sign(
        SCENE, "read", LATER, SECRET, grant=Grant(GrantKind.member, MEMBER.id, 2), generation=3
    )
    assert verify(token, SCENE, NOW, SECRET, generation=3, grant_generation=2).generation == 3
    with pytest.raises(SignatureRevoked):  # re-tiled
        verify(token, SCENE, NOW, SECRET, generation=4, grant_generation=2)
    with pytest.raises(SignatureRevoked):  # role changed
        verify(token, SCENE, NOW, SECRET, generation=3, grant_generation=3)
    with pytest.raises(SignatureRevoked):  # member removed, key or link revoked, user disabled
        verify(token, SCENE, NOW, SECRET, generation=3, grant_generation=None)
    share = uuid.uuid4()
    shared = sign(SCENE, "read", LATER, SECRET, grant=Grant(GrantKind.share, share))
    assert verify(shared, SCENE, NOW, SECRET).share_id == share


def test_bad_inputs_to_sign() -> None:
    with pytest.raises(ValueError, match="scope"):
        sign(SCENE, "write", LATER, SECRET, grant=MEMBER)
    with pytest.raises(ValueError, match="16 bytes"):
        sign(SCENE, "read", LATER, "short", grant=MEMBER)
    with pytest.raises(ValueError, match="timezone"):
        sign(SCENE, "read", datetime(2026, 1, 1), SECRET, grant=MEMBER)


def test_share_tokens() -> None:
    share = uuid.uuid4()
    token = issue_share_token(share, SCENE, LATER, SECRET)
    got = verify_share_token(token, NOW, SECRET)
    assert (got.share_id, got.scene_id) == (share, SCENE)
    with pytest.raises(SignatureExpired):
        verify_share_token(token, LATER + timedelta(seconds=1), SECRET)
    with pytest.raises(SignatureRevoked):
        verify_share_token(token, NOW, SECRET, revoked_ids=frozenset({share}))
    other_scene = token.replace(SCENE.hex, uuid.uuid4().hex)
    with pytest.raises(SignatureInvalid):
        verify_share_token(other_scene, NOW, SECRET)
    # A tile signature is never accepted as a share token, nor the reverse.
    with pytest.raises(SignatureInvalid):
        verify_share_token(sign(SCENE, "read", LATER, SECRET, grant=MEMBER), NOW, SECRET)
    with pytest.raises(SignatureInvalid):
        verify(token, SCENE, NOW, SECRET)
