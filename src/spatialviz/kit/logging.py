"""Structured logs: JSON with ECS field names in production, readable lines in development."""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import multiprocessing.util
import os
import queue
import sys
import traceback
from typing import Any

import structlog
from structlog.types import EventDict, Processor

from spatialviz import __version__
from spatialviz.kit.redact import redact_secrets

ECS_VERSION = "8.11.0"
SERVICE_NAME = "spatialviz"
#: Our own fields, where ECS has none: one namespace, nested like the rest.
NAMESPACE = "spatialviz"

#: An event key and the field it becomes, where that is not ``spatialviz.<key>``: the ECS
#: field when ECS has one for it, else a grouped place in our namespace.
FIELD_PATHS: dict[str, tuple[str, ...]] = {
    "timestamp": ("@timestamp",),
    "event": ("message",),
    "level": ("log", "level"),
    "logger": ("log", "logger"),
    "env": ("service", "environment"),
    "request_id": ("http", "request", "id"),
    "method": ("http", "request", "method"),
    "status": ("http", "response", "status_code"),
    "path": ("url", "path"),
    "client_ip": ("client", "ip"),
    "duration_ms": ("event", "duration"),  # ECS: nanoseconds, converted below
    "action": ("event", "action"),
    "reason": ("event", "reason"),
    "exception": ("error", "stack_trace"),
    "error": ("error", "message"),
    "error_type": ("error", "type"),
    "actor_id": ("user", "id"),
    "file_path": ("file", "path"),
    "route": (NAMESPACE, "http", "route"),
    "job_id": (NAMESPACE, "job", "id"),
    "kind": (NAMESPACE, "job", "kind"),
    "attempt": (NAMESPACE, "job", "attempt"),
    "queue": (NAMESPACE, "job", "queue"),
    "worker_losses": (NAMESPACE, "job", "worker_losses"),
    "scene_id": (NAMESPACE, "scene", "id"),
    "workspace_id": (NAMESPACE, "workspace", "id"),
    "target_type": (NAMESPACE, "target", "type"),
    "target_id": (NAMESPACE, "target", "id"),
    "api_key_id": (NAMESPACE, "api_key", "id"),
}


def field_path(key: str) -> tuple[str, ...]:
    """Where an event key lands in the JSON document (the index template maps each)."""
    return FIELD_PATHS.get(key) or (NAMESPACE, key)


def _to_ecs(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """Nested objects, not dotted keys, so Elasticsearch maps every line the same way."""
    out: EventDict = {
        "ecs": {"version": ECS_VERSION},
        "service": {"name": SERVICE_NAME, "version": __version__},
    }
    for key, value in event.items():
        if value is None:  # "not known" is no value at all, as Elasticsearch reads it
            continue
        if key == "duration_ms" and isinstance(value, int | float):
            value = round(value * 1_000_000)
        _put(out, field_path(key), value, key)
    # The time first: what a reader of the raw stream looks for.
    if "@timestamp" in out:
        out = {"@timestamp": out.pop("@timestamp"), **out}
    return out


def _put(out: EventDict, path: tuple[str, ...], value: Any, key: str) -> None:
    node = out
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):  # a leaf is already there: keep both lines apart
            out.setdefault(NAMESPACE, {})[f"unplaced_{key}"] = value
            return
        node = child
    node[path[-1]] = value


def _error_fields(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """``error.type`` and ``error.message`` of a logged exception, before its traceback
    becomes text (the redaction after this sees the message too)."""
    exc_info = event.get("exc_info")
    exc = exc_info if isinstance(exc_info, BaseException) else None
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc = exc_info[1]
    if exc is not None:
        event.setdefault("error_type", _qualified_name(type(exc)))
        event.setdefault("error", str(exc)[:1000])
    return event


def configure_logging(fmt: str, level: str = "INFO") -> None:
    json = fmt == "json"
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        *([_error_fields] if json else []),
        _pre_rendered_exception,
        # Tracebacks become text here, in both formats, so that the redaction after them
        # sees them (the development renderer's own tracebacks print local variables:
        # API keys and tokens among them, issue 16).
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: list[Processor]
    if json:
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
    """Hands the record over: rendering and the write to stderr happen on the listener's
    thread, so a slow terminal or a full pipe never stops the event loop.

    Except tracebacks: a record from the standard library (uvicorn, Celery) that carries an
    exception has it formatted here, on the caller's thread. Formatting a traceback parses
    source (Python 3.11's caret positions use ``ast``), and ``ast`` used by two threads at
    once can fail with "AST constructor recursion depth mismatch" (CPython gh-106905);
    structlog's own events format theirs in the caller already (``format_exc_info``)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.spatialviz_exception = "".join(traceback.format_exception(error))
            record.spatialviz_error_type = _qualified_name(type(error))
            record.spatialviz_error = str(error)[:1000]
            record.exc_info = None
            record.exc_text = None
        return record


def _pre_rendered_exception(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """The traceback ``_PassThroughQueueHandler.prepare`` formatted on the caller's thread."""
    record = event.get("_record")
    text = getattr(record, "spatialviz_exception", None)
    if text:
        event["exception"] = text
        event.setdefault("error_type", getattr(record, "spatialviz_error_type", None))
        event.setdefault("error", getattr(record, "spatialviz_error", None))
    return event


def _qualified_name(kind: type[BaseException]) -> str:
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    return f"{module}{kind.__qualname__}"


_listener: logging.handlers.QueueListener | None = None


def _off_the_caller(handler: logging.Handler) -> logging.Handler:
    global _listener
    if _listener is None:
        atexit.register(_stop_listener)  # write out what is queued before exiting
        # Pool processes (multiprocessing) leave through os._exit, past atexit: their own
        # exit hook writes the queue out too.
        multiprocessing.util.Finalize(None, _stop_listener, exitpriority=0)
        # A forked child (a Celery prefork worker) inherits the queue but not the thread
        # that empties it: its events would pile up unwritten.
        os.register_at_fork(after_in_child=_restart_listener_in_child)
    _stop_listener()  # configured again (another app in the same process)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, handler)
    _listener.start()
    return _PassThroughQueueHandler(records)


def _restart_listener_in_child() -> None:
    if _listener is not None and _listener._thread is not None:
        _listener._thread = None  # the parent's thread, absent in this process
        _listener.start()


def _stop_listener() -> None:
    if _listener is not None and _listener._thread is not None:
        _listener.stop()
