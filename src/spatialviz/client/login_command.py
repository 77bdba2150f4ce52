"""`spatialviz login` and `spatialviz logout`: a session kept for the CLI (see credentials)."""

from __future__ import annotations

import httpx
import typer

from spatialviz.client.credentials import CredentialStore, Session, StoredLogin, server_key


def login(url: str, email: str, password: str) -> None:
    try:
        response = httpx.post(
            f"{server_key(url)}/api/v1/auth/token",
            data={"username": email, "password": password, "grant_type": "password"},
            timeout=60.0,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"spatialviz: cannot reach {server_key(url)}: {exc}", err=True)
        raise typer.Exit(1) from None
    if response.status_code != 200:
        typer.echo(f"spatialviz: sign-in refused: {_reason(response)}", err=True)
        raise typer.Exit(1)
    pair = response.json()
    store = CredentialStore()
    store.put(url, Session(email, pair["access_token"], pair["refresh_token"]))
    typer.echo(f"Signed in to {server_key(url)} as {email} (kept in {store.path}).")


def logout(url: str) -> None:
    """Revokes the session on the server (its refresh-token family too), then forgets it.
    Forgotten even when the server cannot be told: signing out locally matters more."""
    store = CredentialStore()
    if store.get(url) is None:
        typer.echo(f"Not signed in to {server_key(url)}.")
        return
    try:
        with httpx.Client(auth=StoredLogin(store, url), timeout=60.0) as client:
            answer = client.post(f"{server_key(url)}/api/v1/auth/logout")
        told = answer.status_code in (204, 401)
    except httpx.HTTPError:
        told = False
    store.forget(url)
    suffix = "" if told else " (the server could not be told; the session ends when it expires)"
    typer.echo(f"Signed out of {server_key(url)}{suffix}.")


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    title = body.get("title") if isinstance(body, dict) else None
    return str(detail or title or f"HTTP {response.status_code}")
