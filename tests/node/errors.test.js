'use strict';
// Every error class, each produced by the real failure where one can be produced.

const test = require('node:test');
const assert = require('node:assert/strict');
const { requireEnv, TEST_DSN, STUB, enrich, startStub, eventually, statementMarker, waitRunning } = require('./helpers');

requireEnv('ENRICH_TEST_DSN', 'ENRICH_ANALYTICS_STUB');

// err.kind is enrich's kind; err.code is node-postgres' SQLSTATE for database errors, else an
// upper-case code of enrich's (AbortError: Node's 'ABORT_ERR').
function is(Class, kind, extra = () => true) {
  return (err) => {
    assert.ok(err instanceof Class, `expected ${Class.name}, got ${err && err.name}: ${err && err.message}`);
    assert.ok(err instanceof enrich.EnrichError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, Class.name);
    assert.equal(err.kind, kind);
    const code = err.sqlstate ?? (err instanceof enrich.AbortError ? 'ABORT_ERR' : `ENRICH_${kind.toUpperCase()}`);
    assert.equal(err.code, code);
    assert.equal(typeof err.message, 'string');
    assert.ok(extra(err));
    return true;
  };
}

test('QueryError carries the SQLSTATE as err.code and the fields node-postgres gives', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN });
  const table = `node_err_${process.pid}`;
  try {
    await assert.rejects(
      client.query('SELEC 1'),
      is(enrich.QueryError, 'query', (e) => e.code === '42601' && e.sqlstate === '42601' && e.severity === 'ERROR' && e.position === '1'),
    );
    await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL CHECK (v > 0))`);
    await client.query(`INSERT INTO ${table} VALUES (1, 1)`);
    await assert.rejects(
      client.query(`INSERT INTO ${table} VALUES (1, 1)`),
      is(enrich.QueryError, 'query', (e) => e.code === '23505' && e.schema === 'public' && e.table === table &&
        e.constraint === `${table}_pkey` && /\(id\)=\(1\)/.test(e.detail)),
    );
    await assert.rejects(
      client.query(`INSERT INTO ${table} VALUES (2, NULL)`),
      is(enrich.QueryError, 'query', (e) => e.code === '23502' && e.table === table && e.column === 'v'),
    );
    await assert.rejects(
      client.query(`INSERT INTO ${table} VALUES (3, -1)`),
      is(enrich.QueryError, 'query', (e) => e.code === '23514' && e.constraint === `${table}_v_check`),
    );
    await assert.rejects(
      client.query('SELECT 1/0'),
      is(enrich.QueryError, 'query', (e) => e.sqlstate === '22012' && e.retriable === false),
    );
    await assert.rejects(
      client.query(`DO $$ BEGIN RAISE EXCEPTION 'custom' USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = 'P0001'; END $$`),
      is(enrich.QueryError, 'query', (e) => e.sqlstate === 'P0001' && e.detail === 'the detail' && e.hint === 'the hint' &&
        typeof e.where === 'string' && e.where.includes('PL/pgSQL')),
    );
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await client.close();
  }
});

test('ConnectionError when the database is unreachable', async () => {
  const client = new enrich.Client({ connectionString: 'postgresql://enrich:enrich@127.0.0.1:1/enrich', connectTimeoutMs: 1000, logLevel: 'off' });
  try {
    await assert.rejects(client.query('SELECT 1'), is(enrich.ConnectionError, 'connection', (e) => e.retriable === true));
  } finally {
    await client.close();
  }
});

test('TimeoutError cancels the statement on the server', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN });
  try {
    const start = Date.now();
    await assert.rejects(client.query('SELECT pg_sleep(10)', [], { timeoutMs: 100 }), is(enrich.TimeoutError, 'timeout'));
    assert.ok(Date.now() - start < 3000);
    assert.equal(await client.queryValue('SELECT 1'), 1); // the connection is still good
  } finally {
    await client.close();
  }
});

test('PoolTimeoutError and PoolQueueFullError', async () => {
  const client = new enrich.Client({
    connectionString: TEST_DSN,
    maxConnections: 1,
    maxPipelineDepth: 1,
    acquireTimeoutMs: 200,
    maxWaiting: 1,
  });
  let release;
  const held = client.transaction(() => new Promise((resolve) => (release = resolve)));
  try {
    await eventually(() => release && client.stats().in_transaction === 1, 'the transaction owns the only connection');
    await assert.rejects(client.query('SELECT 1'), is(enrich.PoolTimeoutError, 'pool_timeout', (e) => e.retriable));
    const waiting = client.query('SELECT 1');
    await assert.rejects(client.query('SELECT 2'), is(enrich.PoolQueueFullError, 'pool_queue_full'));
    release();
    await held;
    await waiting.catch(() => {});
  } finally {
    if (release) release();
    await client.close();
  }
});

test('CancelledError for operations cut off by close()', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN });
  const marker = statementMarker('node_close');
  const p = client.query(`SELECT pg_sleep(10) /* ${marker} */`);
  await waitRunning(marker);
  await client.close();
  await assert.rejects(p, is(enrich.CancelledError, 'cancelled'));
});

test('AbortError (a CancelledError) for an AbortSignal', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN });
  try {
    const ac = new AbortController();
    const marker = statementMarker('node_abort_reason');
    const p = client.query(`SELECT pg_sleep(10) /* ${marker} */`, [], { signal: ac.signal });
    await waitRunning(marker);
    ac.abort(new Error('user left'));
    await assert.rejects(p, is(enrich.AbortError, 'cancelled', (e) => e instanceof enrich.CancelledError && e.cause.message === 'user left'));
    await assert.rejects(client.query('SELECT 1', [], { signal: AbortSignal.abort() }), enrich.AbortError);
  } finally {
    await client.close();
  }
});

test('InvalidArgumentError for bad inputs, plans and options', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN });
  try {
    const plan = enrich.Plan.fromObject({
      name: 'p',
      inputs: { id: { type: 'integer' } },
      steps: [{ name: 'v', sql: 'SELECT $1::int8', params: ['id'], shape: 'value' }],
    });
    await assert.rejects(client.run(plan, { id: 'abc' }), is(enrich.InvalidArgumentError, 'invalid_argument', (e) => /id/.test(e.message)));
    await assert.rejects(client.run(plan, {}), is(enrich.InvalidArgumentError, 'invalid_argument', (e) => /missing input/.test(e.message)));
    await assert.rejects(client.run(plan, { id: 1, other: 2 }), enrich.InvalidArgumentError);
    await assert.rejects(client.run({}, {}), enrich.InvalidArgumentError);
    await assert.rejects(client.query(42), enrich.InvalidArgumentError);
    await assert.rejects(client.query('SELECT 1', [], { timeoutMs: -1 }), enrich.InvalidArgumentError);
    assert.throws(() => enrich.Plan.fromObject({ name: 'x', steps: [{ name: 'a', sql: 'SELECT $1', params: ['nope'] }] }), is(enrich.InvalidArgumentError, 'invalid_argument'));
    assert.throws(() => new enrich.Client({ connectionString: 'not a dsn' }), is(enrich.InvalidArgumentError, 'invalid_argument'));
    assert.throws(() => new enrich.Client('bogus_key=1'), enrich.InvalidArgumentError);
  } finally {
    await client.close();
  }
});

test('NotFoundError when a required row is missing', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN });
  try {
    const plan = enrich.Plan.fromObject({
      name: 'nf',
      inputs: { id: { type: 'integer' } },
      steps: [{ name: 'row', sql: 'SELECT 1 AS x WHERE $1::int < 0', params: ['id'], shape: 'one', required: true }],
    });
    await assert.rejects(client.run(plan, { id: 5 }), is(enrich.NotFoundError, 'not_found'));
    assert.deepEqual((await client.run(plan, { id: -5 })).row, { x: 1 });
  } finally {
    await client.close();
  }
});

test('HttpError, CircuitOpenError and HTTP timeouts', async () => {
  const stub = await startStub();
  const client = new enrich.Client({
    connectionString: TEST_DSN || 'host=127.0.0.1',
    httpMaxResponseBytes: 1000,
    breakerFailureThreshold: 2,
    breakerCoolDownMs: 60000,
    logLevel: 'off',
  });
  try {
    await stub.control('big');
    await assert.rejects(client.httpGet(`${stub.url}/users/1/summary`), is(enrich.HttpError, 'http', (e) => /exceeds/.test(e.message)));
    await stub.control('hang');
    await assert.rejects(client.httpGet(`${stub.url}/users/1/summary`, { timeoutMs: 100 }), is(enrich.TimeoutError, 'timeout'));
    // A closed port: transport failures open the circuit of that host.
    const dead = 'http://127.0.0.1:9/x';
    await assert.rejects(client.httpGet(dead), enrich.ConnectionError);
    await assert.rejects(client.httpGet(dead), enrich.ConnectionError);
    await assert.rejects(client.httpGet(dead), is(enrich.CircuitOpenError, 'circuit_open'));
  } finally {
    await client.close();
    await stub.stop();
  }
});

test('ClosedError after close()', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN });
  await client.close();
  await assert.rejects(client.query('SELECT 1'), is(enrich.ClosedError, 'closed'));
  await assert.rejects(client.transaction(async () => {}), enrich.ClosedError);
  await assert.rejects(client.httpGet('http://127.0.0.1:9/'), enrich.ClosedError);
});

test('InternalError and NoMemoryError map from their statuses', () => {
  // Not reproducible on purpose: check the mapping the addon uses for them.
  const internal = enrich.errors.makeError(enrich.errors.STATUS.internal, 'bug', '', '', '', false);
  assert.ok(internal instanceof enrich.InternalError);
  assert.equal(internal.kind, 'internal');
  assert.equal(internal.code, 'ENRICH_INTERNAL');
  const oom = enrich.errors.makeError(enrich.errors.STATUS.no_memory, 'oom', '', '', '', false);
  assert.ok(oom instanceof enrich.NoMemoryError && oom instanceof enrich.InternalError);
  assert.equal(oom.code, 'ENRICH_NO_MEMORY');
  for (const [name, status] of Object.entries(enrich.errors.STATUS)) {
    if (name === 'ok') continue;
    const e = enrich.errors.makeError(status, name, '', '', '', false);
    assert.equal(e.kind, name);
    assert.equal(e.code, `ENRICH_${name.toUpperCase()}`);
    assert.equal(e.status, status);
    assert.equal(enrich.errors.errorClassFor(name), e.constructor);
  }
  assert.equal(enrich.httpStatusFor(new enrich.NotFoundError('x')), 404);
  assert.equal(enrich.httpStatusFor(new enrich.InvalidArgumentError('x')), 400);
  assert.equal(enrich.httpStatusFor(new enrich.ConnectionError('x')), 503);
  assert.equal(enrich.httpStatusFor(new enrich.PoolTimeoutError('x')), 503);
  assert.equal(enrich.httpStatusFor(new enrich.TimeoutError('x')), 504);
  assert.equal(enrich.httpStatusFor(new Error('x')), 500);
});

test('HTTP retries are off unless a call asks for them', async () => {
  const stub = await startStub();
  const client = new enrich.Client({ connectionString: TEST_DSN, breaker: false, retryBackoffInitialMs: 1, logLevel: 'off' });
  const url = `${stub.url}/users/1/summary`;
  try {
    await stub.control('healthy', undefined, { flaky: '1' });
    assert.strictEqual((await client.httpGet(url)).status, 503);
    await stub.control('healthy', undefined, { flaky: '1' });
    assert.strictEqual((await client.httpRequest({ url })).status, 503);
    await stub.control('healthy', undefined, { flaky: '1' });
    assert.strictEqual((await client.httpGet(url, { retry: true })).status, 200);
  } finally {
    await client.close();
    await stub.stop();
  }
});
