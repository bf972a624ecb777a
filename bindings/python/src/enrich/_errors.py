"""The exception hierarchy. Every failure of enrich raises an :class:`Error` subclass.

Names follow PEP 8 (``...Error``) and none shadows a builtin. The classes that have a builtin
counterpart also derive from it, so that generic handlers work: :class:`OperationTimeoutError`
(and :class:`PoolTimeoutError`) is a ``builtins.TimeoutError``, :class:`ConnectionFailedError` a
``builtins.ConnectionError``, :class:`InvalidArgumentError` a ``ValueError``,
:class:`NotFoundError` a ``LookupError``, :class:`OutOfMemoryError` a ``MemoryError``.

Server errors are :class:`QueryError`; the common SQLSTATEs have subclasses of their own, as in
asyncpg (:class:`UniqueViolationError`, :class:`ForeignKeyViolationError`, ...), and every server
error carries the fields asyncpg gives (``sqlstate``, ``severity``, ``detail``, ``hint``,
``position``, ``schema_name``, ``table_name``, ``column_name``, ``data_type_name``,
``constraint_name``, ``context``).
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, Sequence, Type

__all__ = [
    "Error",
    "ConnectionFailedError",
    "OperationTimeoutError",
    "PoolTimeoutError",
    "PoolQueueFullError",
    "OperationCancelledError",
    "QueryError",
    "IntegrityConstraintViolationError",
    "UniqueViolationError",
    "ForeignKeyViolationError",
    "NotNullViolationError",
    "CheckViolationError",
    "UndefinedTableError",
    "UndefinedColumnError",
    "PostgresSyntaxError",
    "SerializationError",
    "DeadlockDetectedError",
    "InvalidArgumentError",
    "NotFoundError",
    "HttpError",
    "CircuitOpenError",
    "ClosedError",
    "InternalError",
    "OutOfMemoryError",
]

# The server's further fields, in the order of the C API's enrich_diag, by asyncpg's names.
DIAG_FIELDS = (
    "severity",
    "position",
    "schema_name",
    "table_name",
    "column_name",
    "data_type_name",
    "constraint_name",
    "context",
)


class Error(Exception):
    """Base class of every enrich error.

    Attributes:
        message: what went wrong.
        code: the stable lower-case name of the error's category (``"query"``, ``"timeout"``...).
        status: the C API's numeric status (``enrich_status``).
        sqlstate: the five-character SQLSTATE of a server error, else ``""``.
        detail, hint: the server's DETAIL and HINT fields, else ``""``.
        severity, position, schema_name, table_name, column_name, data_type_name,
        constraint_name, context: the server's other fields (asyncpg's names), else ``""``.
        retriable: True when repeating the operation later may succeed.
    """

    severity = position = schema_name = table_name = column_name = ""
    data_type_name = constraint_name = context = ""

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
        **fields: str,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint
        self.retriable = retriable
        for name, value in fields.items():
            if name not in DIAG_FIELDS:
                raise TypeError(f"unknown error field {name!r}")
            setattr(self, name, value)

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        if self.sqlstate:
            text += f" [SQLSTATE {self.sqlstate}]"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, sqlstate={self.sqlstate!r})"

    def __reduce__(self) -> Any:  # picklable across processes despite the keyword-only arguments
        fields = {name: getattr(self, name) for name in DIAG_FIELDS if getattr(self, name)}
        return (
            _rebuild,
            (type(self), self.message, self.sqlstate, self.detail, self.hint, self.retriable, fields),
        )


def _rebuild(cls: Type["Error"], message: str, sqlstate: str, detail: str, hint: str,
             retriable: bool, fields: Dict[str, str]) -> "Error":
    return cls(message, sqlstate=sqlstate, detail=detail, hint=hint, retriable=retriable, **fields)


class ConnectionFailedError(Error, builtins.ConnectionError):
    """Could not connect to the database, or the connection broke while the operation ran."""

    code, status = "connection", 1


class OperationTimeoutError(Error, builtins.TimeoutError):
    """A timeout or deadline expired (query timeout, HTTP timeout, plan deadline)."""

    code, status = "timeout", 2


class OperationCancelledError(Error):
    """The native operation was cancelled by something other than the awaiting task, e.g. the
    client was closed while it ran. (A cancelled asyncio task sees asyncio.CancelledError.)"""

    code, status = "cancelled", 3


class PoolTimeoutError(OperationTimeoutError):
    """No connection became available within the pool's acquire timeout."""

    code, status = "pool_timeout", 4


class PoolQueueFullError(Error):
    """The pool's wait queue was full (``max_waiting``); the request was refused at once."""

    code, status = "pool_queue_full", 5


class QueryError(Error):
    """The server rejected the statement; see :attr:`sqlstate`, :attr:`detail`, :attr:`hint`
    and the other fields. Common SQLSTATEs raise the subclasses below."""

    code, status = "query", 6


class IntegrityConstraintViolationError(QueryError):
    """SQLSTATE class 23: a constraint was violated."""


class UniqueViolationError(IntegrityConstraintViolationError):
    """23505"""


class ForeignKeyViolationError(IntegrityConstraintViolationError):
    """23503"""


class NotNullViolationError(IntegrityConstraintViolationError):
    """23502"""


class CheckViolationError(IntegrityConstraintViolationError):
    """23514"""


class UndefinedTableError(QueryError):
    """42P01"""


class UndefinedColumnError(QueryError):
    """42703"""


class PostgresSyntaxError(QueryError):
    """42601 (asyncpg's name: ``SyntaxError`` is a builtin)"""


class SerializationError(QueryError):
    """40001: retry the transaction."""


class DeadlockDetectedError(QueryError):
    """40P01: retry the transaction."""


_BY_SQLSTATE: Dict[str, Type[QueryError]] = {
    "23505": UniqueViolationError,
    "23503": ForeignKeyViolationError,
    "23502": NotNullViolationError,
    "23514": CheckViolationError,
    "42P01": UndefinedTableError,
    "42703": UndefinedColumnError,
    "42601": PostgresSyntaxError,
    "40001": SerializationError,
    "40P01": DeadlockDetectedError,
}


class InvalidArgumentError(Error, ValueError):
    """A bad argument, option, plan, plan input or query parameter; nothing was sent."""

    code, status = "invalid_argument", 7


class NotFoundError(Error, LookupError):
    """A required row did not exist (a plan step marked ``required``)."""

    code, status = "not_found", 8


class HttpError(Error):
    """An HTTP transfer failed (connection refused, protocol error, too large, redirect loop).
    Any response with a status code is a result, not an error."""

    code, status = "http", 9


class CircuitOpenError(HttpError):
    """The host's circuit breaker is open; the request was not attempted."""

    code, status = "circuit_open", 10


class ClosedError(Error):
    """The client (or transaction) was already closed."""

    code, status = "closed", 11


class InternalError(Error):
    """A bug in enrich."""

    code, status = "internal", 12


class OutOfMemoryError(Error, MemoryError):
    code, status = "no_memory", 13


_BY_STATUS: Dict[int, Type[Error]] = {
    cls.status: cls
    for cls in (
        ConnectionFailedError,
        OperationTimeoutError,
        OperationCancelledError,
        PoolTimeoutError,
        PoolQueueFullError,
        QueryError,
        InvalidArgumentError,
        NotFoundError,
        HttpError,
        CircuitOpenError,
        ClosedError,
        InternalError,
        OutOfMemoryError,
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
    diag: Sequence[str] = (),
) -> Error:
    """Called by the native module to build the exception for a failed operation; ``diag``: the
    server's further fields in :data:`DIAG_FIELDS` order."""
    cls: Type[Error] = _BY_STATUS.get(status, InternalError)
    if cls is QueryError:
        cls = _BY_SQLSTATE.get(sqlstate) or (
            IntegrityConstraintViolationError if sqlstate.startswith("23") else QueryError
        )
    fields = {k: v for k, v in zip(DIAG_FIELDS, diag) if v}
    return cls(message, sqlstate=sqlstate, detail=detail, hint=hint, retriable=retriable, **fields)
