'use strict';
// Many promises at once, and AbortSignal in flight and at the moment of completion.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  requireEnv, TEST_DSN, FIXTURE_DSN, STUB, ROOT, enrich, startStub, sleep, rng, eventually, statementMarker, waitRunning,
} = require('./helpers');

requireEnv('ENRICH_TEST_DSN', 'ENRICH_FIXTURE_DSN', 'ENRICH_ANALYTICS_STUB');

async function settledBridge(client) {
  for (let i = 0; i < 200 && (client.pending > 0 || enrich.bridgeStats().pending > 0); i++) await sleep(10);
  assert.equal(client.pending, 0, 'client operations still pending');
  assert.equal(enrich.bridgeStats().pending, 0, 'bridge operations still pending');
}

test('10,000 concurrent promises resolve with their own values', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN, maxConnections: 4 });
  try {
    const N = 10000;
    const promises = new Array(N);
    for (let i = 0; i < N; i++) promises[i] = client.queryValue('SELECT $1::int4 * 2', [i]);
    assert.equal(client.pending, N);
    const values = await Promise.all(promises);
    for (let i = 0; i < N; i++) assert.equal(values[i], i * 2);
    await settledBridge(client);
  } finally {
    await client.close();
  }
});

test('10,000 concurrent plan runs and queries mixed', async () => {
  const client = new enrich.Client({ connectionString: FIXTURE_DSN, maxConnections: 4 });
  // The article's plan, with room for 10,000 runs queued at once on a loaded machine (its own
  // deadline of 2 s counts from the call, queueing included).
  const spec = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/plans/user_enriched.json'), 'utf8'));
  spec.deadline_ms = 60000;
  const plan = enrich.Plan.fromObject(spec, { ANALYTICS_URL: 'http://127.0.0.1:9' });
  try {
    const N = 10000;
    const promises = [];
    for (let i = 0; i < N; i++) {
      const id = (i % 2000) + 1;
      promises.push(
        i % 2 === 0
          ? client.runJson(plan, { userId: id }).then((b) => JSON.parse(b).user.id === String(id))
          : client.queryOne('SELECT id FROM users WHERE id = $1', [id]).then((r) => r.id === String(id)),
      );
    }
    const ok = await Promise.all(promises);
    assert.equal(ok.filter(Boolean).length, N);
    await settledBridge(client);
  } finally {
    await client.close();
  }
});

test('abort while in flight: rejects at once and the server-side work is cancelled', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN, maxConnections: 2 });
  try {
    const ac = new AbortController();
    const marker = statementMarker('node_abort');
    const p = client.query(`SELECT pg_sleep(30) /* ${marker} */`, [], { signal: ac.signal });
    await waitRunning(marker);
    const start = Date.now();
    ac.abort();
    await assert.rejects(p, enrich.AbortError);
    assert.ok(Date.now() - start < 2000, 'abort took too long');
    await settledBridge(client); // the native operation completed (cancelled) too
    assert.ok(Date.now() - start < 5000, 'the server-side statement was not cancelled');
    assert.equal(await client.queryValue('SELECT 7'), 7);
    // A transaction aborted while BEGIN is in flight gives its connection back.
    const ac2 = new AbortController();
    const t = client.transaction(async () => 'never', { signal: ac2.signal });
    ac2.abort();
    await assert.rejects(t, enrich.AbortError);
    await settledBridge(client);
    assert.equal(await client.queryValue('SELECT 8'), 8);
  } finally {
    await client.close();
  }
});

test('abort of plan runs and HTTP requests in flight', async () => {
  const stub = await startStub();
  const client = new enrich.Client({ connectionString: FIXTURE_DSN });
  try {
    await stub.control('hang');
    const ac = new AbortController();
    const h = client.httpGet(`${stub.url}/users/1/summary`, { signal: ac.signal, timeoutMs: 30000 });
    const plan = enrich.Plan.fromObject(
      {
        name: 'slow',
        inputs: { id: { type: 'integer' } },
        steps: [
          { name: 'u', sql: 'SELECT id FROM users WHERE id = $1', params: ['id'], shape: 'one' },
          { name: 'a', http: { method: 'GET', base_url: stub.url, path: '/users/{id}/summary', timeout_ms: 30000 } },
        ],
      },
    );
    const r = client.run(plan, { id: 1 }, { signal: ac.signal });
    // Both requests reached the stub, which holds them.
    await eventually(async () => (await stub.stats()).hung >= 2, 'the stub holds both requests');
    ac.abort();
    await assert.rejects(h, enrich.AbortError);
    await assert.rejects(r, enrich.AbortError);
    await settledBridge(client);
  } finally {
    await client.close();
    await stub.stop();
  }
});

test('abort at the moment of completion: each promise settles once, never hangs', async (t) => {
  const client = new enrich.Client({ connectionString: TEST_DSN, maxConnections: 2 });
  const random = rng(42);
  let resolved = 0;
  let aborted = 0;
  try {
    const N = 3000;
    const all = [];
    for (let i = 0; i < N; i++) {
      const ac = new AbortController();
      const p = client.queryValue('SELECT $1::int4', [i], { signal: ac.signal }).then(
        (v) => {
          assert.equal(v, i);
          resolved++;
        },
        (e) => {
          assert.ok(e instanceof enrich.AbortError, `unexpected ${e && e.name}`);
          aborted++;
        },
      );
      // Abort at spread-out moments around the completion: now, in a microtask, after I/O, later.
      const when = Math.floor(random() * 4);
      if (when === 0) queueMicrotask(() => ac.abort());
      else if (when === 1) setImmediate(() => ac.abort());
      else if (when === 2) setTimeout(() => ac.abort(), Math.floor(random() * 3));
      else p.then(() => ac.abort()); // after it settled: must change nothing
      all.push(p);
    }
    await Promise.all(all);
    assert.equal(resolved + aborted, N);
    t.diagnostic(`${resolved} resolved, ${aborted} aborted`);
    assert.ok(aborted > 0, 'no abort won the race');
    await settledBridge(client);
    assert.equal(await client.queryValue('SELECT 1'), 1);
  } finally {
    await client.close();
  }
});
