"""Secrets never reach a log line (issue 16): a structlog processor that masks credentials in
every event — values under sensitive keys, and anything in any string, the rendered
traceback included, that has the shape of one of our secrets.

It runs for our own events and for stdlib records (uvicorn, SQLAlchemy, Celery) alike, after
the exception has been rendered to text, so a key in an exception message or a URL with
``?sig=`` in a traceback is masked too. Shapes masked:

- JWTs (``eyJ…​.…​.…``), ``Bearer <anything>``;
- API keys ``svk_<8 hex>_<secret>`` (the public ``svk_<8 hex>`` prefix is kept, it names
  the key in lists and audit entries) and refresh tokens ``svr_…``;
- tile signatures and share tokens, bare or as ``sig=`` / ``share=`` / ``token=``
  parameters;
- ``password=…`` / ``"password": "…"`` / ``'password': '…'`` pairs (form bodies, JSON and
  dicts echoed in errors or SQL parameters). A password in free text has no shape: the
  key-based masking and never putting one in a message are what protect it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from structlog.types import EventDict

MASK = "[REDACTED]"

#: Keys whose values are secrets whatever they look like (compared lower-cased, ``-`` as ``_``).
SENSITIVE_KEYS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "authorization",
        "cookie",
        "set_cookie",
        "secret",
        "secret_key",
        "api_key",
        "key_secret",
        "sig",
        "signature",
        "share",
        "share_token",
        "x_share_token",
        "metrics_token",
        "private_key",
        "database_url",
        "admin_url",
    }
)

_B64 = r"[A-Za-z0-9_-]"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Parameters first, so the value is masked whatever its shape.
    (
        re.compile(
            r"(?i)(\b(?:sig|share|token|access_token|refresh_token|password|api_key)=)[^&\s\"'<>]+"
        ),
        rf"\1{MASK}",
    ),
    # Quoted values (JSON, a dict's repr): everything up to the closing quote.
    (
        re.compile(r"""(?i)(\bpassword['"]?\s*[:=]\s*)(['"])(?:(?!\2).)*\2"""),
        rf"\1\2{MASK}\2",
    ),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+"), rf"\1{MASK}"),
    (re.compile(rf"\beyJ{_B64}+\.{_B64}+\.{_B64}*"), MASK),
    (re.compile(rf"\b(svk_[0-9a-f]{{8}})_{_B64}+"), rf"\1_{MASK}"),
    (re.compile(rf"\bsvr_{_B64}+"), f"svr_{MASK}"),
    # Tile signature: read.<exp>.<gen>.<grant>.<gen>.<mac>
    (re.compile(rf"\bread\.[0-9a-z]+\.[0-9a-z]+\.[mks][0-9a-f]{{32}}\.[0-9a-z]+\.{_B64}+"), MASK),
    # Share token: <share id>.<scene id>.<exp>.<mac>
    (re.compile(rf"\b[0-9a-f]{{32}}\.[0-9a-f]{{32}}\.[0-9a-z]+\.{_B64}+"), MASK),
    # A PEM private key (JWT keys, key rotation), to its end or the end of the text.
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
            re.S,
        ),
        MASK,
    ),
    # The password in a URL's credentials (database and Redis URLs): scheme://user:pass@
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@"), rf"\1{MASK}@"),
]


# Something one of the patterns above needs: most strings (paths, route templates, ids) have
# none of it, and substring tests are far cheaper than eight substitutions per log value.
_TRIGGERS = ("=", "password", "bearer", "eyj", "svk_", "svr_", "read.", "private key", "://")
_SHARE_SHAPE = re.compile(r"[0-9a-f]{32}\.[0-9a-f]{32}")


def _maybe_secret(text: str) -> bool:
    lowered = text.lower()
    if any(trigger in lowered for trigger in _TRIGGERS):
        return True
    return "." in text and _SHARE_SHAPE.search(text) is not None


def scrub(text: str) -> str:
    """``text`` with every secret-shaped part masked."""
    if not _maybe_secret(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _is_sensitive(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SENSITIVE_KEYS


def _clean(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, int | float):  # the usual non-text values, first
        return value
    if depth > 4:
        return value
    if isinstance(value, Mapping):
        return {k: MASK if _is_sensitive(k) else _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(v, depth + 1) for v in value)
    if isinstance(value, bytes | int | float | bool) or value is None:
        return value
    # Anything else is rendered with str()/repr() later: scrub that text now.
    return scrub(str(value))


def redact_secrets(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """structlog processor; put it after ``format_exc_info`` so tracebacks are text."""
    for key, value in list(event.items()):
        if key.startswith("_"):  # structlog's own (the stdlib record, its logger)
            continue
        event[key] = MASK if _is_sensitive(key) else _clean(value)
    return event
