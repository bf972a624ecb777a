"""Client, Transaction and Plan: the public API over enrich._native."""

from __future__ import annotations

import asyncio
import json as _json
import math
import os
import weakref
from typing import (
    Any,
    Awaitable,
    Callable,
    cast,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _bridge, _errors, _logging, _native
from ._params import json_default
from ._types import HttpResponse

__all__ = ["Client", "Transaction", "SyncTransaction", "Plan", "Record", "OPTIONS"]

#: A row: column name -> decoded value (see the package documentation for the type mapping).
Record = Dict[str, Any]

_ROWS = _native.KIND_ROWS
_ONE = _native.KIND_ONE
_VALUE = _native.KIND_VALUE
_EXECUTE = _native.KIND_EXECUTE

_PROFILES = {None: 0, "default": 0, "postgres": 1, "node": 2, "python": 3}

# The core's one list of client options. Durations are milliseconds in the core and seconds here
# (as in asyncio, asyncpg and httpx).
_SCHEMA: List[Dict[str, Any]] = _json.loads(_native.options_schema())

#: Every client option: name -> {"type", "default", "doc"}, defaults in Python's units (seconds;
#: None: none). The same list as every other front end's (enrich_client_options_schema()).
OPTIONS: Mapping[str, Mapping[str, Any]] = {
    o["name"]: {
        "type": o["type"],
        "default": o["default"] / 1000.0
        if o["type"] == "duration" and o["default"] is not None
        else o["default"],
        "doc": o["doc"],
    }
    for o in _SCHEMA
}

_get_running_loop = asyncio.get_running_loop
_bridge_for = _bridge.bridge_for
_start_soon = _bridge.start_soon
_CancelledError = asyncio.CancelledError


def _ms(seconds: Optional[float], what: str = "timeout") -> int:
    """Seconds (the asyncio / asyncpg / httpx convention) to whole milliseconds; None is the
    default (0 for the core). Zero, negative and non-finite values are errors."""
    if seconds is None:
        return 0
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise _errors.InvalidArgumentError(f"{what} must be a number of seconds or None")
    if not 0 < seconds < 9e9:
        raise _errors.InvalidArgumentError(
            f"{what} must be a positive number of seconds (None: the default), got {seconds!r}"
        )
    return max(1, math.ceil(seconds * 1000))


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise _errors.InvalidArgumentError(f"{what} must be True or False")
    return value


def _batch_type(value: Any) -> str:
    """``batch=``: the SQL type of the key $1 ("bigint"), or None; the core checks the name."""
    if value is None:
        return ""
    if not isinstance(value, str) or not value:
        raise _errors.InvalidArgumentError(
            'batch must be the SQL type of the key $1, such as "bigint"')
    return value


def _query_options(
    timeout: Optional[float], use_primary: Any, coalesce: Any, batch: Any
) -> Tuple[int, bool, bool, str]:
    """A query's keyword options, checked, in the native calls' order: timeout in ms,
    use_primary, coalesce, the batch key's type ("" off)."""
    return (_ms(timeout), _flag(use_primary, "use_primary"), _flag(coalesce, "coalesce"),
            _batch_type(batch))


def _option_value(name: str, kind: str, value: Any) -> Any:
    """One option's Python value in the core's type and unit."""
    if kind == "duration":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _errors.InvalidArgumentError(f"option {name} must be a number of seconds")
        return value * 1000.0  # the core checks the range and rounds up to whole milliseconds
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _errors.InvalidArgumentError(f"option {name} must be a non-negative integer")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _errors.InvalidArgumentError(f"option {name} must be True or False")
        return value
    if kind == "ratio":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _errors.InvalidArgumentError(f"option {name} must be a number from 0 to 1")
        return float(value)
    if kind == "log_level":
        return _logging.core_level(value)
    if kind == "text_list" and not isinstance(value, str):
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise _errors.InvalidArgumentError(f"option {name} must be a list of strings or one string")
        return list(value)
    return value  # text: the core checks the type


def _config_json(dsn: Optional[str], options: Mapping[str, Any]) -> str:
    """The client's options as the core's JSON config (names from the core's option list)."""
    out: Dict[str, Any] = {}
    if dsn is not None:
        out["dsn"] = dsn
    for name, value in options.items():
        if name not in OPTIONS:
            raise _errors.InvalidArgumentError(
                f"unknown option {name!r} (valid options: {', '.join(OPTIONS)})"
            )
        if value is None:
            continue  # the default
        out[name] = _option_value(name, OPTIONS[name]["type"], value)
    if "log_level" not in out:
        out["log_level"] = _logging.core_level(None)
    return _json.dumps(out)


def _python_options(values: Mapping[str, Any]) -> Dict[str, Any]:
    """The core's option values in Python's units (seconds)."""
    out: Dict[str, Any] = {}
    for name, value in values.items():
        kind = OPTIONS[name]["type"] if name in OPTIONS else ""
        out[name] = value / 1000.0 if kind == "duration" and value is not None else value
    return out


def _close_native(handle: Any) -> None:
    # Runs from Client.close()/aclose(), from garbage collection, or at interpreter exit (atexit
    # phase of weakref.finalize): in every case before the interpreter finalises. The native
    # close releases the GIL while the core cancels its work and joins its threads.
    handle.close()


# Built once: json.dumps with any keyword argument builds a new encoder per call.
_encode_inputs = _json.JSONEncoder(default=json_default, separators=(",", ":")).encode
_quote = _json.encoder.encode_basestring_ascii  # the C function json uses for str (ensure_ascii)
_LITERALS = {True: "true", False: "false", None: "null"}


def _scalar_inputs_json(inputs: Mapping[str, Any]) -> Optional[str]:
    """The inputs' JSON, the same text as _encode_inputs gives, when every key is a str and every
    value an int, bool, str or None (what path and query parameters are); else None. About 1 us
    less than the encoder, which builds its C encoder object on every call."""
    parts = []
    for k, v in inputs.items():
        t = type(v)
        if t is int:
            text = int.__repr__(v)
        elif t is str:
            text = _quote(v)
        elif t is bool or v is None:
            text = _LITERALS[v]
        else:
            return None
        if type(k) is not str:
            return None
        parts.append(f"{_quote(k)}:{text}")
    return "{" + ",".join(parts) + "}"


def _inputs_json(inputs: Optional[Mapping[str, Any]], kw: Mapping[str, Any]) -> str:
    if inputs is None:
        merged: Mapping[str, Any] = kw
    elif kw:
        merged = {**inputs, **kw}
    else:
        merged = inputs
    text = _scalar_inputs_json(merged)
    if text is not None:
        return text
    try:
        return _encode_inputs(merged)
    except (TypeError, ValueError) as e:
        raise _errors.InvalidArgumentError(f"plan inputs: {e}") from None


def _profile(profile: Optional[str]) -> int:
    try:
        return _PROFILES[profile]
    except KeyError:
        raise _errors.InvalidArgumentError(
            f"unknown profile {profile!r} (use 'postgres', 'node' or 'python')"
        ) from None


def _http_args(
    headers: Union[Mapping[str, str], Iterable[Tuple[str, str]], None],
    body: Union[bytes, str, None],
    json: Any,
) -> Tuple[Optional[List[Tuple[str, str]]], Optional[bytes]]:
    pairs: Optional[List[Tuple[str, str]]] = None
    if headers is not None:
        items = headers.items() if isinstance(headers, Mapping) else headers
        pairs = [(str(k), str(v)) for k, v in items]
    data: Optional[bytes] = None
    if json is not None:
        if body is not None:
            raise _errors.InvalidArgumentError("pass either body or json, not both")
        data = _json.dumps(json, default=json_default, separators=(",", ":")).encode()
        pairs = pairs or []
        if not any(k.lower() == "content-type" for k, _ in pairs):
            pairs.append(("Content-Type", "application/json"))
    elif body is not None:
        data = body.encode() if isinstance(body, str) else bytes(body)
    return pairs, data


def _response(t: Tuple[int, List[Tuple[str, str]], bytes, float]) -> HttpResponse:
    return HttpResponse(t[0], t[1], t[2], t[3])



async def _native_call(h: Any, start: Any) -> Any:
    """Starts a native operation on the running loop's bridge (``start(bridge, fut)`` returns its
    op id) at the loop's next turn, with the others of this turn (_bridge.start_soon), and awaits
    it; cancelling the awaiting task cancels the native operation."""
    loop = _get_running_loop()
    fut = loop.create_future()
    op = _start_soon(loop, start, fut)
    try:
        return await fut
    except _CancelledError:
        if op:
            h.cancel(op[0])
        raise


async def _native_call_now(h: Any, start: Any) -> Any:
    """:func:`_native_call` started at once: for a transaction's statements, which must reach the
    core in the order they were issued."""
    loop = _get_running_loop()
    fut = loop.create_future()
    op = start(_bridge_for(loop), fut)
    try:
        return await fut
    except _CancelledError:
        h.cancel(op)
        raise


class Plan:
    """A validated plan (named SQL and HTTP steps run concurrently and assembled into one JSON
    document; see docs/plans.md). Immutable; share it between clients, loops and threads."""

    __slots__ = ("_h", "__weakref__")

    def __init__(self, handle: Any) -> None:
        self._h = handle

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"], *, variables: Optional[Mapping[str, str]] = None) -> "Plan":
        """Loads a plan file. ``variables`` fill ``${NAME}`` placeholders; names not given are
        read from the environment (``${NAME:-default}`` falls back to the default)."""
        return cls(_native.plan_load(os.fspath(path), _variables(variables)))

    @classmethod
    def from_dict(cls, plan: Mapping[str, Any], *, variables: Optional[Mapping[str, str]] = None) -> "Plan":
        """A plan given as the same structure as a plan file."""
        return cls.from_json(_json.dumps(plan), variables=variables)

    @classmethod
    def from_json(cls, text: Union[str, bytes], *, variables: Optional[Mapping[str, str]] = None) -> "Plan":
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return cls(_native.plan_from_json(text, _variables(variables)))

    @property
    def name(self) -> str:
        return cast("str", self._h.name)

    def __repr__(self) -> str:
        return f"<enrich.Plan {self.name!r}>"


def _variables(variables: Optional[Mapping[str, str]]) -> Optional[str]:
    if variables is None:
        return None
    return _json.dumps({str(k): str(v) for k, v in variables.items()})


class Client:
    """A pooled, pipelined Postgres client and HTTP client, driven by native I/O threads.

    ``Client(dsn, **options)`` starts the I/O thread(s) at once; connections are opened in the
    background as needed. Options are the core's (one list for every front end; see
    :data:`enrich.OPTIONS` and docs/options.md), all optional, durations in seconds:
    ``Client(dsn, max_connections=8, acquire_timeout=2.0, http2=False)``. ``log_level`` takes
    "debug" .. "off" or a ``logging`` level (default: the effective level of the "enrich"
    logger). An unknown name raises :class:`enrich.InvalidArgumentError` listing the valid ones.

    A client may be used from any number of event loops and threads at once. Close it with
    ``await client.aclose()``, ``client.close()``, ``async with`` / ``with``; otherwise it is
    closed when garbage collected or at interpreter exit.
    """

    __slots__ = ("_h", "_finalizer", "_tracing", "_trace_query_text", "__weakref__")

    def __init__(self, dsn: Optional[str] = None, **options: Any) -> None:
        config = _config_json(dsn, options)
        _logging.ensure_started()
        self._h = _native.create_client(config, True)
        # tracing=True: spans through opentelemetry-api when it is installed (docs/observability.md)
        self._tracing = options.get("tracing") is True
        self._trace_query_text = options.get("trace_query_text") is True  # db.query.text
        self._finalizer = weakref.finalize(self, _close_native, self._h)

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._h.closed

    def close(self) -> None:
        """Cancels what is in flight (those awaits raise :class:`enrich.OperationCancelledError`), closes the
        connections and joins the I/O threads. Blocks briefly; idempotent."""
        self._finalizer()

    async def aclose(self) -> None:
        """:meth:`close` without blocking the event loop: the native close (which cancels what is
        in flight and joins the I/O threads, with the GIL released) runs in a worker thread while
        the loop goes on delivering the cancelled operations' completions."""
        if self._h.closed:
            return
        await asyncio.get_running_loop().run_in_executor(None, self._finalizer)

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def metrics(self) -> List[Dict[str, Any]]:
        """Counters, gauges and latency histograms (docs/observability.md) in the Prometheus data
        model: ``[{"name", "type", "help", "samples": [{"name", "labels", "value"}]}]``; empty
        once closed. :class:`enrich.PrometheusCollector` serves them to prometheus_client."""
        if self._h.closed:
            return []
        return cast("List[Dict[str, Any]]", _json.loads(self._h.metrics()))

    def stats(self) -> Dict[str, Any]:
        """Pool counters: connections, idle, in_transaction, in_flight, waiting, connects,
        connect_failures, cancels_sent, pending_operations (the primary's), and
        replica_connections, replica_reads, replica_fallbacks (docs/deploy.md)."""
        _bridge.sweep()
        return cast("Dict[str, Any]", _json.loads(self._h.stats()))

    def options(self) -> Dict[str, Any]:
        """The options this client runs with, every one by name (durations in seconds, None
        for "none"; the DSN's password redacted)."""
        return _python_options(_json.loads(self._h.options()))

    def __repr__(self) -> str:
        return f"<enrich.Client {'closed' if self.closed else 'open'}>"

    # ---- queries -----------------------------------------------------------------------------

    async def _query(
        self,
        sql: str,
        args: Sequence[Any],
        kind: int,
        timeout: Optional[float],
        use_primary: bool,
        coalesce: bool,
        batch: Optional[str],
    ) -> Any:
        """One statement through this loop's bridge; task cancellation cancels the native op."""
        ms, primary, shared, key = _query_options(timeout, use_primary, coalesce, batch)
        if self._tracing:
            from . import _tracing

            return await _tracing.traced_query(sql, self._trace_query_text, lambda: _native_call(
                self._h,
                lambda b, fut: b.query(self._h, fut, sql, args, kind, ms, primary, shared, key)))
        return await _native_call(
            self._h, lambda b, fut: b.query(self._h, fut, sql, args, kind, ms, primary, shared, key))

    async def fetch(
        self,
        sql: str,
        *args: Any,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        coalesce: bool = False,
        batch: Optional[str] = None,
    ) -> List[Record]:
        """All rows, each a dict of column name -> value. ``coalesce=True`` shares the execution of
        an identical statement in flight (same SQL and arguments); ``batch="bigint"`` sends the
        statement with those of other callers in the same turn as one statement over their keys
        ($1, of that SQL type), each getting exactly its own rows. Both only for statements that
        merely read (docs/options.md); every query method takes them."""
        rows = await self._query(sql, args, _ROWS, timeout, use_primary, coalesce, batch)
        return cast("List[Record]", rows)

    async def fetch_one(
        self,
        sql: str,
        *args: Any,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        coalesce: bool = False,
        batch: Optional[str] = None,
    ) -> Optional[Record]:
        """The first row, or None."""
        row = await self._query(sql, args, _ONE, timeout, use_primary, coalesce, batch)
        return cast("Optional[Record]", row)

    async def fetch_value(
        self,
        sql: str,
        *args: Any,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        coalesce: bool = False,
        batch: Optional[str] = None,
    ) -> Any:
        """The first column of the first row, or None."""
        return await self._query(sql, args, _VALUE, timeout, use_primary, coalesce, batch)

    async def execute(
        self,
        sql: str,
        *args: Any,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        coalesce: bool = False,
        batch: Optional[str] = None,
    ) -> str:
        """Runs a statement; returns its command tag ("INSERT 0 1")."""
        tag = await self._query(sql, args, _EXECUTE, timeout, use_primary, coalesce, batch)
        return cast("str", tag)

    def transaction(self, *, timeout: Optional[float] = None) -> "Transaction":
        """``async with client.transaction() as tx:`` commits on success and rolls back on an
        exception. The transaction has a dedicated connection."""
        return Transaction(self, timeout)

    # ---- HTTP --------------------------------------------------------------------------------

    async def http_get(
        self,
        url: str,
        *,
        headers: Union[Mapping[str, str], Iterable[Tuple[str, str]], None] = None,
        timeout: Optional[float] = None,
        retry: bool = False,
    ) -> HttpResponse:
        """GET ``url``. ``retry=True``: retry failed attempts within the client's retry budget
        (off by default)."""
        return await self.http_request("GET", url, headers=headers, timeout=timeout, retry=retry)

    async def http_request(
        self,
        method: str,
        url: str,
        *,
        headers: Union[Mapping[str, str], Iterable[Tuple[str, str]], None] = None,
        body: Union[bytes, str, None] = None,
        json: Any = None,
        timeout: Optional[float] = None,
        retry: bool = False,
    ) -> HttpResponse:
        """Sends a request; any status is a response, transport failures raise."""
        pairs, data = _http_args(headers, body, json)
        ms = _ms(timeout)
        return _response(await _native_call(
            self._h, lambda b, fut: b.http(self._h, fut, method, url, pairs, data, ms, retry)))

    # ---- plans -------------------------------------------------------------------------------

    async def run_json(
        self,
        plan: Plan,
        inputs: Optional[Mapping[str, Any]] = None,
        /,
        *,
        profile: Optional[str] = None,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        **kw_inputs: Any,
    ) -> bytes:
        """Runs ``plan`` and returns its JSON document as bytes (ready for a ``Response``), in
        the plan's own profile unless ``profile`` says otherwise. Inputs come as keywords or as
        a mapping (needed for inputs named ``profile``, ``timeout`` or ``use_primary``);
        ``timeout`` is the caller's deadline in seconds (the plan's own deadline also applies).
        ``use_primary=True`` runs it on the primary even where a read replica could serve."""
        if self._tracing:
            from . import _tracing

            call = self._plan_call(plan, inputs, kw_inputs, profile, timeout, use_primary)
            return await _tracing.traced_plan(plan.name, call)
        # The hot path of every endpoint: the run started and awaited here, without the closures
        # and the extra coroutine of _plan_call/_native_call (about 1.5 us of the loop's CPU).
        inputs_json = _inputs_json(inputs, kw_inputs)
        prof = 0 if profile is None else _profile(profile)
        ms = 0 if timeout is None else _ms(timeout)
        if use_primary is not False:
            _flag(use_primary, "use_primary")
        h, plan_h = self._h, plan._h
        loop = _get_running_loop()
        fut = loop.create_future()
        op = _start_soon(loop, lambda b, f: b.plan(h, plan_h, f, inputs_json, prof, ms, use_primary,
                                                   False, None), fut)
        try:
            return cast(bytes, await fut)
        except _CancelledError:
            if op:
                h.cancel(op[0])
            raise

    async def run_with_timings(
        self,
        plan: Plan,
        inputs: Optional[Mapping[str, Any]] = None,
        /,
        *,
        profile: Optional[str] = None,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        **kw_inputs: Any,
    ) -> Tuple[bytes, Dict[str, Any]]:
        """:meth:`run_json` plus where the time went: ``(document, timings)``, the timings as
        docs/observability.md describes them (microseconds; ``started_unix_ns``, ``total_us``,
        and per step ``queued_us``, ``duration_us``, ``shared_sync``, ``status``, ...)."""
        call = self._plan_call(plan, inputs, kw_inputs, profile, timeout, use_primary)
        document, timings = await call(None, True)
        return document, _json.loads(timings)

    def _plan_call(
        self,
        plan: Plan,
        inputs: Optional[Mapping[str, Any]],
        kw_inputs: Mapping[str, Any],
        profile: Optional[str],
        timeout: Optional[float],
        use_primary: bool,
    ) -> Callable[[Optional[Tuple[str, str]], bool], Awaitable[Any]]:
        """Checks a run's arguments and returns ``call(trace, timings)``: the native run, giving the
        document bytes, or ``(document, timings JSON)`` when ``timings`` is true."""
        inputs_json = _inputs_json(inputs, kw_inputs)
        prof, ms, primary = _profile(profile), _ms(timeout), _flag(use_primary, "use_primary")
        return lambda trace, timings: _native_call(
            self._h, lambda b, fut: b.plan(self._h, plan._h, fut, inputs_json, prof, ms, primary,
                                           timings, trace))

    async def run(
        self,
        plan: Plan,
        inputs: Optional[Mapping[str, Any]] = None,
        /,
        *,
        profile: Optional[str] = None,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        **kw_inputs: Any,
    ) -> Dict[str, Any]:
        """Runs ``plan`` and returns its document parsed (``json.loads``) into a dict."""
        return cast("Dict[str, Any]", _json.loads(
            await self.run_json(
                plan, inputs, profile=profile, timeout=timeout, use_primary=use_primary, **kw_inputs
            )
        ))

    # ---- blocking variants (release the GIL while waiting) ------------------------------------

    def _sync_query(
        self,
        sql: str,
        args: Sequence[Any],
        kind: int,
        timeout: Optional[float],
        use_primary: bool,
        coalesce: bool,
        batch: Optional[str],
    ) -> Any:
        return _native.sync_query(
            self._h, None, sql, args, kind, *_query_options(timeout, use_primary, coalesce, batch))

    def fetch_sync(
        self,
        sql: str,
        *args: Any,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        coalesce: bool = False,
        batch: Optional[str] = None,
    ) -> List[Record]:
        rows = self._sync_query(sql, args, _ROWS, timeout, use_primary, coalesce, batch)
        return cast("List[Record]", rows)

    def fetch_one_sync(
        self,
        sql: str,
        *args: Any,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        coalesce: bool = False,
        batch: Optional[str] = None,
    ) -> Optional[Record]:
        rows = self._sync_query(sql, args, _ONE, timeout, use_primary, coalesce, batch)
        return cast("Optional[Record]", rows)

    def fetch_value_sync(
        self,
        sql: str,
        *args: Any,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        coalesce: bool = False,
        batch: Optional[str] = None,
    ) -> Any:
        return self._sync_query(sql, args, _VALUE, timeout, use_primary, coalesce, batch)

    def execute_sync(
        self,
        sql: str,
        *args: Any,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        coalesce: bool = False,
        batch: Optional[str] = None,
    ) -> str:
        rows = self._sync_query(sql, args, _EXECUTE, timeout, use_primary, coalesce, batch)
        return cast("str", rows)

    def transaction_sync(self, *, timeout: Optional[float] = None) -> "SyncTransaction":
        """``with client.transaction_sync() as tx:`` (blocking)."""
        return SyncTransaction(self, timeout)

    def http_get_sync(
        self,
        url: str,
        *,
        headers: Union[Mapping[str, str], Iterable[Tuple[str, str]], None] = None,
        timeout: Optional[float] = None,
        retry: bool = False,
    ) -> HttpResponse:
        return self.http_request_sync("GET", url, headers=headers, timeout=timeout, retry=retry)

    def http_request_sync(
        self,
        method: str,
        url: str,
        *,
        headers: Union[Mapping[str, str], Iterable[Tuple[str, str]], None] = None,
        body: Union[bytes, str, None] = None,
        json: Any = None,
        timeout: Optional[float] = None,
        retry: bool = False,
    ) -> HttpResponse:
        pairs, data = _http_args(headers, body, json)
        return _response(_native.sync_http(self._h, method, url, pairs, data, _ms(timeout), retry))

    def run_json_sync(
        self,
        plan: Plan,
        inputs: Optional[Mapping[str, Any]] = None,
        /,
        *,
        profile: Optional[str] = None,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        **kw_inputs: Any,
    ) -> bytes:
        inputs_json = _inputs_json(inputs, kw_inputs)
        return cast(bytes, _native.sync_plan(self._h, plan._h, inputs_json, _profile(profile),
                                             _ms(timeout), _flag(use_primary, "use_primary"),
                                             False, None))

    def run_sync(
        self,
        plan: Plan,
        inputs: Optional[Mapping[str, Any]] = None,
        /,
        *,
        profile: Optional[str] = None,
        timeout: Optional[float] = None,
        use_primary: bool = False,
        **kw_inputs: Any,
    ) -> Dict[str, Any]:
        return cast("Dict[str, Any]", _json.loads(self.run_json_sync(
            plan, inputs, profile=profile, timeout=timeout, use_primary=use_primary, **kw_inputs)))


class Transaction:
    """A transaction on a dedicated connection (``Client.transaction()``).

    ``async with`` starts it, commits when the block succeeds and rolls back when it raises
    (also when the task is cancelled). Or call :meth:`start`, :meth:`commit`, :meth:`rollback`.
    Statements inside run in order. Set the isolation level with a first statement
    (``await tx.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")``).
    """

    __slots__ = ("_client", "_timeout", "_tx", "_state")

    def __init__(self, client: Client, timeout: Optional[float]) -> None:
        self._client = client
        self._timeout = _ms(timeout)
        self._tx: Any = None
        self._state = "new"

    async def start(self) -> "Transaction":
        if self._state != "new":
            raise _errors.InvalidArgumentError(f"transaction already {self._state}")
        self._state = "starting"
        h = self._client._h
        loop = _get_running_loop()
        fut = loop.create_future()
        op = _bridge_for(loop).tx(h, None, fut, 0, self._timeout)
        try:
            self._tx = await fut
        except _CancelledError:
            h.cancel(op)  # a transaction that still arrives is freed (rolled back) unseen
            self._state = "failed"
            raise
        except BaseException:
            self._state = "failed"
            raise
        self._state = "started"
        return self

    async def _end(self, what: int) -> None:
        if self._state != "started":
            raise _errors.ClosedError(f"transaction is {self._state}")
        self._state = "committed" if what == 1 else "rolled back"
        h = self._client._h
        tx = self._tx
        loop = _get_running_loop()
        fut = loop.create_future()
        try:
            op = _bridge_for(loop).tx(h, tx, fut, what, 0)
            try:
                await fut
            except _CancelledError:
                h.cancel(op)
                raise
        finally:
            self._tx = None
            tx.free()  # rolls back if the commit never ran; frees the handle

    async def commit(self) -> None:
        await self._end(1)

    async def rollback(self) -> None:
        await self._end(2)

    async def __aenter__(self) -> "Transaction":
        return await self.start()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._state != "started":
            return
        if exc_type is None:
            await self.commit()
        else:
            # No await here: the task may be cancelled. Freeing the handle rolls back on the I/O
            # thread and returns the connection to the pool.
            self._state = "rolled back"
            tx, self._tx = self._tx, None
            tx.free()

    def _check(self) -> Any:
        if self._state != "started":
            raise _errors.ClosedError(f"transaction is {self._state}")
        return self._tx

    async def _query(self, sql: str, args: Sequence[Any], kind: int, timeout: Optional[float]) -> Any:
        tx = self._check()
        h = self._client._h
        ms = _ms(timeout)
        return await _native_call_now(h, lambda b, fut: b.tx_query(h, tx, fut, sql, args, kind, ms))

    async def fetch(self, sql: str, *args: Any, timeout: Optional[float] = None) -> List[Record]:
        return cast("List[Record]", await self._query(sql, args, _ROWS, timeout))

    async def fetch_one(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Optional[Record]:
        return cast("Optional[Record]", await self._query(sql, args, _ONE, timeout))

    async def fetch_value(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Any:
        return await self._query(sql, args, _VALUE, timeout)

    async def execute(self, sql: str, *args: Any, timeout: Optional[float] = None) -> str:
        return cast("str", await self._query(sql, args, _EXECUTE, timeout))

    def __repr__(self) -> str:
        return f"<enrich.Transaction {self._state}>"


class SyncTransaction:
    """The blocking counterpart of :class:`Transaction` (``Client.transaction_sync()``)."""

    __slots__ = ("_client", "_timeout", "_tx", "_state")

    def __init__(self, client: Client, timeout: Optional[float]) -> None:
        self._client = client
        self._timeout = _ms(timeout)
        self._tx: Any = None
        self._state = "new"

    def start(self) -> "SyncTransaction":
        if self._state != "new":
            raise _errors.InvalidArgumentError(f"transaction already {self._state}")
        self._state = "failed"
        self._tx = _native.sync_tx(self._client._h, None, 0, self._timeout)
        self._state = "started"
        return self

    def _end(self, what: int) -> None:
        if self._state != "started":
            raise _errors.ClosedError(f"transaction is {self._state}")
        self._state = "committed" if what == 1 else "rolled back"
        tx, self._tx = self._tx, None
        try:
            _native.sync_tx(self._client._h, tx, what, 0)
        finally:
            tx.free()

    def commit(self) -> None:
        self._end(1)

    def rollback(self) -> None:
        self._end(2)

    def __enter__(self) -> "SyncTransaction":
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._state != "started":
            return
        if exc_type is None:
            self.commit()
        else:
            self._state = "rolled back"
            tx, self._tx = self._tx, None
            tx.free()

    def _query(self, sql: str, args: Sequence[Any], kind: int, timeout: Optional[float]) -> Any:
        if self._state != "started":
            raise _errors.ClosedError(f"transaction is {self._state}")
        return _native.sync_query(
            self._client._h, self._tx, sql, args, kind, _ms(timeout), False, False, "")

    def fetch(self, sql: str, *args: Any, timeout: Optional[float] = None) -> List[Record]:
        return cast("List[Record]", self._query(sql, args, _ROWS, timeout))

    def fetch_one(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Optional[Record]:
        return cast("Optional[Record]", self._query(sql, args, _ONE, timeout))

    def fetch_value(self, sql: str, *args: Any, timeout: Optional[float] = None) -> Any:
        return self._query(sql, args, _VALUE, timeout)

    def execute(self, sql: str, *args: Any, timeout: Optional[float] = None) -> str:
        return cast("str", self._query(sql, args, _EXECUTE, timeout))
