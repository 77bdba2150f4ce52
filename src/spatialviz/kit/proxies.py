"""Which peers may say who the client is (X-Forwarded-For, X-Forwarded-Proto).

uvicorn (and Gunicorn) believe those headers from 127.0.0.1 unless told otherwise, so a
client talking to the API directly on the same host — or through any proxy on it that
passes the header on — could name any address and get a fresh rate-limit bucket per request
(issue 16). We trust exactly ``SPATIALVIZ_TRUSTED_PROXIES`` (addresses, networks or host
names such as compose's ``nginx``; none by default) and hand that to uvicorn, which then
takes the right-most address no trusted proxy added.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import structlog

from spatialviz.config import Settings

log = structlog.get_logger(__name__)


def resolve_proxies(entries: Iterable[str]) -> list[str]:
    """Addresses and networks as given; host names resolved to their addresses now (a name
    that does not resolve is trusted as nothing, and logged)."""
    out: list[str] = []
    for entry in entries:
        try:
            out.append(str(ipaddress.ip_network(entry, strict=False)))
            continue
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(entry, None, proto=socket.IPPROTO_TCP)
        except OSError:
            log.warning("trusted_proxy_unresolved", proxy=entry)
            continue
        out.extend(sorted({str(info[4][0]) for info in infos}))
    return out


def uvicorn_proxy_options(settings: Settings) -> dict[str, Any]:
    """``proxy_headers``/``forwarded_allow_ips`` for ``uvicorn.run`` or ``uvicorn.Config``."""
    trusted = resolve_proxies(settings.trusted_proxies)
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}
