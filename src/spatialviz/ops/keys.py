"""``spatialviz keys rotate|retire``: new signing keys without breaking what is signed.

JWT keys and the tile-signing secret live in the key file (kit/keyring.py). A rotation adds
a new key that every process verifies at once and that signs from ``activate_at``; the
keys signing until then stop signing at ``activate_at`` and keep verifying for as long as
anything they signed can still be valid (a JWT: the access-token lifetime; a tile
signature: the signature lifetime; a share token: the longest share link), then are
retired: dropped by ``spatialviz keys retire``, and by the next rotation anyway. A retired
JWT signer keeps only its public key from the moment it stops signing.

Nothing here prints or logs key material: reports carry key ids and times only.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spatialviz.config import Settings
from spatialviz.kit import keyring
from spatialviz.kit.keyring import APP_SECRET_KID, Entry, KeyRing, Section

#: Clock skew between hosts tolerated on top of every lifetime (and JWT's 5 s leeway).
SKEW_SECONDS = 60


@dataclass
class Report:
    section: Section | None = None
    new_kid: str | None = None
    signs_from: int | None = None
    stopped_signing: list[tuple[str, int]] = field(default_factory=list)  # kid, verify_until
    retired: list[str] = field(default_factory=list)
    public_only: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out: list[str] = []
        if self.new_kid is not None and self.signs_from is not None:
            out.append(f"{self.section}: new key {self.new_kid} signs from {_iso(self.signs_from)}")
        for kid, until in self.stopped_signing:
            out.append(f"{self.section}: {kid} stops signing then; verifies until {_iso(until)}")
        out.extend(f"retired {kid} (everything it signed has expired)" for kid in self.retired)
        out.extend(f"{kid}: private key dropped, public key kept" for kid in self.public_only)
        return out


def _iso(moment: int) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def _new_kid(prefix: str, now: float) -> str:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}-{stamp}-{secrets.token_hex(2)}"


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def retire(ring: KeyRing, now: float, report: Report) -> KeyRing:
    """Drop what verifies nothing any more; keep only the public half of JWT keys that no
    longer sign."""
    sections: dict[str, tuple[Entry, ...]] = {}
    for name in keyring.SECTIONS:
        kept: list[Entry] = []
        for entry in ring.section(name):
            if not entry.verifies_at(now, shares=True) and not entry.verifies_at(now):
                report.retired.append(entry.kid)
                continue
            done_signing = entry.signs_until is not None and entry.signs_until <= now
            if name == "jwt" and done_signing and entry.material is not None:
                entry = replace(entry, material=None, public_key=_public_pem(entry.material))
                report.public_only.append(entry.kid)
            kept.append(entry)
        sections[name] = tuple(kept)
    return KeyRing(jwt=sections["jwt"], tile=sections["tile"])


def _seeded(ring: KeyRing, section: Section, settings: Settings) -> tuple[Entry, ...]:
    """The section as it is, or, on the first rotation, the configured keys by reference
    (no key material copied): the configured signer keeps signing until the new key does."""
    entries = ring.section(section)
    if entries:
        return entries
    if section == "tile":
        return (Entry(kid=APP_SECRET_KID, material=None),)
    configured, signing_kid = settings.jwt_key_set
    # The signer last, so that among equals (no signs_from) it is the one chosen.
    others = [Entry(kid=k.kid, material=None, signs_until=0) for k in configured]
    return (*(e for e in others if e.kid != signing_kid), Entry(kid=signing_kid, material=None))


def rotate(
    settings: Settings,
    section: Section,
    *,
    activate_in_seconds: int = 0,
    now: float | None = None,
) -> Report:
    """Add a new signing key to ``section`` of the key file and schedule the change."""
    moment = time.time() if now is None else now
    report = Report(section=section)
    path = keyring.keys_path(settings)
    ring = retire(keyring.read(path), moment, report)
    activate_at = int(moment) + max(0, activate_in_seconds)
    if section == "jwt":
        # A token signed just before activate_at is valid for one access-token lifetime.
        verify_for = settings.access_token_ttl_seconds + 5 + SKEW_SECONDS
        shares_for = None
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        new = Entry(kid=_new_kid("jwt", moment), material=pem.decode(), signs_from=activate_at)
    else:
        verify_for = settings.scene_signature_ttl_seconds + SKEW_SECONDS
        shares_for = settings.scene_share_link_max_ttl_seconds + SKEW_SECONDS
        new = Entry(
            kid=_new_kid("tile", moment),
            material=secrets.token_urlsafe(48),
            signs_from=activate_at,
        )
    updated: list[Entry] = []
    for entry in _seeded(ring, section, settings):
        still_signing = entry.signs_until is None or entry.signs_until > activate_at
        if still_signing and (entry.material is not None or entry.public_key is None):
            until = activate_at + verify_for
            entry = replace(
                entry,
                signs_until=activate_at,
                verify_until=until,
                shares_until=None if shares_for is None else activate_at + shares_for,
            )
            report.stopped_signing.append((entry.kid, until))
        elif entry.signs_until == 0 and entry.verify_until is None:
            # A configured key that was not signing: what it signed expires like the rest.
            entry = replace(entry, verify_until=activate_at + verify_for)
        updated.append(entry)
    updated.append(new)
    report.new_kid, report.signs_from = new.kid, activate_at
    rotated = (
        KeyRing(jwt=tuple(updated), tile=ring.tile)
        if section == "jwt"
        else KeyRing(jwt=ring.jwt, tile=tuple(updated))
    )
    keyring.write(path, rotated)
    return report


def retire_expired(settings: Settings, *, now: float | None = None) -> Report:
    """``spatialviz keys retire``: drop every key whose signatures have all expired."""
    moment = time.time() if now is None else now
    report = Report()
    path = keyring.keys_path(settings)
    if not path.exists():
        return report
    ring = retire(keyring.read(path), moment, report)
    if report.retired or report.public_only:
        keyring.write(path, ring)
    return report
