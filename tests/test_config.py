from __future__ import annotations

from pathlib import Path

import pytest

from spatialviz.config import ConfigError, Settings


def test_production_refuses_missing_secret(tmp_path: Path) -> None:
    settings = Settings(env="production", var_dir=tmp_path)
    with pytest.raises(ConfigError, match="SPATIALVIZ_SECRET_KEY"):
        settings.validate_for_startup()


@pytest.mark.parametrize("value", ["changeme", "secret", "short-but-random"])
def test_production_refuses_default_or_short_secret(tmp_path: Path, value: str) -> None:
    settings = Settings(env="production", var_dir=tmp_path, secret_key=value)
    with pytest.raises(ConfigError):
        settings.validate_for_startup()


def test_production_accepts_strong_secret(tmp_path: Path) -> None:
    strong = "k" * 48
    settings = Settings(
        env="production", var_dir=tmp_path, secret_key=strong, jobs_backend="embedded"
    )
    settings.validate_for_startup()
    assert settings.secret == strong


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(var_dir=tmp_path).secret
    second = Settings(var_dir=tmp_path).secret
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_embedded_defaults_need_no_configuration(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.storage_url.startswith("file://")
    assert settings.redis_url is None


def test_wildcard_cors_with_credentials_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="CORS"):
        Settings(cors_origins=["*"], cors_allow_credentials=True)


def test_environment_switches_to_services(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPATIALVIZ_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("SPATIALVIZ_REDIS_URL", "redis://h:6379/0")
    settings = Settings()
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.redis_url == "redis://h:6379/0"


def test_production_derives_a_stable_jwt_key_from_the_secret(tmp_path: Path) -> None:
    first = Settings(env="production", var_dir=tmp_path, secret_key="k" * 48).jwt_key_set
    second = Settings(env="production", var_dir=tmp_path, secret_key="k" * 48).jwt_key_set
    other = Settings(env="production", var_dir=tmp_path, secret_key="j" * 48).jwt_key_set
    assert first[1] == second[1] != other[1]
    assert not (tmp_path / "jwt_ed25519.pem").exists()


def test_development_jwt_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(var_dir=tmp_path).jwt_key_set[0][0]
    second = Settings(var_dir=tmp_path).jwt_key_set[0][0]
    assert first == second
    assert (tmp_path / "jwt_ed25519.pem").stat().st_mode & 0o077 == 0


def test_active_kid_must_name_a_private_key(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path, jwt_keys=[{"kid": "old", "public_key": "x"}], jwt_active_kid="old"
    )
    with pytest.raises(ConfigError, match="ACTIVE_KID"):
        settings.validate_for_startup()


def test_jwt_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    monkeypatch.setenv(
        "SPATIALVIZ_JWT_KEYS",
        json.dumps([{"kid": "new", "private_key": private}, {"kid": "old", "public_key": public}]),
    )
    keys, active = Settings(var_dir=tmp_path).jwt_key_set
    assert [k.kid for k in keys] == ["new", "old"]
    assert active == "new"


def test_production_without_a_broker_is_refused(tmp_path: Path) -> None:
    settings = Settings(env="production", var_dir=tmp_path, secret_key="k" * 48)
    with pytest.raises(ConfigError, match=r"^SPATIALVIZ_CELERY_BROKER_URL is missing"):
        settings.validate_for_startup()
    single_host = settings.model_copy(update={"jobs_backend": "embedded"})
    single_host.validate_for_startup()
    with_broker = settings.model_copy(update={"celery_broker_url": "amqp://mq:5672//"})
    with_broker.validate_for_startup()
