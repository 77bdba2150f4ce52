"""PostgreSQL stops under a running API: every request is a 503 problem naming the
database, with Retry-After (never a 500, never a reset connection), and the API serves again
within seconds of PostgreSQL's return, without a restart."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx

from tests.drills.conftest import api_env, figure, serving_again_after, sign_up
from tests.drills.processes import ApiServer
from tests.kit.pg_cluster import PrivateCluster

PROBLEM_JSON = "application/problem+json"


def _requests_during_outage(
    client: httpx.Client, headers: dict[str, str], workspace: str
) -> list[httpx.Response | str]:
    """Each request's response, or the transport error it met (a reset connection)."""
    requests = [
        client.build_request("GET", "/api/v1/datasets", headers=headers),
        client.build_request("GET", "/api/v1/jobs", headers=headers),
        client.build_request(
            "POST",
            f"/api/v1/datasets?workspace_id={workspace}&filename=p.csv",
            content=b"x,y,z\n1,2,3\n",
            headers={**headers, "content-type": "text/csv"},
        ),
        client.build_request(
            "POST",
            "/api/v1/auth/token",
            data={"username": "nobody@example.com", "password": "x" * 12},
        ),
        client.build_request("GET", "/readyz"),
    ]
    answers: list[httpx.Response | str] = []
    for request in requests:
        try:
            answers.append(client.send(request))
        except httpx.TransportError as exc:
            answers.append(f"{request.method} {request.url.path}: {type(exc).__name__}")
    return answers


def test_postgres_down_is_503_with_retry_after_and_recovers(
    private_postgres: PrivateCluster, tmp_path: Path
) -> None:
    api = ApiServer(api_env(tmp_path, private_postgres.url()), tmp_path / "api.log")
    api.start()
    try:
        with httpx.Client(base_url=api.url, timeout=30) as client:
            headers, workspace = sign_up(client)
            assert client.get("/api/v1/datasets", headers=headers).status_code == 200

            private_postgres.stop()
            answers = [
                r for _ in range(3) for r in _requests_during_outage(client, headers, workspace)
            ]
            seen = Counter(a if isinstance(a, str) else a.status_code for a in answers)
            figure("postgres_down_answers", dict(seen))
            for response in answers:
                assert isinstance(response, httpx.Response), response
                where = f"{response.request.method} {response.request.url.path}"
                assert response.status_code == 503, (where, response.text)
                assert response.headers["content-type"].startswith(PROBLEM_JSON), where
                assert int(response.headers["retry-after"]) > 0, where
                if response.request.url.path != "/readyz":
                    assert response.json()["dependency"] == "database", where

            private_postgres.start()
            recovery = serving_again_after(
                client, headers, "PostgreSQL", "postgres_recovery_seconds"
            )
            assert recovery < 5
            assert client.get("/readyz").status_code == 200
    finally:
        api.stop()
