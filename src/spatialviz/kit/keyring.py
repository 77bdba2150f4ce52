"""The rotated keys: JWT signing keys and tile-signing secrets, in one JSON file.

``spatialviz keys rotate`` writes it (ops/keys.py); every process reads it again whenever
its modification time changes (one ``stat`` per use), so a rotation reaches running servers
without a restart: a file on one host, or a Kubernetes Secret mounted as a volume
(``SPATIALVIZ_KEYS_FILE``; default ``var/keys.json``, used only when it exists). Without
the file, nothing changes: the keys come from the configuration as before.

Each section is a list of entries::

    {"kid": "...", "private_key" | "secret": "...",     # absent: the configured key, by kid
     "signs_from": t, "signs_until": t,                  # when it may sign (null: no bound)
     "verify_until": t, "shares_until": t}               # when it stops verifying

An entry without key material names a key the configuration already holds (a JWT key of
``SPATIALVIZ_JWT_KEYS``, or the derived/development one; ``secret-key`` for the application
secret), so rotating never copies an existing secret into a new place. A new key is
verified by every process as soon as it reads the file and signs from ``signs_from``: with
several processes, rotate with an activation delay longer than the file takes to reach
them all, and no process ever meets a token it cannot check.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from spatialviz.config import Settings

Section = Literal["jwt", "tile"]
#: The application secret (SPATIALVIZ_SECRET_KEY), named in the tile section.
APP_SECRET_KID = "secret-key"  # noqa: S105 (a name, not a secret)
SECTIONS: tuple[Section, ...] = ("jwt", "tile")


class KeyFileError(ValueError):
    """The key file is unreadable or malformed; the message names the file."""


def keys_path(settings: Settings) -> Path:
    return settings.keys_file or settings.var_dir / "keys.json"


@dataclass(frozen=True)
class Entry:
    kid: str
    material: str | None  # PEM private key (jwt) or secret (tile); None: from configuration
    public_key: str | None = None  # jwt only: a retired signer keeps only this
    signs_from: int | None = None
    signs_until: int | None = None
    verify_until: int | None = None
    shares_until: int | None = None

    def signs_at(self, now: float) -> bool:
        return (
            (self.material is not None or self.public_key is None)
            and (self.signs_from is None or self.signs_from <= now)
            and (self.signs_until is None or now < self.signs_until)
        )

    def verifies_at(self, now: float, *, shares: bool = False) -> bool:
        until = self.shares_until if shares and self.shares_until else self.verify_until
        return until is None or now < until

    def to_json(self, section: Section) -> dict[str, Any]:
        name = "private_key" if section == "jwt" else "secret"
        out: dict[str, Any] = {"kid": self.kid}
        if self.material is not None:
            out[name] = self.material
        if self.public_key is not None:
            out["public_key"] = self.public_key
        for field in ("signs_from", "signs_until", "verify_until", "shares_until"):
            value = getattr(self, field)
            if value is not None:
                out[field] = value
        return out

    @classmethod
    def from_json(cls, section: Section, data: dict[str, Any]) -> Entry:
        name = "private_key" if section == "jwt" else "secret"

        def moment(field: str) -> int | None:
            value = data.get(field)
            return None if value is None else int(value)

        return cls(
            kid=str(data["kid"]),
            material=data.get(name),
            public_key=data.get("public_key"),
            signs_from=moment("signs_from"),
            signs_until=moment("signs_until"),
            verify_until=moment("verify_until"),
            shares_until=moment("shares_until"),
        )


@dataclass(frozen=True)
class KeyRing:
    jwt: tuple[Entry, ...] = ()
    tile: tuple[Entry, ...] = ()

    def section(self, name: Section) -> tuple[Entry, ...]:
        return self.jwt if name == "jwt" else self.tile

    def signer(self, name: Section, now: float) -> Entry | None:
        """The entry that signs at ``now``: of those allowed, the one that started last."""
        candidates = [e for e in self.section(name) if e.signs_at(now)]
        return max(candidates, key=lambda e: e.signs_from or 0, default=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "jwt": [e.to_json("jwt") for e in self.jwt],
            "tile": [e.to_json("tile") for e in self.tile],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyRing:
        return cls(
            jwt=tuple(Entry.from_json("jwt", e) for e in data.get("jwt", [])),
            tile=tuple(Entry.from_json("tile", e) for e in data.get("tile", [])),
        )


_lock = threading.Lock()
_loaded: dict[Path, tuple[tuple[int, int], KeyRing]] = {}


def current(settings: Settings) -> KeyRing | None:
    """The key file as it is now (re-read when it changed), or None when there is none."""
    path = keys_path(settings)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _loaded.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    ring = read(path)
    with _lock:
        _loaded[path] = (stamp, ring)
    return ring


def read(path: Path) -> KeyRing:
    try:
        data = json.loads(path.read_text())
        return KeyRing.from_json(data)
    except FileNotFoundError:
        return KeyRing()
    except (ValueError, KeyError, TypeError) as exc:
        # The exception's text could quote the file: only its kind is said.
        raise KeyFileError(f"{path}: not a key file ({type(exc).__name__})") from None


def write(path: Path, ring: KeyRing) -> None:
    """Atomically, readable by the owner only (never a moment with other permissions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(ring.to_json(), out, indent=1)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def tile_secrets(settings: Settings, now: float, *, shares: bool = False) -> list[str]:
    """The secrets that verify tile signatures (or share tokens) at ``now``, the signer's
    first; the application secret alone when there is no key file."""
    ring = current(settings)
    if ring is None or not ring.tile:
        return [settings.secret]
    signer = ring.signer("tile", now)
    ordered = ([signer] if signer else []) + [e for e in ring.tile if e is not signer]
    return [
        _tile_material(settings, e)
        for e in ordered
        if e.verifies_at(now, shares=shares) or e is signer
    ]


def tile_signing_secret(settings: Settings, now: float) -> str:
    ring = current(settings)
    if ring is None or not ring.tile:
        return settings.secret
    signer = ring.signer("tile", now)
    if signer is None:
        raise KeyFileError(f"{keys_path(settings)}: no tile-signing secret signs now")
    return _tile_material(settings, signer)


def _tile_material(settings: Settings, entry: Entry) -> str:
    if entry.material is not None:
        return entry.material
    if entry.kid == APP_SECRET_KID:
        return settings.secret
    raise KeyFileError(f"tile key {entry.kid!r} has no secret and is not {APP_SECRET_KID!r}")
