"""Pure ASGI middleware for HTTP hardening: security headers on every response (request
bodies are bounded by :mod:`spatialviz.kit.bodylimit`)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What the web client needs: three.js and 3d-tiles-renderer from 'self', Draco/KTX2 decoders
# compiled from WebAssembly ('wasm-unsafe-eval', not 'unsafe-eval') running in blob: workers,
# textures from data:/blob: URLs, WebSocket streams, WebXR (no CSP directive; see the
# Permissions-Policy below). Nothing may frame the app.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self' blob:",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self' ws: wss: blob: data:",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The interactive API docs (/docs) run Swagger UI from our own assets (api_docs.py); it
# sets inline styles.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect.html"})
HSTS = "max-age=63072000; includeSubDomains"

_COMMON_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (
        b"permissions-policy",
        b"xr-spatial-tracking=(self), camera=(), microphone=(), geolocation=()",
    ),
]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (
            DOCS_CONTENT_SECURITY_POLICY if scope["path"] in DOCS_PATHS else CONTENT_SECURITY_POLICY
        )
        extra = [*_COMMON_HEADERS, (b"content-security-policy", csp.encode())]
        # HSTS only over TLS (behind nginx, uvicorn's proxy_headers sets the scheme).
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
