"""Logs never stop the event loop: records are rendered and written on the listener's
thread, console tracebacks never render frame locals (the rich renderer took minutes for a
request holding a large body), and outside development the format is JSON."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from pathlib import Path

import structlog

from spatialviz.config import Settings
from spatialviz.kit import logging as kit_logging


def _rendered(fmt: str) -> tuple[str, set[str]]:
    kit_logging.configure_logging(fmt, "INFO")
    listener = kit_logging._listener
    assert listener is not None
    out = io.StringIO()
    handler = listener.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    threads: set[str] = set()
    original = handler.emit

    def emit(record: logging.LogRecord) -> None:
        threads.add(threading.current_thread().name)
        original(record)

    handler.emit = emit  # type: ignore[method-assign]

    def fails() -> None:
        secret_local = "S" * 64
        raise ValueError(f"boom {len(secret_local)}")

    try:
        fails()
    except ValueError:
        structlog.get_logger("test").exception("it_failed")
    kit_logging._stop_listener()  # drains the queue
    return out.getvalue(), threads


def test_console_tracebacks_are_plain_and_rendered_off_the_caller() -> None:
    text, threads = _rendered("console")
    assert "ValueError: boom 64" in text
    assert "S" * 64 not in text  # no frame locals
    assert threading.current_thread().name not in threads


def test_json_outside_development() -> None:
    assert Settings(env="production", secret_key="x" * 64).effective_log_format == "json"
    assert Settings(env="test").effective_log_format == "json"
    assert Settings(env="development").effective_log_format == "console"
    text, _ = _rendered("json")
    assert '"stack_trace"' in text  # error.stack_trace, nested


def test_a_forked_child_writes_its_events(tmp_path: Path) -> None:
    """A Celery prefork worker is forked after logging was configured: it inherits the
    queue but not the listener thread, which must be started again in it."""
    kit_logging.configure_logging("json", "INFO")
    listener = kit_logging._listener
    assert listener is not None
    handler = listener.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    with (tmp_path / "child.log").open("w") as out:
        handler.setStream(out)
        pid = os.fork()
        if pid == 0:  # the child: log, write out what is queued, leave without cleanup
            structlog.get_logger("test").info("from_the_child")
            kit_logging._stop_listener()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        kit_logging._stop_listener()
    assert os.waitstatus_to_exitcode(status) == 0
    assert '"message": "from_the_child"' in (tmp_path / "child.log").read_text()


def test_standard_library_tracebacks_are_formatted_on_the_callers_thread() -> None:
    """A uvicorn/Celery record with an exception: its traceback is text before it reaches
    the listener (formatting parses source, and ``ast`` on two threads at once can crash
    Python 3.11), and the JSON line still carries the error fields and the stack trace."""
    kit_logging.configure_logging("json", "INFO")
    listener = kit_logging._listener
    assert listener is not None
    out = io.StringIO()
    handler = listener.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    handed_over: list[logging.LogRecord] = []
    original = handler.handle

    def handle(record: logging.LogRecord) -> bool:
        handed_over.append(record)
        return original(record)

    handler.handle = handle  # type: ignore[method-assign]
    try:
        raise KeyError("missing-thing")
    except KeyError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    kit_logging._stop_listener()
    assert handed_over
    assert all(record.exc_info is None for record in handed_over)
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["error"]["type"] == "KeyError"
    assert "missing-thing" in line["error"]["message"]
    assert "Traceback" in line["error"]["stack_trace"]
