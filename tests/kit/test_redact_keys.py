"""Key rotation's secrets never reach a log line: PEM private keys and URL passwords."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spatialviz.kit.redact import MASK, scrub


def test_pem_private_keys_are_masked_whole_or_cut() -> None:
    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    body = pem.splitlines()[1]
    whole = scrub(f"could not load {pem} for kid k1")
    assert body not in whole
    assert MASK in whole
    assert whole.endswith("for kid k1")
    cut = scrub("key: " + pem[:60])  # a message that cut the key short
    assert body[:10] not in cut


def test_url_passwords_are_masked_users_and_hosts_kept() -> None:
    for url in (
        "postgresql+asyncpg://svapp_2026:s3cr3t-Pass@db:5432/spatialviz",
        "redis+cluster://app:s3cr3t-Pass@h1:6379,h2:6379",
    ):
        masked = scrub(f"connect failed: {url}")
        assert "s3cr3t-Pass" not in masked
        assert f":{MASK}@" in masked
        assert url.split("://")[1].split(":")[0] in masked  # the user is kept
    assert scrub("see https://example.org/x") == "see https://example.org/x"
