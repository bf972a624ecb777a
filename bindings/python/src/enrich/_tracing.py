"""OpenTelemetry spans for a client created with ``tracing=True`` (docs/observability.md).

Imported on the first traced call, never at ``import enrich``; opentelemetry-api itself is
optional: without it a traced call runs untraced (no spans, no traceparent), as it would with
OpenTelemetry's no-op API.

A plan's span is started here, at call time, as a child of the current span; its context is the
traceparent that the plan's HTTP steps send and that the core's log events carry. Step spans are
made after completion from the core's timings, with their native start and end times: the I/O
thread never takes the GIL. Attribute names follow the current semantic conventions.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple, cast

from . import _errors, _native

try:  # optional dependency
    from opentelemetry import context as _otel_context
    from opentelemetry import trace as _trace
    from opentelemetry.propagate import inject as _inject
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # exercised by a test that hides the package
    _trace = None  # type: ignore[assignment]

Trace = Optional[Tuple[str, str]]
# call(trace, timings): the run's document, or (document, timings JSON) when timings is true.
PlanCall = Callable[[Trace, bool], Awaitable[Any]]

_TRACER: Any = None


def _tracer() -> Any:
    global _TRACER
    if _TRACER is None:
        _TRACER = _trace.get_tracer("enrich", _native.version_string())
    return _TRACER


def _fail(span: Any, error: BaseException) -> None:
    code = getattr(error, "code", None) or type(error).__name__
    span.set_attribute("error.type", str(code))
    if isinstance(error, _errors.Error) and getattr(error, "sqlstate", None):
        span.set_attribute("db.response.status_code", error.sqlstate)
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, str(error)))


def _step_spans(parent_ctx: Any, timings: Dict[str, Any]) -> int:
    """One span per step from the core's timings; returns the plan's native end (unix ns)."""
    tracer = _tracer()
    start = int(timings["started_unix_ns"])
    for step in timings.get("steps", []):
        if step.get("skipped"):
            continue
        begin = start + int(step.get("start_us", 0)) * 1000
        end = begin + int(step.get("duration_us", 0)) * 1000
        if step.get("kind") == "http":
            method = step.get("method", "GET")
            attrs: Dict[str, Any] = {"http.request.method": method, "url.full": step.get("url", ""),
                                     "enrich.step": step["name"], "http.request.resend_count":
                                     max(0, int(step.get("attempts", 1)) - 1)}
            if step.get("status"):
                attrs["http.response.status_code"] = int(step["status"])
            span = tracer.start_span(method, context=parent_ctx, kind=SpanKind.CLIENT,
                                     start_time=begin, attributes=attrs)
        else:
            host, _, port = str(step.get("server", "")).rpartition(":")
            attrs = {"db.system.name": "postgresql", "enrich.step": step["name"],
                     "enrich.queued_us": int(step.get("queued_us", 0)),
                     "enrich.wave": int(step.get("wave", 1)),
                     # A read-only wave shares one Sync: its statements share one round trip.
                     "enrich.shared_sync": bool(step.get("shared_sync", False)),
                     "enrich.replica": bool(step.get("replica", False)),
                     # Single-flight: its result came from an execution shared with other calls.
                     "enrich.coalesced": bool(step.get("coalesced", False)),
                     # Batching: its rows came from one statement over this many callers' keys.
                     "enrich.batched": int(step.get("batched", 0))}
            if host:
                attrs["server.address"] = host
                if port.isdigit():
                    attrs["server.port"] = int(port)
            if "rows" in step:
                attrs["db.response.returned_rows"] = int(step["rows"])
            if step.get("operation"):
                attrs["db.operation.name"] = step["operation"]
            if "query" in step:  # only with trace_query_text
                attrs["db.query.text"] = step["query"]
            if step.get("sqlstate"):
                attrs["db.response.status_code"] = step["sqlstate"]
            span = tracer.start_span(f"enrich.step {step['name']}", context=parent_ctx,
                                     kind=SpanKind.CLIENT, start_time=begin, attributes=attrs)
        if step.get("error"):
            span.set_attribute("error.type", step["error"])
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=end + int(step.get("encode_us", 0)) * 1000)
    return start + int(timings["total_us"]) * 1000


async def traced_plan(plan_name: str, call: PlanCall) -> bytes:
    """Runs `call(trace, timings)` under a plan span: the span's W3C context goes to the core,
    and the run's timings are asked for only when the span records (they make its step spans)."""
    if _trace is None:
        return cast(bytes, await call(None, False))
    tracer = _tracer()
    span = tracer.start_span(f"enrich.plan {plan_name}", kind=SpanKind.INTERNAL,
                             attributes={"enrich.plan": plan_name, "db.system.name": "postgresql"})
    ctx = _trace.set_span_in_context(span)
    carrier: Dict[str, str] = {}
    _inject(carrier, context=ctx)
    trace = (carrier["traceparent"], carrier.get("tracestate", "")) if "traceparent" in carrier else None
    # Not sampled, or no SDK (the API's no-op tracer): step spans would be dropped anyway, so the
    # core is not asked for timings.
    recording = span.is_recording()
    try:
        out = await call(trace, recording)
    except BaseException as e:
        _fail(span, e)
        # A failed run's timings (when it asked for them) come with its error.
        failed_timings = getattr(e, "_enrich_timings", None)
        if isinstance(failed_timings, str):
            span.end(end_time=_step_spans(ctx, json.loads(failed_timings)))
        else:
            span.end()
        raise
    if not recording:
        span.end()
        return cast(bytes, out)
    document, timings_text = out
    end = _step_spans(ctx, json.loads(timings_text))
    span.end(end_time=end)
    return cast(bytes, document)


async def traced_query(sql: str, query_text: bool, call: Callable[[], Awaitable[Any]]) -> Any:
    """A direct statement (fetch, execute, ...) under a span of its own (the server it ran on is
    not known here: with replicas it is chosen on the I/O thread). `query_text`: the client's
    trace_query_text, the opt-in db.query.text."""
    if _trace is None:
        return await call()
    operation = _native.sql_operation_name(sql)  # the core's reading, as in plan timings
    attrs: Dict[str, Any] = {"db.system.name": "postgresql", "db.operation.name": operation}
    if query_text:
        attrs["db.query.text"] = sql
    span = _tracer().start_span(operation or "postgresql", kind=SpanKind.CLIENT, attributes=attrs)
    token = _otel_context.attach(_trace.set_span_in_context(span))
    try:
        result = await call()
    except BaseException as e:
        _fail(span, e)
        raise
    finally:
        _otel_context.detach(token)
        span.end()
    return result
