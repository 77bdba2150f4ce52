"""A configuration that cannot work is refused before anything starts, in one line naming
the setting. The checks themselves run everywhere; the command is run as root only."""

from __future__ import annotations

from pathlib import Path

import pytest

from spatialviz.stack import netns
from spatialviz.stack.settings import Refused, app_environment, check_app_settings, own_tls_files
from tests.stack.conftest import stack_command

SECRETS = {name: "x" * 40 for name in ("secret_key", "db_password", "replication_password",
                                      "redis_password", "amqp_password")}  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in [n for n in os.environ if n.startswith("SPATIALVIZ_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_the_stack_configuration_passes_the_apps_own_checks(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    check_app_settings(app_environment(tmp_path, SECRETS))


def test_a_replica_url_equal_to_the_primary_is_refused(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = app_environment(tmp_path, SECRETS)
    env["SPATIALVIZ_DATABASE_REPLICA_URL"] = env["SPATIALVIZ_DATABASE_URL"]
    with pytest.raises(Refused, match="SPATIALVIZ_DATABASE_REPLICA_URL") as refused:
        check_app_settings(env)
    assert "\n" not in str(refused.value)


def test_production_without_a_broker_is_refused(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = app_environment(tmp_path, SECRETS)
    del env["SPATIALVIZ_CELERY_BROKER_URL"]
    with pytest.raises(Refused, match="SPATIALVIZ_CELERY_BROKER_URL") as refused:
        check_app_settings(env)
    assert "\n" not in str(refused.value)


def test_tls_files_that_are_absent_are_refused(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert own_tls_files() is None  # neither given: the stack makes its own CA
    clean_env.setenv("SPATIALVIZ_STACK_TLS_CERT", str(tmp_path / "missing.crt"))
    clean_env.setenv("SPATIALVIZ_STACK_TLS_KEY", str(tmp_path / "missing.key"))
    with pytest.raises(Refused, match=r"SPATIALVIZ_STACK_TLS_CERT=.*no such file"):
        own_tls_files()
    clean_env.delenv("SPATIALVIZ_STACK_TLS_KEY")
    (tmp_path / "missing.crt").write_text("x")
    with pytest.raises(Refused, match="SPATIALVIZ_STACK_TLS_KEY is not set"):
        own_tls_files()


@pytest.mark.stack
def test_make_stack_refuses_in_one_line_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert netns.existing() == [], "a stack is already up"
    monkeypatch.setenv("SPATIALVIZ_STACK_TLS_CERT", str(tmp_path / "absent.crt"))
    monkeypatch.setenv("SPATIALVIZ_STACK_TLS_KEY", str(tmp_path / "absent.key"))
    result = stack_command(tmp_path / "state", "up", "--demo-points", "0")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "SPATIALVIZ_STACK_TLS_CERT" in result.stderr
    assert netns.existing() == []
    assert netns.leftovers() == []
