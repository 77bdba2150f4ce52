"""Secrets never logged (issue 16, finding 6): the redaction processor masks credentials in
events, in exception messages and in rendered tracebacks, in both log formats, for our own
events and for stdlib records (uvicorn's 'Exception in ASGI application')."""

from __future__ import annotations

import logging
import uuid

import pytest
import structlog

from spatialviz.auth.tokens import new_api_key
from spatialviz.kit.logging import _stop_listener, configure_logging
from spatialviz.kit.redact import MASK, redact_secrets, scrub
from spatialviz.signing import signatures

SECRET = "s" * 32
JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
PASSWORD = "correct horse battery staple 42"


def _secrets() -> dict[str, str]:
    key, prefix = new_api_key()
    scene = uuid.uuid4()
    grant = signatures.Grant(signatures.GrantKind.member, uuid.uuid4())
    return {
        "key": key,
        "prefix": prefix,
        "sig": signatures.sign(scene, "read", 2_000_000_000, SECRET, grant=grant),
        "share": signatures.issue_share_token(uuid.uuid4(), scene, 2_000_000_000, SECRET),
        "refresh": "svr_" + "A1b2" * 10,
    }


def test_scrub_masks_every_shape_and_keeps_the_key_prefix() -> None:
    s = _secrets()
    text = (
        f"Authorization: Bearer {JWT} key={s['key']} raw {s['key']} "
        f"/api/v1/scenes/x/tileset.json?sig={s['sig']}&x=1 share {s['share']} "
        f'refresh {s["refresh"]} username=a@b.c&password=hunter2hunter2 {{"password": "pw 1"}} '
        f"{ {'password': 'pw 2'} }"
    )
    out = scrub(text)
    for secret in (
        JWT,
        s["key"],
        s["sig"],
        s["share"],
        s["refresh"],
        "hunter2hunter2",
        "pw 1",
        "pw 2",
    ):
        assert secret not in out, secret
    assert s["prefix"] in out  # the public part still names the key
    assert "&x=1" in out
    assert "username=a@b.c" in out


def test_sensitive_keys_are_masked_whatever_their_value() -> None:
    event = redact_secrets(
        None,
        "info",
        {"event": "x", "password": "p", "Authorization": "whatever", "nested": {"sig": "abc"}},
    )
    assert event == {
        "event": "x",
        "password": MASK,
        "Authorization": MASK,
        "nested": {"sig": MASK},
    }


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_tracebacks_are_redacted_in_both_formats(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _secrets()
    configure_logging(fmt, "INFO")
    log = structlog.get_logger("spatialviz.test")

    def authenticate(token: str) -> None:
        raise ValueError(f"no such key {token}; form {dict(password=PASSWORD)}")

    try:
        authenticate(s["key"])
    except ValueError:
        log.exception("auth_failed", token=s["key"], url=f"/t?sig={s['sig']}")
    try:
        raise RuntimeError(f"share {s['share']} bearer {JWT}")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("sqlalchemy").warning("params %s", {"password": PASSWORD})

    _stop_listener()  # records are written on the listener's thread: wait for them
    err = capsys.readouterr().err
    assert "auth_failed" in err
    assert "Exception in ASGI application" in err
    assert "Traceback" in err or "stack_trace" in err
    for secret in (s["key"], s["sig"], s["share"], JWT, PASSWORD):
        assert secret not in err, (secret, err)
    assert s["prefix"] in err
