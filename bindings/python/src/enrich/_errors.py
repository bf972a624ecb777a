"""The exception hierarchy. Every failure of enrich raises an :class:`Error` subclass.

The classes that have a builtin counterpart also derive from it, so that generic handlers work:
:class:`TimeoutError` (and :class:`PoolTimeout`) is a ``builtins.TimeoutError``,
:class:`ConnectionError` a ``builtins.ConnectionError``, :class:`InvalidArgument` a ``ValueError``,
:class:`NotFound` a ``LookupError``.
"""

from __future__ import annotations

import builtins
from typing import Dict, Type

__all__ = [
    "Error",
    "ConnectionError",
    "TimeoutError",
    "PoolTimeout",
    "PoolQueueFull",
    "Cancelled",
    "QueryError",
    "InvalidArgument",
    "NotFound",
    "HttpError",
    "CircuitOpen",
    "Closed",
    "InternalError",
    "OutOfMemory",
]


class Error(Exception):
    """Base class of every enrich error.

    Attributes:
        message: what went wrong.
        code: the stable lower-case name of the error's category (``"query"``, ``"timeout"``...).
        status: the C API's numeric status (``enrich_status``).
        sqlstate: the five-character SQLSTATE of a server error, else ``""``.
        detail, hint: the server's DETAIL and HINT fields, else ``""``.
        retriable: True when repeating the operation later may succeed.
    """

    code: str = "internal"
    status: int = 12

    def __init__(
        self,
        message: str = "",
        *,
        sqlstate: str = "",
        detail: str = "",
        hint: str = "",
        retriable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint
        self.retriable = retriable

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        if self.sqlstate:
            text += f" [SQLSTATE {self.sqlstate}]"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, sqlstate={self.sqlstate!r})"

    def __reduce__(self):  # picklable across processes despite the keyword-only arguments
        return (
            _rebuild,
            (type(self), self.message, self.sqlstate, self.detail, self.hint, self.retriable),
        )


def _rebuild(cls, message, sqlstate, detail, hint, retriable):
    return cls(message, sqlstate=sqlstate, detail=detail, hint=hint, retriable=retriable)


class ConnectionError(Error, builtins.ConnectionError):  # noqa: A001 (shadows on purpose)
    """Could not connect to the database, or the connection broke while the operation ran."""

    code, status = "connection", 1


class TimeoutError(Error, builtins.TimeoutError):  # noqa: A001
    """A timeout or deadline expired (query timeout, HTTP timeout, plan deadline)."""

    code, status = "timeout", 2


class Cancelled(Error):
    """The native operation was cancelled by something other than the awaiting task, e.g. the
    client was closed while it ran. (A cancelled asyncio task sees asyncio.CancelledError.)"""

    code, status = "cancelled", 3


class PoolTimeout(TimeoutError):
    """No connection became available within the pool's acquire timeout."""

    code, status = "pool_timeout", 4


class PoolQueueFull(Error):
    """The pool's wait queue was full (``max_waiting``); the request was refused at once."""

    code, status = "pool_queue_full", 5


class QueryError(Error):
    """The server rejected the statement; see :attr:`sqlstate`, :attr:`detail`, :attr:`hint`."""

    code, status = "query", 6


class InvalidArgument(Error, ValueError):
    """A bad argument, option, plan, plan input or query parameter; nothing was sent."""

    code, status = "invalid_argument", 7


class NotFound(Error, LookupError):
    """A required row did not exist (a plan step marked ``required``)."""

    code, status = "not_found", 8


class HttpError(Error):
    """An HTTP transfer failed (connection refused, protocol error, too large, redirect loop).
    Any response with a status code is a result, not an error."""

    code, status = "http", 9


class CircuitOpen(HttpError):
    """The host's circuit breaker is open; the request was not attempted."""

    code, status = "circuit_open", 10


class Closed(Error):
    """The client (or transaction) was already closed."""

    code, status = "closed", 11


class InternalError(Error):
    """A bug in enrich."""

    code, status = "internal", 12


class OutOfMemory(Error, MemoryError):
    code, status = "no_memory", 13


_BY_STATUS: Dict[int, Type[Error]] = {
    cls.status: cls
    for cls in (
        ConnectionError,
        TimeoutError,
        Cancelled,
        PoolTimeout,
        PoolQueueFull,
        QueryError,
        InvalidArgument,
        NotFound,
        HttpError,
        CircuitOpen,
        Closed,
        InternalError,
        OutOfMemory,
    )
}


def from_native(
    status: int,
    name: str,
    message: str,
    sqlstate: str,
    detail: str,
    hint: str,
    retriable: bool,
) -> Error:
    """Called by the native module to build the exception for a failed operation."""
    cls = _BY_STATUS.get(status, InternalError)
    return cls(message, sqlstate=sqlstate, detail=detail, hint=hint, retriable=retriable)
