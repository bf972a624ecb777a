"""Core log events to the standard ``logging`` module (logger ``"enrich"``).

Every client is created with ``options.log_queue`` pointing at one process-wide queue. The core's
I/O threads only push events to it; a daemon thread (``enrich-log``) waits on the queue's fd
with the GIL released and hands each event to ``logging``, so handlers configured by the
application (structlog's stdlib integration included) receive them. Each record has the event
name and its fields as ``record.enrich_event`` / ``record.enrich_fields``.
"""

from __future__ import annotations

import json
import logging
import os
import select
import threading
from typing import Any, Dict

from . import _native

__all__ = ["logger", "ensure_started", "flush", "core_level"]

logger = logging.getLogger("enrich")

# enrich_log_level: 1 debug, 2 info, 3 warning, 4 error (0 is "the default", never an event).
_LEVELS = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_lock = threading.Lock()
_thread: "threading.Thread | None" = None


def core_level(level: Any = None) -> str:
    """The core's log level name ("debug" .. "off") for a name, a logging level, or (None) the
    effective level of the "enrich" logger, so that the core does not even produce events the
    application would drop."""
    if level is None:
        level = logger.getEffectiveLevel()
    if isinstance(level, str):
        names = {"warn": "warning", "none": "off", "critical": "error"}
        name = names.get(level.lower(), level.lower())
        if name not in ("debug", "info", "warning", "error", "off"):
            from ._errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"unknown log_level {level!r} (debug, info, warning, error, off)"
            ) from None
        return name
    if isinstance(level, bool) or not isinstance(level, int):
        from ._errors import InvalidArgumentError

        raise InvalidArgumentError(f"log_level must be a name or a logging level, got {level!r}")
    if level <= logging.DEBUG:
        return "debug"
    if level <= logging.INFO:
        return "info"
    if level <= logging.WARNING:
        return "warning"
    if level <= logging.CRITICAL:
        return "error"
    return "off"


def _emit(level: int, event: str, fields_json: str) -> None:
    py_level = _LEVELS.get(level, logging.INFO)
    if not logger.isEnabledFor(py_level):
        return
    try:
        fields: Dict[str, Any] = json.loads(fields_json) if fields_json else {}
    except ValueError:
        fields = {"fields": fields_json}
    text = " ".join(f"{k}={v}" for k, v in fields.items())
    logger.log(
        py_level,
        "%s%s%s",
        event,
        " " if text else "",
        text,
        extra={"enrich_event": event, "enrich_fields": fields},
    )


def flush() -> int:
    """Forwards the events waiting in the queue now, on the calling thread; returns how many."""
    count = 0
    while True:
        batch = _native.log_poll(256)
        for level, event, fields in batch:
            try:
                _emit(level, event, fields)
            except Exception:  # a broken handler must not stop the forwarding
                pass
        count += len(batch)
        if len(batch) < 256:
            return count


def _run() -> None:
    poller = select.poll()
    poller.register(_native.log_fd(), select.POLLIN)
    while True:
        poller.poll()  # blocks with the GIL released
        flush()


def ensure_started() -> None:
    global _thread
    if _thread is not None:
        return
    with _lock:
        if _thread is None:
            t = threading.Thread(target=_run, name="enrich-log", daemon=True)
            t.start()
            _thread = t


def _after_fork_in_child() -> None:
    global _thread
    _thread = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
