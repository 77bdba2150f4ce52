"""A socket's access watch fails closed: when rechecking a member's access fails for a
reason other than a dependency being down, the socket is closed (1011) and the failure
logged, instead of the socket staying open with its access never checked again."""

from __future__ import annotations

import httpx
import pytest
import websockets

from spatialviz.realtime import endpoints
from tests.conftest import receive_json
from tests.factories import register_and_sign_in


async def test_a_failing_access_recheck_closes_the_socket(
    client: httpx.AsyncClient, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, headers = await register_and_sign_in(client)
    token = headers["Authorization"].removeprefix("Bearer ")

    async def broken_recheck(*_: object) -> None:
        raise RuntimeError("the recheck broke")  # a bug, not an outage

    # Injected after sign-in: only the socket's recheck (every 4-5 s) meets the fault.
    monkeypatch.setattr(endpoints, "recheck_principal", broken_recheck)
    async with websockets.connect(f"{server_url}/api/v1/ws?token={token}") as ws:
        assert (await receive_json(ws))["type"] == "hello"
        with pytest.raises(websockets.ConnectionClosed):
            await receive_json(ws)  # bounded at 60 s: a socket left open fails here
        assert ws.close_code == 1011
        assert ws.close_reason == "access check failed"
