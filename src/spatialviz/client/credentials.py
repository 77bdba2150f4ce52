"""What ``spatialviz login`` keeps so the other commands need no ``--token``.

One JSON file in the user's config directory (``$XDG_CONFIG_HOME/spatialviz/credentials.json``,
else ``~/.config/spatialviz/credentials.json``; ``SPATIALVIZ_CREDENTIALS`` overrides), mode
0600 in a 0700 folder: a signed-in session per server URL, as the API's sign-in gives it (an
access token and its refresh token). Tokens are never printed. Access tokens live minutes,
so :class:`StoredLogin` refreshes on a 401 and writes the rotated pair back (the old refresh
token is spent by the server).
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ENV_FILE = "SPATIALVIZ_CREDENTIALS"


def credentials_path() -> Path:
    override = os.environ.get(ENV_FILE)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "spatialviz" / "credentials.json"


def server_key(url: str) -> str:
    """Servers are told apart by scheme, host and port (a trailing slash is the same one)."""
    return url.rstrip("/")


@dataclass
class Session:
    email: str
    access_token: str
    refresh_token: str


class CredentialStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or credentials_path()

    def _read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # unreadable: as if signed out; the next login rewrites it
        return data if isinstance(data, dict) else {}

    def get(self, url: str) -> Session | None:
        entry = self._read().get(server_key(url))
        if not isinstance(entry, dict):
            return None
        try:
            return Session(
                email=str(entry["email"]),
                access_token=str(entry["access_token"]),
                refresh_token=str(entry["refresh_token"]),
            )
        except KeyError:
            return None

    def put(self, url: str, session: Session) -> None:
        data = self._read()
        data[server_key(url)] = {
            "email": session.email,
            "access_token": session.access_token,
            "refresh_token": session.refresh_token,
        }
        self._write(data)

    def forget(self, url: str) -> bool:
        data = self._read()
        if data.pop(server_key(url), None) is None:
            return False
        self._write(data)
        return True

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        # Created 0600 (never readable by others, not even for a moment), then moved over.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)


class NotSignedIn(Exception):
    pass


class StoredLogin(httpx.Auth):
    """Bearer auth from the store; on 401 one refresh, saved, then the request again."""

    def __init__(self, store: CredentialStore, url: str) -> None:
        session = store.get(url)
        if session is None:
            raise NotSignedIn(f"Not signed in to {server_key(url)}: run `spatialviz login`.")
        self.store = store
        self.url = url
        self.session = session

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.session.access_token}"
        response = yield request
        if response.status_code != 401:
            return
        refreshed = yield httpx.Request(
            "POST",
            f"{server_key(self.url)}/api/v1/auth/refresh",
            json={"refresh_token": self.session.refresh_token},
        )
        if refreshed.status_code != 200:
            return  # the caller gets the refused refresh's answer: `spatialviz login` again
        refreshed.read()
        pair = refreshed.json()
        self.session = Session(self.session.email, pair["access_token"], pair["refresh_token"])
        self.store.put(self.url, self.session)
        request.headers["Authorization"] = f"Bearer {self.session.access_token}"
        yield request

    # Refresh responses are read in the flow.
    requires_response_body = True
