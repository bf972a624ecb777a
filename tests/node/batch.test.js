'use strict';
// Batching from Node: { batch: 'bigint' } on concurrent calls of one statement sends them as one
// statement over their keys, and each call gets exactly the rows it gets alone (fixture users
// with NULLs and awkward text, a missing user, a NULL key, duplicates). Calls made in the same
// tick reach the core's I/O thread together; the client's metrics say that they were batched.
// The C++ suite (tests/cpp/batch_test.cpp) covers every column type.

const test = require('node:test');
const assert = require('node:assert/strict');
const { requireEnv, FIXTURE_DSN, enrich } = require('./helpers');

requireEnv('ENRICH_FIXTURE_DSN');

const KEYS = [1, 2, 1991, 1992, 1993, 1994, 1995, 1996, 1997, 0, null, 2, 1994];
const ACTIVITY =
  'SELECT * FROM activity_log WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 10';

function counter(client, name) {
  const family = client.metrics().find((f) => f.name === name);
  assert.ok(family, `no ${name}`);
  return family.samples[0].value;
}

test('batched calls get what they get alone', async () => {
  const client = new enrich.Client({ connectionString: FIXTURE_DSN, logLevel: 'off' });
  try {
    for (const [sql, method] of [
      ['SELECT * FROM users WHERE id = $1', 'queryOne'],
      [ACTIVITY, 'query'],
    ]) {
      const alone = [];
      for (const k of KEYS) alone.push(await client[method](sql, [k]));
      // A few rounds at most: the calls of one round must meet in one turn of the I/O thread.
      let batchedOnce = false;
      for (let round = 0; round < 5 && !batchedOnce; round++) {
        const before = counter(client, 'enrich_statements_batched_total');
        const batched = await Promise.all(
          KEYS.map((k) => client[method](sql, [k], { batch: 'bigint' })),
        );
        assert.deepStrictEqual(batched, alone);
        batchedOnce = counter(client, 'enrich_statements_batched_total') > before;
      }
      assert.ok(batchedOnce, 'no call was ever batched');
    }
  } finally {
    await client.close();
  }
});

test('a failing key fails only its own call', async () => {
  const client = new enrich.Client({ connectionString: FIXTURE_DSN, logLevel: 'off' });
  try {
    const sql = 'SELECT id, 1 / (id - 2) AS q FROM users WHERE id = $1';
    const outcomes = await Promise.allSettled(
      [1, 2, 3].map((k) => client.queryOne(sql, [k], { batch: 'bigint' })),
    );
    assert.equal(outcomes[0].status, 'fulfilled');
    assert.equal(outcomes[1].status, 'rejected');
    assert.equal(outcomes[1].reason.code, '22012');
    assert.equal(outcomes[2].status, 'fulfilled');
    assert.equal(String(outcomes[2].value.q), '1');
  } finally {
    await client.close();
  }
});

test('batch is checked', async () => {
  const client = new enrich.Client({ connectionString: FIXTURE_DSN, logLevel: 'off' });
  try {
    await assert.rejects(
      client.execute('UPDATE users SET level = level WHERE id = $1', [1], { batch: 'bigint' }),
      /only read/,
    );
    await assert.rejects(client.query('SELECT $1', [1], { batch: 'int[]' }), /type name/);
    await assert.rejects(client.query('SELECT $1', [1], { batch: true }), /batch must be/);
  } finally {
    await client.close();
  }
});
