"""Who may read /metrics: anyone in development; in production, a scraper presenting
``SPATIALVIZ_METRICS_TOKEN`` as a bearer token or calling from an address in
``SPATIALVIZ_METRICS_ALLOWED_IPS``. Metrics name routes, job kinds and volumes: an
attacker's map, not public information (issue 16)."""

from __future__ import annotations

import hmac
import ipaddress

from spatialviz.config import Settings


def _address_allowed(address: str, allowed: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def may_read_metrics(settings: Settings, client: str, authorization: str | None) -> bool:
    if not settings.is_production:
        return True
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if token and authorization:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return True
    return _address_allowed(client, settings.metrics_allowed_ips)
