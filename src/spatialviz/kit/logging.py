"""Structured logs: JSON with ECS field names in production, readable lines in development."""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from typing import Any

import structlog
from structlog.types import EventDict, Processor

from spatialviz.kit.redact import redact_secrets

_ECS_RENAMES = {
    "timestamp": "@timestamp",
    "level": "log.level",
    "logger": "log.logger",
    "event": "message",
    "request_id": "http.request.id",
    "method": "http.request.method",
    "path": "url.path",
    "status": "http.response.status_code",
    "duration_ms": "event.duration_ms",
    "exception": "error.stack_trace",
}


def _to_ecs(_logger: Any, _name: str, event: EventDict) -> EventDict:
    out: EventDict = {"ecs.version": "8.11.0"}
    for key, value in event.items():
        out[_ECS_RENAMES.get(key, key)] = value
    return out


def configure_logging(fmt: str, level: str = "INFO") -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        # Tracebacks become text here, in both formats, so that the redaction after them
        # sees them (the development renderer's own tracebacks print local variables:
        # API keys and tokens among them, issue 16).
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: list[Processor]
    if fmt == "json":
        renderer = [_to_ecs, structlog.processors.JSONRenderer()]
    else:
        # Plain tracebacks: the rich one renders every frame's locals, which took minutes
        # for a request holding a large body, with the event loop stopped meanwhile.
        renderer = [
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
            )
        ]
    structlog.configure(
        # Drop events below the level before any processor runs: an access line per request
        # is otherwise timestamped and merged even when INFO is off.
        processors=[
            structlog.stdlib.filter_by_level,
            _capture_exc_info,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [_off_the_caller(handler)]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def _capture_exc_info(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """``log.exception()`` means "the exception being handled": take it now, since the
    record is rendered later, on the listener's thread."""
    if event.get("exc_info") is True:
        event["exc_info"] = sys.exc_info()
    return event


class _PassThroughQueueHandler(logging.handlers.QueueHandler):
    """Hands the record over untouched: rendering (tracebacks included) and the write to
    stderr happen on the listener's thread, so a slow terminal or a full pipe never stops
    the event loop."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


_listener: logging.handlers.QueueListener | None = None


def _off_the_caller(handler: logging.Handler) -> logging.Handler:
    global _listener
    if _listener is None:
        atexit.register(_stop_listener)  # write out what is queued before exiting
    _stop_listener()  # configured again (another app in the same process)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, handler)
    _listener.start()
    return _PassThroughQueueHandler(records)


def _stop_listener() -> None:
    if _listener is not None and _listener._thread is not None:
        _listener.stop()
