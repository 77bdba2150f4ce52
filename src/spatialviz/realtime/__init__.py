"""The one WebSocket (``/api/v1/ws``): versioned protocol, per-channel access checks."""
