"""The Argon2 cost profiles: production hashes at the standard cost, the cheap profile is
refused outside tests, and hashes record their own cost so both profiles verify each other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spatialviz.auth import passwords
from spatialviz.config import ConfigError, Settings


@pytest.fixture
def restore_profile() -> Iterator[None]:
    yield None
    passwords.configure_password_hashing("fast-insecure")


@pytest.mark.usefixtures("restore_profile")
async def test_standard_profile_hashes_at_full_cost() -> None:
    passwords.configure_password_hashing("standard")
    digest = await passwords.hash_password("correct horse battery")
    assert digest.startswith("$argon2id$")
    assert "m=65536,t=3,p=4" in digest


@pytest.mark.usefixtures("restore_profile")
async def test_hashes_verify_across_profiles() -> None:
    passwords.configure_password_hashing("fast-insecure")
    cheap = await passwords.hash_password("correct horse battery")
    assert "m=1024,t=1,p=1" in cheap
    passwords.configure_password_hashing("standard")
    assert await passwords.verify_password("correct horse battery", cheap)
    assert not await passwords.verify_password("wrong horse battery", cheap)


@pytest.mark.parametrize("env", ["development", "production"])
def test_cheap_profile_is_refused_outside_tests(env: str, tmp_path: Path) -> None:
    settings = Settings(
        env=env,
        var_dir=tmp_path,
        secret_key="k" * 48,
        argon2_cost="fast-insecure",
    )
    with pytest.raises(ConfigError, match="ARGON2_COST"):
        settings.validate_for_startup()
