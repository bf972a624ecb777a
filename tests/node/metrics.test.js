'use strict';
// Metrics from Node: client.metrics(), registerMetrics() into a prom-client registry, and the
// Fastify example's /metrics (labelled with its worker's pid; under WORKERS=2 each scrape shows
// one worker's series) and its trace context propagation (ENRICH_TRACING=1: the analytics service
// sees the incoming request's trace id).

process.env.ENRICH_TRACING = '1'; // read by examples/fastify/app.js when it is loaded

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { requireEnv, FIXTURE_DSN, enrich, startStub, eventually, sleep } = require('./helpers');

requireEnv('ENRICH_FIXTURE_DSN', 'ENRICH_ANALYTICS_STUB');
const fromPackage = require('node:module').createRequire(path.join(__dirname, '..', '..', 'bindings', 'node', 'package.json'));
const prom = fromPackage('prom-client');
const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'fastify', 'app.js');
const PLAN = path.join(__dirname, '..', '..', 'examples', 'plans', 'user_enriched.json');

/** { 'name{a="b"}': value } from the Prometheus text format. */
function samples(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

test('registerMetrics serves the core families through prom-client', async () => {
  const stub = await startStub();
  const client = new enrich.Client({ connectionString: FIXTURE_DSN, logLevel: 'off' });
  try {
    const plan = enrich.Plan.load(PLAN, { ANALYTICS_URL: stub.url });
    for (const userId of [1, 2, 3]) await client.runJson(plan, { userId, includeAnalytics: true });
    await assert.rejects(client.query('SELECT * FROM no_such_table_for_metrics'));
    const names = client.metrics().map((f) => f.name);
    assert.ok(names.includes('enrich_statements_total') && names.includes('enrich_plan_duration_seconds'), names.join());
    const registry = new prom.Registry();
    enrich.registerMetrics(registry, client, { labels: { worker: '7' } });
    const s = samples(await registry.metrics());
    assert.equal(s['enrich_plans_total{worker="7",outcome="ok"}'], 3);
    assert.equal(s['enrich_http_requests_total{worker="7",status_class="2xx"}'], 3);
    assert.equal(s['enrich_statement_errors_total{worker="7",kind="query",sqlstate_class="42"}'], 1);
    assert.equal(s['enrich_plan_duration_seconds_count{worker="7"}'], 3);
    assert.equal(s['enrich_plan_duration_seconds_bucket{worker="7",le="+Inf"}'], 3);
  } finally {
    await client.close();
    await stub.stop();
  }
  assert.deepEqual(client.metrics(), []);
});

test('Fastify example: /metrics with its worker label, and the trace context passed on', async () => {
  const stub = await startStub();
  const app = require(EXAMPLE);
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  for (const mode of ['fast', 'compat']) {
    const server = await app.build({ mode, databaseUrl: FIXTURE_DSN, analyticsUrl: stub.url, logger: false, clientOptions: { logLevel: 'off' } });
    try {
      const r = await server.inject({ url: '/api/users/42/enriched?includeAnalytics=true', headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
      assert.equal(r.statusCode, 200, r.body);
      const received = (await stub.stats()).last_traceparent;
      assert.ok(received.startsWith(`00-${traceId}-`), `${mode}: ${received}`);
      const m = await server.inject({ url: '/metrics' });
      assert.equal(m.statusCode, 200);
      assert.match(m.headers['content-type'], /text\/plain/);
      assert.ok(samples(m.body)[`enrich_plans_total{worker="${process.pid}",outcome="ok"}`] >= 1, m.body);
    } finally {
      await server.close();
    }
  }
  await stub.stop();
});

test('Fastify example under WORKERS=2: each scrape shows one worker, labelled with its pid', async () => {
  const net = require('node:net');
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
  const child = spawn(process.execPath, [EXAMPLE], {
    env: { ...process.env, DATABASE_URL: FIXTURE_DSN, PORT: String(port), WORKERS: '2', ANALYTICS_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await eventually(async () => {
      try {
        return (await fetch(`${base}/api/users/1/enriched`)).ok;
      } catch {
        return false;
      }
    }, 'the example answers', 20000);
    const workers = new Set();
    for (let i = 0; i < 12; i++) {
      await fetch(`${base}/api/users/${i + 2}/enriched`);
      const text = await (await fetch(`${base}/metrics`)).text();
      const labels = new Set([...text.matchAll(/worker="(\d+)"/g)].map((m) => m[1]));
      assert.equal(labels.size, 1, 'one worker per scrape');
      workers.add([...labels][0]);
      await sleep(5);
    }
    assert.ok(!workers.has(String(child.pid)), 'the primary serves no requests');
    assert.ok(workers.size >= 1 && workers.size <= 2, [...workers].join());
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
});
