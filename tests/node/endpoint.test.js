'use strict';
// The article's endpoint: examples/fastify/app.js (enrich, compat and fast) must answer with the
// same JSON as examples/fastify/original.js (Fastify + pg + fetch), apart from the processing
// time, for hundreds of random users, with and without analytics. Plus the error statuses.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { requireEnv, FIXTURE_DSN, ORIGINAL_FIXTURE_DSN, STUB, EXAMPLES, rng, startStub, enrich } = require('./helpers');

requireEnv('ENRICH_FIXTURE_DSN', 'ENRICH_ANALYTICS_STUB');
const USERS = 300; // random ids among the fixture's 1..2000
// tests/fixtures/awkward.sql: no preferences (1991, 1996: the original leaves the key out), NULLs,
// empty values, control characters, huge numbers, edge timestamps.
const AWKWARD = [1991, 1992, 1993, 1994, 1995, 1996, 1997];
const CONCURRENCY = 16;

// node-postgres reads timestamps without time zone and dates in the process's time zone; the
// node profile reads them as UTC (json.hpp). Compare in the setting where both agree.
process.env.TZ = 'UTC';

const original = require(path.join(EXAMPLES, 'original.js'));
const originalPostgres = require(path.join(EXAMPLES, 'original_postgres.js'));
const app = require(path.join(EXAMPLES, 'app.js'));
const BATCH_PLAN = path.join(EXAMPLES, '..', 'plans', 'user_enriched_batch.json');

const quiet = { level: 'silent' };
const META = /"meta":\{"processingTimeMs":\d+(\.\d+)?\}\}$/;

function withoutTime(body) {
  const doc = JSON.parse(body);
  assert.equal(typeof doc.meta.processingTimeMs, 'number');
  delete doc.meta.processingTimeMs;
  return doc;
}

async function inBatches(items, size, fn) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

test('enrich endpoint == original pg endpoint for random users, with and without analytics', async (t) => {
  const stub = await startStub();
  const servers = {
    original: await original.build({ databaseUrl: ORIGINAL_FIXTURE_DSN, analyticsUrl: stub.url, logger: quiet }),
    compat: await app.build({ mode: 'compat', databaseUrl: FIXTURE_DSN, analyticsUrl: stub.url, logger: quiet }),
    fast: await app.build({ mode: 'fast', databaseUrl: FIXTURE_DSN, analyticsUrl: stub.url, logger: quiet }),
    // The same plan with its SQL steps batched across the concurrent requests of each batch.
    batched: await app.build({ mode: 'route', planPath: BATCH_PLAN, databaseUrl: FIXTURE_DSN, analyticsUrl: stub.url, logger: quiet }),
  };
  const batchedStatements = () =>
    servers.batched.enrich.metrics().find((f) => f.name === 'enrich_statements_batched_total').samples[0].value;
  const random = rng(20240601);
  const ids = [...AWKWARD, ...Array.from({ length: USERS }, () => 1 + Math.floor(random() * 2000))];
  const stats = { compared: 0, byteIdentical: 0, withActivity: 0, withAnalytics: 0, retried: 0 };
  try {
    for (const analytics of [false, true]) {
      await t.test(`includeAnalytics=${analytics}`, async () => {
        await inBatches(ids, CONCURRENCY, async (id) => {
          const url = `/api/users/${id}/enriched${analytics ? '?includeAnalytics=true' : ''}`;
          const fetchAll = () =>
            Promise.all([
              servers.original.inject({ method: 'GET', url }),
              servers.compat.inject({ method: 'GET', url }),
              servers.fast.inject({ method: 'GET', url }),
              servers.batched.inject({ method: 'GET', url }),
            ]);
          let [o, c, f, b] = await fetchAll();
          // Both sides give the analytics call 500 ms. On a loaded machine one of them can time
          // out where the other did not: that user is asked again (only for this difference).
          const nullAnalytics = (r) => r.statusCode === 200 && JSON.parse(r.body).analytics === null;
          for (let retry = 0; analytics && retry < 3; retry++) {
            const n = [o, c, f, b].map(nullAnalytics);
            if (n.every((x) => x === n[0])) break;
            stats.retried++;
            [o, c, f, b] = await fetchAll();
          }
          assert.equal(o.statusCode, 200, `original ${url}: ${o.body}`);
          assert.equal(c.statusCode, 200, `compat ${url}: ${c.body}`);
          assert.equal(f.statusCode, 200, `fast ${url}: ${f.body}`);
          assert.equal(b.statusCode, 200, `batched ${url}: ${b.body}`);
          assert.equal(c.headers['content-type'], o.headers['content-type']);
          assert.equal(f.headers['content-type'], o.headers['content-type']);
          const expected = withoutTime(o.body);
          assert.deepStrictEqual(withoutTime(c.body), expected, `compat differs for user ${id}`);
          assert.deepStrictEqual(withoutTime(f.body), expected, `fast differs for user ${id}`);
          // Byte for byte too (key order, number and string formatting), once the time is masked.
          const mask = (s) => s.replace(META, '"meta":{"processingTimeMs":0}}');
          assert.equal(mask(f.body), mask(o.body), `fast bytes differ for user ${id}`);
          assert.equal(mask(c.body), mask(o.body), `compat bytes differ for user ${id}`);
          assert.equal(mask(b.body), mask(o.body), `batched route bytes differ for user ${id}`);
          stats.compared++;
          stats.byteIdentical++;
          if (expected.recentActivity.length > 0) stats.withActivity++;
          if (expected.analytics !== null) stats.withAnalytics++;
        });
      });
    }
    t.diagnostic(`compared ${stats.compared} responses (x4 servers), ${stats.withActivity} with activity rows, ${stats.withAnalytics} with analytics; all byte-identical apart from processingTimeMs; ${batchedStatements()} statements of the batched route answered from batches; ${stats.retried} asked again after an analytics timeout on one side`);
    assert.equal(stats.compared, 2 * ids.length);
    assert.ok(batchedStatements() > 0, 'the batched route never batched: the comparison showed nothing');
    assert.ok(stats.withActivity > USERS / 2, 'the sample should include users with activity');
    assert.ok(stats.withAnalytics >= ids.length - 3, `analytics missing for ${ids.length - stats.withAnalytics} users`);
    assert.ok(!('preferences' in JSON.parse((await servers.fast.inject({ url: '/api/users/1991/enriched' })).body)),
      'a user without preferences has no key, as JSON.stringify leaves undefined out');
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.close()));
    await stub.stop();
  }
});

// The benchmark's second Node baseline must do the same work: same JSON as the pg original.
test('postgres.js baseline == original pg endpoint', async () => {
  const stub = await startStub();
  const servers = {
    original: await original.build({ databaseUrl: ORIGINAL_FIXTURE_DSN, analyticsUrl: stub.url, logger: quiet }),
    postgres: await originalPostgres.build({ databaseUrl: ORIGINAL_FIXTURE_DSN, analyticsUrl: stub.url, logger: quiet }),
  };
  const random = rng(20261126);
  let withActivity = 0;
  try {
    await inBatches(Array.from({ length: 100 }, () => 1 + Math.floor(random() * 2000)), CONCURRENCY, async (id) => {
      const url = `/api/users/${id}/enriched?includeAnalytics=true`;
      const [o, p] = await Promise.all([servers.original.inject({ url }), servers.postgres.inject({ url })]);
      assert.equal(o.statusCode, 200, o.body);
      assert.equal(p.statusCode, 200, p.body);
      const expected = withoutTime(o.body);
      assert.deepStrictEqual(withoutTime(p.body), expected, `postgres.js differs for user ${id}`);
      if (expected.recentActivity.length > 0) withActivity++;
    });
    assert.ok(withActivity > 50, 'the sample should include users with activity');
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.close()));
    await stub.stop();
  }
});

test('analytics down or slow: null, like the original', async () => {
  const stub = await startStub();
  const servers = {
    original: await original.build({ databaseUrl: ORIGINAL_FIXTURE_DSN, analyticsUrl: stub.url, logger: quiet }),
    fast: await app.build({ mode: 'fast', databaseUrl: FIXTURE_DSN, analyticsUrl: stub.url, logger: quiet }),
  };
  try {
    for (const mode of ['hang', 'slow', 'close']) {
      await stub.control(mode, 800);
      const url = '/api/users/77/enriched?includeAnalytics=true';
      const [o, f] = await Promise.all([servers.original.inject({ url }), servers.fast.inject({ url })]);
      assert.equal(o.statusCode, 200);
      assert.equal(f.statusCode, 200);
      assert.equal(JSON.parse(o.body).analytics, null, mode);
      assert.deepStrictEqual(withoutTime(f.body), withoutTime(o.body), mode);
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.close()));
    await stub.stop();
  }
});

test('errors: unknown user 404, bad id 400, dead database 503, each with a JSON body', async () => {
  for (const mode of ['compat', 'fast']) {
    const server = await app.build({ mode, databaseUrl: FIXTURE_DSN, analyticsUrl: 'http://127.0.0.1:9', logger: quiet });
    try {
      const missing = await server.inject({ url: '/api/users/2001/enriched' });
      assert.equal(missing.statusCode, 404);
      assert.match(missing.headers['content-type'], /application\/json/);
      assert.deepEqual(JSON.parse(missing.body), { statusCode: 404, error: 'Not Found', code: 'not_found', message: 'user 2001 not found' });
      for (const bad of ['abc', '12abc', '99999999999999999999999', '1.5']) {
        const r = await server.inject({ url: `/api/users/${bad}/enriched` });
        assert.equal(r.statusCode, 400, `${bad}: ${r.body}`);
        const body = JSON.parse(r.body);
        assert.equal(body.error, 'Bad Request');
        assert.equal(body.code, 'invalid_argument');
      }
      const badQuery = await server.inject({ url: '/api/users/5/enriched?includeAnalytics=maybe' });
      assert.equal(badQuery.statusCode, 400);
    } finally {
      await server.close();
    }
    const dead = await app.build({
      mode,
      databaseUrl: 'postgresql://enrich:enrich@127.0.0.1:1/enrich_fixture',
      clientOptions: { logLevel: 'off', connectTimeoutMs: 1000 },
      logger: quiet,
    });
    try {
      const r = await dead.inject({ url: '/api/users/5/enriched' });
      assert.equal(r.statusCode, 503, r.body);
      assert.match(r.headers['content-type'], /application\/json/);
      assert.deepEqual(JSON.parse(r.body), { statusCode: 503, error: 'Service Unavailable', code: 'connection', message: 'the database is unavailable' });
    } finally {
      await dead.close();
    }
  }
});

test('real listen on 127.0.0.1 serves the same bytes as inject', async () => {
  const server = await app.build({ mode: 'fast', databaseUrl: FIXTURE_DSN, analyticsUrl: 'http://127.0.0.1:9', logger: quiet });
  try {
    const address = await server.listen({ port: 0, host: '127.0.0.1' });
    const r = await fetch(`${address}/api/users/3/enriched`);
    assert.equal(r.status, 200);
    const viaHttp = withoutTime(await r.text());
    const viaInject = withoutTime((await server.inject({ url: '/api/users/3/enriched' })).body);
    assert.deepStrictEqual(viaHttp, viaInject);
  } finally {
    await server.close();
  }
});

test('WORKERS=2: node:cluster workers, each with its own client, bounded connections', async () => {
  const { spawn, execFileSync } = require('node:child_process');
  const net = require('node:net');
  const stub = await startStub();
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  const appName = `enrich_node_workers_${process.pid}_${port}`;
  const dsn = FIXTURE_DSN + (FIXTURE_DSN.includes('?') ? '&' : '?') + `application_name=${appName}`;
  const child = spawn(process.execPath, [path.join(EXAMPLES, 'app.js')], {
    env: { ...process.env, DATABASE_URL: dsn, ANALYTICS_URL: stub.url, PORT: String(port), WORKERS: '2', ENRICH_MAX_CONNECTIONS: '2', ENRICH_MODE: 'fast' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    const base = `http://127.0.0.1:${port}/api/users`;
    const deadline = Date.now() + 30000;
    for (;;) {
      try {
        if ((await fetch(`${base}/1/enriched`)).status === 200) break;
      } catch {}
      if (child.exitCode !== null || Date.now() > deadline) assert.fail(`app.js with WORKERS=2 did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ids = Array.from({ length: 200 }, (_, i) => i + 1);
    const docs = await Promise.all(ids.map(async (id) => (await fetch(`${base}/${id}/enriched`)).json()));
    assert.deepStrictEqual(docs.map((d) => Number(d.user.id)), ids);
    const workers = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split(/\s+/);
    assert.equal(workers.length, 2, `worker processes: ${workers}`);
    const check = new enrich.Client({ connectionString: FIXTURE_DSN, logLevel: 'off' });
    try {
      const n = Number(await check.queryValue('SELECT count(*) FROM pg_stat_activity WHERE application_name = $1', [appName]));
      assert.ok(n >= 1 && n <= 4, `${n} connections for 2 workers x maxConnections 2`);
    } finally {
      await check.close();
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    await stub.stop();
  }
});
