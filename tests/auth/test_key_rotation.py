"""JWT key rotation (``spatialviz keys rotate jwt``) with real tokens through the app: the
old key keeps verifying the tokens it signed until they have expired, the new key signs,
a key scheduled to sign later is verified already, and a retired key verifies nothing."""

from __future__ import annotations

import json
import stat
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from spatialviz.auth.tokens import ACCESS_TOKEN_TYPE, issue_access_token
from spatialviz.cli import app as cli
from spatialviz.config import Settings
from spatialviz.kit import keyring
from spatialviz.ops.keys import SKEW_SECONDS, retire_expired, rotate
from tests.factories import bearer, register_and_sign_in, sign_in


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


async def test_old_tokens_work_until_they_expire_new_ones_use_the_new_key(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, old_headers = await register_and_sign_in(client)
    old_token = old_headers["Authorization"].removeprefix("Bearer ")
    old_kid = _kid(old_token)

    report = rotate(settings, "jwt")
    assert report.new_kid is not None
    assert report.new_kid != old_kid
    assert [kid for kid, _ in report.stopped_signing] == [old_kid]

    # The running app reads the rotated file: the old token still works...
    assert (await client.get("/api/v1/me", headers=old_headers)).status_code == 200
    # ...and a new sign-in is signed by the new key, which verifies too.
    new_token = (await sign_in(client, user["email"]))["access_token"]
    assert _kid(new_token) == report.new_kid
    assert (await client.get("/api/v1/me", headers=bearer(new_token))).status_code == 200

    # Once every token of the old key has expired, retiring drops it: the old token (still
    # unexpired on the wall clock here) no longer verifies, the new one does.
    later = time.time() + settings.access_token_ttl_seconds + 5 + SKEW_SECONDS + 1
    retired = retire_expired(settings, now=later)
    assert retired.retired == [old_kid]
    refused = await client.get("/api/v1/me", headers=old_headers)
    assert refused.status_code == 401, refused.text
    assert (await client.get("/api/v1/me", headers=bearer(new_token))).status_code == 200


async def test_a_key_that_signs_later_is_verified_at_once(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """With several processes, the new key must be known everywhere before anyone signs
    with it: rotate --activate-in makes it verifiable now and signing later."""
    user, headers = await register_and_sign_in(client)
    old_kid = _kid(headers["Authorization"].removeprefix("Bearer "))
    report = rotate(settings, "jwt", activate_in_seconds=3600)
    assert _kid((await sign_in(client, user["email"]))["access_token"]) == old_kid

    # A token another process would sign with the new key once it is active.
    ring = keyring.read(keyring.keys_path(settings))
    entry = next(e for e in ring.jwt if e.kid == report.new_kid)
    assert entry.material is not None
    private = serialization.load_pem_private_key(entry.material.encode(), password=None)
    now = int(time.time())
    me = (await client.get("/api/v1/me", headers=headers)).json()
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": me["id"],
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "sid": str(uuid.uuid4()),
    }
    early = jwt.encode(
        claims,
        private,  # type: ignore[arg-type]
        algorithm="EdDSA",
        headers={"kid": report.new_kid, "typ": ACCESS_TOKEN_TYPE},
    )
    response = await client.get("/api/v1/me", headers=bearer(early))
    assert response.status_code == 200, response.text
    # And once active, this process signs with it.
    signed_later = issue_access_token(settings, uuid.uuid4(), uuid.uuid4(), now=now + 3601)
    assert _kid(signed_later.token) == report.new_kid


def test_key_file_private_and_old_key_material_never_copied(settings: Settings) -> None:
    """The first rotation names the configured key by kid: its private key stays where it
    was (var/jwt_ed25519.pem or SPATIALVIZ_JWT_KEYS) and is not written to the file."""
    configured_pem = settings.jwt_key_set[0][0].private_key
    assert configured_pem is not None
    rotate(settings, "jwt")
    path = keyring.keys_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert configured_pem.get_secret_value().strip() not in text
    jwt_entries = json.loads(text)["jwt"]
    assert "private_key" not in jwt_entries[0]
    assert "public_key" not in jwt_entries[0]
    assert "private_key" in jwt_entries[1]


def test_private_key_of_a_former_signer_is_dropped_after_it_stops(settings: Settings) -> None:
    rotate(settings, "jwt")  # configured → k1
    first = rotate(settings, "jwt")  # k1 → k2; k1's private key still in the file
    ring = keyring.read(keyring.keys_path(settings))
    k1 = ring.jwt[-2]
    assert k1.material is not None
    report = retire_expired(settings, now=time.time() + 1)
    assert k1.kid in report.public_only
    k1_after = next(e for e in keyring.read(keyring.keys_path(settings)).jwt if e.kid == k1.kid)
    assert k1_after.material is None
    assert k1_after.public_key is not None
    assert first.new_kid is not None


def test_cli_prints_kids_and_times_never_keys(settings: Settings, tmp_path: Path) -> None:
    env = {
        "SPATIALVIZ_ENV": "test",
        "SPATIALVIZ_VAR_DIR": str(settings.var_dir),
        "SPATIALVIZ_DATABASE_URL": settings.database_url,
        "SPATIALVIZ_SECRET_KEY": settings.secret,
    }
    runner = CliRunner()
    rotated = runner.invoke(cli, ["keys", "rotate", "jwt"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert "new key jwt-" in rotated.output
    tile = runner.invoke(cli, ["keys", "rotate", "tile-signing"], env=env)
    assert tile.exit_code == 0, tile.output
    ring = json.loads(keyring.keys_path(settings).read_text())
    for entry in ring["jwt"] + ring["tile"]:
        for material in (entry.get("private_key"), entry.get("secret")):
            if material:
                assert material.strip() not in rotated.output + tile.output
    assert "PRIVATE KEY" not in rotated.output
    retired = runner.invoke(cli, ["keys", "retire"], env=env)
    assert retired.exit_code == 0
    assert "nothing to retire" in retired.output


@pytest.mark.parametrize("content", ["{", '{"jwt": [{"no_kid": 1}]}'])
async def test_a_broken_key_file_is_named_not_quoted(settings: Settings, content: str) -> None:
    path = keyring.keys_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    with pytest.raises(keyring.KeyFileError) as refused:
        issue_access_token(settings, uuid.uuid4(), uuid.uuid4())
    assert str(path) in str(refused.value)
    assert content not in str(refused.value)
