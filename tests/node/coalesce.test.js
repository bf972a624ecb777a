'use strict';
// Single-flight from Node: { coalesce: true } on identical concurrent calls shares one server
// execution. A sequence the probe function advances counts the executions; the probe first waits
// for an advisory lock the test holds, so every call is in flight before any finishes, and the
// client's own count of joined calls says when they all are. Aborting one call leaves the others
// their result; an error reaches every caller.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { requireEnv, TEST_DSN, enrich, eventually } = require('./helpers');

requireEnv('ENRICH_TEST_DSN');

function joined(client) {
  const family = client.metrics().find((f) => f.name === 'enrich_statements_coalesced_total');
  assert.ok(family, 'no enrich_statements_coalesced_total');
  return family.samples[0].value;
}

/** Runs body(client, probe) while the lock is held, then what it returned; returns the count. */
async function withProbe(body) {
  const admin = new enrich.Client({ connectionString: TEST_DSN, logLevel: 'off' });
  const client = new enrich.Client({ connectionString: TEST_DSN, logLevel: 'off' });
  const suffix = crypto.randomBytes(6).toString('hex');
  const probe = {
    seq: `node_coalesce_seq_${suffix}`,
    fn: `node_coalesce_fn_${suffix}`,
    key: String(crypto.randomBytes(6).readUIntBE(0, 6)),
  };
  probe.sql = `SELECT ${probe.fn}($1::int, $2::bool) AS n`;
  try {
    await admin.execute(`CREATE SEQUENCE ${probe.seq}`);
    await admin.execute(
      `CREATE FUNCTION ${probe.fn}(tag int, fail bool) RETURNS bigint LANGUAGE plpgsql AS $$ ` +
        `DECLARE n bigint; BEGIN PERFORM pg_advisory_xact_lock_shared(${probe.key}); ` +
        `n := nextval('${probe.seq}'); IF fail THEN RAISE EXCEPTION 'probe % failed', tag ` +
        `USING ERRCODE = '22012'; END IF; RETURN n; END $$`,
    );
    let after;
    await admin.transaction(async (tx) => {
      await tx.execute('SELECT pg_advisory_xact_lock($1)', [probe.key]);
      after = await body(client, probe);
    });
    await after();
    return Number(await admin.queryValue('SELECT coalesce(pg_sequence_last_value($1::regclass), 0)', [probe.seq]));
  } finally {
    await admin.execute(`DROP FUNCTION IF EXISTS ${probe.fn}(int, bool)`);
    await admin.execute(`DROP SEQUENCE IF EXISTS ${probe.seq}`);
    await client.close();
    await admin.close();
  }
}

test('identical calls share one execution; aborting one leaves the others the result', async () => {
  const executions = await withProbe(async (client, probe) => {
    const aborter = new AbortController();
    const first = client.queryValue(probe.sql, [1, false], { coalesce: true, signal: aborter.signal });
    const others = [];
    for (let i = 0; i < 5; ++i) others.push(client.queryValue(probe.sql, [1, false], { coalesce: true }));
    await eventually(() => joined(client) === 5, 'every call joined the first one');
    aborter.abort();
    await assert.rejects(first, { name: 'AbortError' });
    return async () => assert.deepEqual(await Promise.all(others), Array(5).fill('1'));
  });
  assert.equal(executions, 1);
});

test('an error reaches every caller', async () => {
  const executions = await withProbe(async (client, probe) => {
    const calls = [];
    for (let i = 0; i < 4; ++i) calls.push(client.query(probe.sql, [2, true], { coalesce: true }));
    // Settled from the start: the errors may arrive while the lock's transaction commits, before
    // the function below runs (an unhandled rejection otherwise).
    const settled = Promise.allSettled(calls);
    await eventually(() => joined(client) === 3, 'every call joined the first one');
    return async () => {
      for (const outcome of await settled) {
        assert.equal(outcome.status, 'rejected');
        assert.equal(outcome.reason.code, '22012');
        assert.match(outcome.reason.message, /probe 2 failed/);
      }
    };
  });
  assert.equal(executions, 1);
});

test('without coalesce every call runs; coalesce must be a boolean', async () => {
  const executions = await withProbe(async (client, probe) => {
    const calls = [0, 1, 2].map(() => client.queryValue(probe.sql, [3, false]));
    return async () => {
      assert.deepEqual((await Promise.all(calls)).sort(), ['1', '2', '3']);
      assert.equal(joined(client), 0);
      await assert.rejects(client.queryValue('SELECT 1', [], { coalesce: 'yes' }), /coalesce must be true or false/);
    };
  });
  assert.equal(executions, 3);
});
