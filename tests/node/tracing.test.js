'use strict';
// Tracing and timings from Node, with OpenTelemetry's SDK (@opentelemetry/sdk-trace-base's
// in-memory exporter, pinned devDependencies) and the analytics stub recording the trace context
// it received: plan span as a child of the active span, step spans with native times, the
// service seeing the plan span as its parent, direct statements, runWithTimings, and a client
// with tracing: true working without @opentelemetry/api installed.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { requireEnv, TEST_DSN, FIXTURE_DSN, enrich, startStub, runNode } = require('./helpers');
// The SDK is a devDependency of bindings/node, and @opentelemetry/api must be the one the binding
// itself finds there (one global tracer provider).
const fromPackage = require('node:module').createRequire(path.join(__dirname, '..', '..', 'bindings', 'node', 'package.json'));
const api = fromPackage('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = fromPackage('@opentelemetry/context-async-hooks');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = fromPackage('@opentelemetry/sdk-trace-base');

requireEnv('ENRICH_TEST_DSN', 'ENRICH_FIXTURE_DSN', 'ENRICH_ANALYTICS_STUB');

const exporter = new InMemorySpanExporter();
api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
const tracer = api.trace.getTracer('tests');
const PLAN = path.join(__dirname, '..', '..', 'examples', 'plans', 'user_enriched.json');
const ns = (hr) => BigInt(hr[0]) * 1000000000n + BigInt(hr[1]);

test('plan spans: children of the active span, steps with native times, context sent to the service', async () => {
  const stub = await startStub();
  const client = new enrich.Client({ connectionString: FIXTURE_DSN, tracing: true, logLevel: 'off' });
  try {
    const plan = enrich.Plan.load(PLAN, { ANALYTICS_URL: stub.url });
    await client.runJson(plan, { userId: 1 }); // the connection is open from here on
    exporter.reset();
    const requestSpan = tracer.startSpan('GET /api/users/:userId/enriched');
    const body = await api.context.with(api.trace.setSpan(api.context.active(), requestSpan), () =>
      client.runJson(plan, { userId: 42, includeAnalytics: true }),
    );
    requestSpan.end();
    assert.equal(String(JSON.parse(body).user.id), '42');
    const spans = exporter.getFinishedSpans();
    const planSpan = spans.find((s) => s.name === 'enrich.plan user_enriched');
    assert.ok(planSpan, spans.map((s) => s.name).join(', '));
    assert.equal(planSpan.parentSpanContext.spanId, requestSpan.spanContext().spanId);
    const steps = spans.filter((s) => s.parentSpanContext?.spanId === planSpan.spanContext().spanId);
    assert.deepEqual(steps.map((s) => s.attributes['enrich.step']).sort(), ['analytics', 'preferences', 'recentActivity', 'user']);
    for (const s of steps) {
      assert.ok(ns(planSpan.startTime) <= ns(s.startTime) + 1000n && ns(s.endTime) <= ns(planSpan.endTime), s.name);
      if (s.attributes['enrich.step'] === 'analytics') {
        assert.equal(s.attributes['http.response.status_code'], 200);
        assert.equal(s.kind, api.SpanKind.CLIENT);
      } else {
        assert.equal(s.attributes['db.system.name'], 'postgresql');
        assert.equal(s.attributes['enrich.shared_sync'], true);
        assert.equal(s.attributes['enrich.wave'], 3);
        assert.equal(s.attributes['db.operation.name'], 'SELECT');
        assert.equal(s.attributes['db.query.text'], undefined); // opt-in: traceQueryText
      }
    }
    const stats = await (await fetch(`${stub.url}/__stats`)).json();
    const { traceId, spanId } = planSpan.spanContext();
    assert.ok(stats.last_traceparent.startsWith(`00-${traceId}-${spanId}-`), stats.last_traceparent);
  } finally {
    await client.close();
    await stub.stop();
  }
});

test('direct statements get spans; failures are errors with the SQLSTATE', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN, tracing: true, logLevel: 'off' });
  try {
    exporter.reset();
    assert.equal(await client.queryValue('SELECT 41 + $1::int', [1]), 42);
    await assert.rejects(client.query('SELECT * FROM no_such_table_for_tracing'));
    const [ok, failed] = exporter.getFinishedSpans();
    assert.equal(ok.name, 'SELECT');
    assert.equal(ok.attributes['db.operation.name'], 'SELECT');
    assert.equal(failed.status.code, api.SpanStatusCode.ERROR);
    assert.equal(failed.attributes['db.response.status_code'], '42P01');
  } finally {
    await client.close();
  }
});

test('statement texts only with traceQueryText', async () => {
  const client = new enrich.Client({ connectionString: FIXTURE_DSN, tracing: true, traceQueryText: true, logLevel: 'off' });
  try {
    const plan = enrich.Plan.load(PLAN, { ANALYTICS_URL: 'http://127.0.0.1:9' });
    await client.runJson(plan, { userId: 1 });
    exporter.reset();
    await client.runJson(plan, { userId: 42 });
    const sql = '  /* leading comment */ with x AS (SELECT 2) TABLE x';
    assert.equal(await client.queryValue(sql), 2);
    const spans = exporter.getFinishedSpans();
    const user = spans.find((s) => s.attributes['enrich.step'] === 'user');
    assert.equal(user.attributes['db.query.text'], 'SELECT * FROM users WHERE id = $1');
    const direct = spans.find((s) => s.name === 'WITH'); // the core's reading: comments skipped
    assert.ok(direct, spans.map((s) => s.name).join(', '));
    assert.equal(direct.attributes['db.operation.name'], 'WITH');
    assert.equal(direct.attributes['db.query.text'], sql);
  } finally {
    await client.close();
  }
});

test('a failed plan ends its span as an error, with step spans until then', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN, tracing: true, logLevel: 'off' });
  try {
    const plan = enrich.Plan.fromJson(
      JSON.stringify({
        name: 'broken',
        steps: [
          { name: 'x', sql: 'SELECT 1 AS id FROM no_such_table_for_plans', shape: 'one' },
          { name: 'slow', sql: 'SELECT pg_sleep(30) IS NULL AS slept', shape: 'value' },
          { name: 'after', sql: 'SELECT $1::int AS id', params: ['x.id'], shape: 'one' },
        ],
      }),
    );
    exporter.reset();
    await assert.rejects(client.runJson(plan, {}), (err) => err.code === '42P01');
    const spans = exporter.getFinishedSpans();
    const planSpan = spans.find((s) => s.name === 'enrich.plan broken');
    assert.equal(planSpan.status.code, api.SpanStatusCode.ERROR);
    const steps = Object.fromEntries(
      spans.filter((s) => s !== planSpan).map((s) => [s.attributes['enrich.step'], s]),
    );
    // The failing step, and the one stopped because of it; "after" never started: no span.
    assert.deepEqual(Object.keys(steps).sort(), ['slow', 'x']);
    assert.equal(steps.x.attributes['error.type'], 'query');
    assert.equal(steps.x.attributes['db.response.status_code'], '42P01');
    assert.equal(steps.slow.attributes['error.type'], 'cancelled');
    for (const s of Object.values(steps)) {
      assert.equal(s.parentSpanContext.spanId, planSpan.spanContext().spanId);
      assert.ok(ns(planSpan.startTime) <= ns(s.startTime) + 1000n && ns(s.endTime) <= ns(planSpan.endTime), s.name);
    }
  } finally {
    await client.close();
  }
});

test('runWithTimings gives the core timings', async () => {
  const stub = await startStub();
  const client = new enrich.Client({ connectionString: FIXTURE_DSN, logLevel: 'off' });
  try {
    const plan = enrich.Plan.load(PLAN, { ANALYTICS_URL: stub.url });
    await client.runJson(plan, { userId: 1 });
    const { json, timings } = await client.runWithTimings(plan, { userId: 42, includeAnalytics: true });
    assert.equal(String(JSON.parse(json).user.id), '42');
    const steps = Object.fromEntries(timings.steps.map((s) => [s.name, s]));
    assert.equal(steps.user.kind, 'sql');
    assert.equal(steps.user.rows, 1);
    assert.equal(steps.analytics.status, 200);
    assert.ok(timings.total_us >= steps.user.start_us + steps.user.duration_us);
  } finally {
    await client.close();
    await stub.stop();
  }
});

test('the timings option keeps runJson() a document', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN, timings: true, logLevel: 'off' });
  try {
    const plan = enrich.Plan.fromObject({ name: 'p', steps: [{ name: 'v', sql: 'SELECT 2 AS v', shape: 'value' }] });
    assert.equal(JSON.parse(await client.runJson(plan)).v, 2);
    assert.equal((await client.run(plan)).v, 2);
    assert.equal((await client.runWithTimings(plan)).timings.steps[0].name, 'v');
  } finally {
    await client.close();
  }
});

test('tracing: true works without @opentelemetry/api installed', async () => {
  const code = `
    const Module = require('node:module');
    const load = Module._load;
    Module._load = function (request, ...rest) {
      if (request.startsWith('@opentelemetry/')) { const e = new Error('not installed'); e.code = 'MODULE_NOT_FOUND'; throw e; }
      return load.call(this, request, ...rest);
    };
    const enrich = require(${JSON.stringify(path.join(__dirname, '..', '..', 'bindings', 'node'))});
    (async () => {
      const c = new enrich.Client({ connectionString: ${JSON.stringify(TEST_DSN)}, tracing: true, logLevel: 'off' });
      if ((await c.queryValue('SELECT 1')) !== 1) throw new Error('query');
      const plan = enrich.Plan.fromObject({ name: 'p', steps: [{ name: 'v', sql: 'SELECT 2 AS v', shape: 'value' }] });
      if ((await c.run(plan)).v !== 2) throw new Error('plan');
      await c.close();
      console.log('ok');
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const r = await runNode(code);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok/);
});
