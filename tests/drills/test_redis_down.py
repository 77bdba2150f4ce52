"""Redis stops under a running API: what needs it answers 503 with Retry-After (a token's
revocation cannot be checked), what does not keeps working (an API key: the rate limit
fails open), WebSocket channels say so in-protocol, and service resumes within seconds of
Redis's return."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.drills.conftest import api_env, figure, serving_again_after, sign_up
from tests.drills.processes import ApiServer, PrivateRedis


def _api_key(client: httpx.Client, headers: dict[str, str], workspace: str) -> str:
    created = client.post(
        "/api/v1/api-keys",
        json={"workspace_id": workspace, "name": "drill", "role": "editor"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


def _ws_answer(url: str, key: str, channel: str) -> dict[str, object]:
    with connect(f"{url.replace('http', 'ws', 1)}/api/v1/ws?token={key}") as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        ws.send(json.dumps({"type": "subscribe", "channel": channel}))
        answer: dict[str, object] = json.loads(ws.recv(timeout=30))
        return answer


def test_redis_down_is_503_or_degraded_and_recovers(
    private_redis: PrivateRedis, database_url: str, tmp_path: Path
) -> None:
    env = api_env(tmp_path, database_url, redis_url=private_redis.url)
    api = ApiServer(env, tmp_path / "api.log")
    api.start()
    try:
        with httpx.Client(base_url=api.url, timeout=30) as client:
            headers, workspace = sign_up(client)
            key = {"Authorization": f"Bearer {_api_key(client, headers, workspace)}"}
            assert client.get("/api/v1/datasets", headers=headers).status_code == 200

            private_redis.stop()
            with_token = client.get("/api/v1/datasets", headers=headers)
            assert with_token.status_code == 503, with_token.text
            assert int(with_token.headers["retry-after"]) > 0
            with_key = client.get("/api/v1/datasets", headers=key)
            assert with_key.status_code == 200, with_key.text  # degraded, not down
            # Every pod shares Redis: it degrades features, it does not make pods unready.
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["degraded"] == ["redis"]
            channel = f"job:{uuid.uuid4()}"
            answer = _ws_answer(api.url, key["Authorization"][7:], channel)
            assert answer == {
                "type": "error",
                "code": "unavailable",
                "dependency": "redis",
                "retry_after": 2,
                "channel": channel,
            }
            figure(
                "redis_down_statuses",
                {"token": with_token.status_code, "api_key": with_key.status_code},
            )

            private_redis.start()
            recovery = serving_again_after(client, headers, "Redis", "redis_recovery_seconds")
            assert recovery < 5
            assert _ws_answer(api.url, key["Authorization"][7:], channel)["code"] == "not_found"
    finally:
        api.stop()
