"""Which peers may say who the client is (X-Forwarded-For, X-Forwarded-Proto).

uvicorn believes those headers from 127.0.0.1 unless told otherwise, so a client talking to
the API directly on the same host — or through any proxy on it that passes the header on —
could name any address and get a fresh rate-limit bucket per request (issue 16). We
trust exactly ``SPATIALVIZ_TRUSTED_PROXIES`` (addresses or networks; none by default) and
hand that to uvicorn, which then takes the right-most address no trusted proxy added.
"""

from __future__ import annotations

from typing import Any

from spatialviz.config import Settings


def uvicorn_proxy_options(settings: Settings) -> dict[str, Any]:
    """``proxy_headers``/``forwarded_allow_ips`` for ``uvicorn.run`` or ``uvicorn.Config``."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}
