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

_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}
_lock = threading.Lock()
_thread: "threading.Thread | None" = None


def core_level(level: Any = None) -> int:
    """The core's log level (0 debug .. 4 off) for a name, a logging level, or (None) the
    effective level of the "enrich" logger, so that the core does not even produce events the
    application would drop."""
    if level is None:
        level = logger.getEffectiveLevel()
    if isinstance(level, str):
        names = {"debug": 0, "info": 1, "warning": 2, "warn": 2, "error": 3, "off": 4, "none": 4}
        try:
            return names[level.lower()]
        except KeyError:
            from ._errors import InvalidArgumentError

            raise InvalidArgumentError(f"unknown log_level {level!r}") from None
    level = int(level)
    if level <= logging.DEBUG:
        return 0
    if level <= logging.INFO:
        return 1
    if level <= logging.WARNING:
        return 2
    if level <= logging.CRITICAL:
        return 3
    return 4


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
