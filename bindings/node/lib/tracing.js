'use strict';
// OpenTelemetry spans for a client created with `tracing: true` (docs/observability.md).
// `@opentelemetry/api` is optional and loaded on the first traced call, never at
// require('enrich'); without it a traced call runs untraced.
//
// A plan's span is started at call time as a child of the active span; its context is the
// traceparent that the plan's HTTP steps send. Step spans are made after completion from the
// core's timings with their native start and end times (the I/O thread never touches JS values).
// Times are [seconds, nanoseconds] HrTime pairs, which keep nanosecond precision.

let api; // undefined: not loaded yet; null: not installed

function otel() {
  if (api === undefined) {
    try {
      api = require('@opentelemetry/api');
    } catch {
      api = null;
    }
  }
  return api;
}

function tracer() {
  return otel().trace.getTracer('enrich', require('../package.json').version);
}

/** Unix nanoseconds (a BigInt) as an HrTime. */
function hrTime(ns) {
  return [Number(ns / 1000000000n), Number(ns % 1000000000n)];
}

function fail(span, err) {
  const { SpanStatusCode } = otel();
  span.setAttribute('error.type', String(err.kind ?? err.name ?? 'Error'));
  if (typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)) span.setAttribute('db.response.status_code', err.code);
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: String(err.message) });
}

/** One span per step from the core's timings; returns the run's native end (unix ns, BigInt). */
function stepSpans(parent, text) {
  const { SpanKind, SpanStatusCode } = otel();
  const t = tracer();
  const timings = JSON.parse(text);
  // Unix nanoseconds exceed 2^53: read them from the text, exactly.
  const start = BigInt(/"started_unix_ns":(\d+)/.exec(text)[1]);
  for (const step of timings.steps ?? []) {
    if (step.skipped) continue;
    const begin = start + BigInt(step.start_us ?? 0) * 1000n;
    const end = begin + BigInt((step.duration_us ?? 0) + (step.encode_us ?? 0)) * 1000n;
    let attributes;
    let name;
    if (step.kind === 'http') {
      name = step.method ?? 'GET';
      attributes = {
        'http.request.method': name,
        'url.full': step.url ?? '',
        'enrich.step': step.name,
        'http.request.resend_count': Math.max(0, (step.attempts ?? 1) - 1),
      };
      if (step.status) attributes['http.response.status_code'] = step.status;
    } else {
      name = `enrich.step ${step.name}`;
      attributes = {
        'db.system.name': 'postgresql',
        'enrich.step': step.name,
        'enrich.queued_us': step.queued_us ?? 0,
        'enrich.wave': step.wave ?? 1,
        // A read-only wave shares one Sync: its statements share one round trip.
        'enrich.shared_sync': Boolean(step.shared_sync),
        'enrich.replica': Boolean(step.replica),
        // Single-flight: its result came from an execution shared with other calls.
        'enrich.coalesced': Boolean(step.coalesced),
        // Batching: its rows came from one statement over this many callers' keys.
        'enrich.batched': step.batched ?? 0,
      };
      const server = String(step.server ?? '');
      const colon = server.lastIndexOf(':');
      if (colon > 0) {
        attributes['server.address'] = server.slice(0, colon);
        attributes['server.port'] = Number(server.slice(colon + 1));
      }
      if (step.rows !== undefined) attributes['db.response.returned_rows'] = step.rows;
      if (step.operation) attributes['db.operation.name'] = step.operation;
      if (step.query !== undefined) attributes['db.query.text'] = step.query; // trace_query_text only
      if (step.sqlstate) attributes['db.response.status_code'] = step.sqlstate;
    }
    const span = t.startSpan(name, { kind: SpanKind.CLIENT, startTime: hrTime(begin), attributes }, parent);
    if (step.error) {
      span.setAttribute('error.type', step.error);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(hrTime(end));
  }
  return start + BigInt(timings.total_us) * 1000n;
}

/**
 * Runs `call(trace, withTimings)` under a plan span; `trace` is [traceparent, tracestate] or
 * undefined, and with timings `call` resolves to [document, timings JSON].
 */
async function tracedPlan(planName, call) {
  const o = otel();
  if (!o) return call(undefined, false);
  const span = tracer().startSpan(`enrich.plan ${planName}`, {
    kind: o.SpanKind.INTERNAL,
    attributes: { 'enrich.plan': planName, 'db.system.name': 'postgresql' },
  });
  const ctx = o.trace.setSpan(o.context.active(), span);
  const carrier = {};
  o.propagation.inject(ctx, carrier);
  // Without a registered propagator, W3C trace context from the span itself; none at all when
  // there is no valid context (no SDK and no incoming trace): nothing to propagate then.
  const sc = span.spanContext();
  let trace;
  if (carrier.traceparent) {
    trace = [carrier.traceparent, carrier.tracestate ?? ''];
  } else if (o.trace.isSpanContextValid(sc)) {
    const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
    trace = [`00-${sc.traceId}-${sc.spanId}-${flags}`, sc.traceState ? sc.traceState.serialize() : ''];
  }
  // Not sampled, or no SDK (the API's no-op tracer): step spans would be dropped anyway, so the
  // core is not asked for timings.
  const recording = span.isRecording();
  let out;
  try {
    out = await call(trace, recording);
  } catch (err) {
    fail(span, err);
    // A failed run's timings (when it asked for them) come with its error.
    const failed = err != null ? err._enrichTimings : undefined;
    if (typeof failed === 'string') span.end(hrTime(stepSpans(ctx, failed)));
    else span.end();
    throw err;
  }
  if (!recording) {
    span.end();
    return out;
  }
  span.end(hrTime(stepSpans(ctx, out[1])));
  return out[0];
}

/**
 * A direct statement (query, queryOne, ...) under a span of its own; `queryText`: the client's
 * traceQueryText, the opt-in db.query.text.
 */
async function tracedQuery(sql, queryText, call) {
  const o = otel();
  if (!o) return call();
  const op = require('./native').sqlOperationName(sql); // the core's reading, as in plan timings
  const attributes = { 'db.system.name': 'postgresql', 'db.operation.name': op };
  if (queryText) attributes['db.query.text'] = sql;
  const span = tracer().startSpan(op || 'postgresql', { kind: o.SpanKind.CLIENT, attributes });
  try {
    return await o.context.with(o.trace.setSpan(o.context.active(), span), call);
  } catch (err) {
    fail(span, err);
    throw err;
  } finally {
    span.end();
  }
}

module.exports = { tracedPlan, tracedQuery };
