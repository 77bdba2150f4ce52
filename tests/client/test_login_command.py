"""`spatialviz login` / `logout` against a real server on loopback: the session is kept in a
0600 file and never printed, `upload` uses it without --token (refreshing an access token the
server no longer takes), and `logout` revokes it on the server."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from spatialviz.cli import app as cli_app
from tests.dataset.helpers import csv_bytes

EMAIL = "login-cli@example.com"
PASSWORD = "a long cli password 9"


def _register(url: str) -> None:
    with httpx.Client(base_url=url) as c:
        c.post("/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})


def _cli(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli_app, list(args), input=input)


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "spatialviz" / "credentials.json"
    monkeypatch.setenv("SPATIALVIZ_CREDENTIALS", str(path))
    monkeypatch.delenv("SPATIALVIZ_TOKEN", raising=False)
    return path


def test_login_upload_logout(live_server: str, credentials: Path, tmp_path: Path) -> None:
    _register(live_server)

    signed_in = _cli("login", "--url", live_server, "--email", EMAIL, input=f"{PASSWORD}\n")
    assert signed_in.exit_code == 0, signed_in.output
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(credentials.parent.stat().st_mode) == 0o700
    kept = json.loads(credentials.read_text())[live_server]
    assert kept["email"] == EMAIL
    assert kept["access_token"] not in signed_in.output
    assert kept["refresh_token"] not in signed_in.output

    # An access token the server no longer takes (as after it expired): upload refreshes it.
    kept["access_token"] = "not-a-token"
    credentials.write_text(json.dumps({live_server: kept}))
    source = tmp_path / "survey.csv"
    source.write_bytes(csv_bytes(500))
    uploaded = _cli(
        "upload", str(source), "--url", live_server, "--resume-file", str(tmp_path / "r.json")
    )
    assert uploaded.exit_code == 0, uploaded.output
    assert "dataset is ready" in uploaded.output
    rotated = json.loads(credentials.read_text())[live_server]
    assert rotated["access_token"] != "not-a-token"
    assert rotated["refresh_token"] != kept["refresh_token"]
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600

    signed_out = _cli("logout", "--url", live_server)
    assert signed_out.exit_code == 0, signed_out.output
    assert "could not be told" not in signed_out.output
    assert json.loads(credentials.read_text()) == {}

    # Revoked on the server, not only forgotten here.
    def refresh_with_the_old_pair() -> int:
        with httpx.Client(base_url=live_server) as c:
            answer = c.post(
                "/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
            )
            return answer.status_code

    assert refresh_with_the_old_pair() == 401

    refused = _cli(
        "upload", str(source), "--url", live_server, "--resume-file", str(tmp_path / "r.json")
    )
    assert refused.exit_code == 1
    assert "spatialviz login" in refused.output


def test_a_refused_sign_in_keeps_nothing(live_server: str, credentials: Path) -> None:
    _register(live_server)
    result = _cli("login", "--url", live_server, "--email", EMAIL, input="not the password\n")
    assert result.exit_code == 1
    assert "sign-in refused" in result.output
    assert not credentials.exists()
