'use strict';
// Read replicas from Node, against the streaming standby of scripts/pg: replicaDsns (an array, or
// DATABASE_REPLICA_URL's whitespace-separated string), usePrimary per call, and the Fastify example
// reading DATABASE_REPLICA_URL while its primary refuses it (wrong password): a 200 can only come
// from the replica.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { requireEnv, TEST_DSN, FIXTURE_DSN, EXAMPLES, enrich, eventually } = require('./helpers');

requireEnv('ENRICH_TEST_DSN', 'ENRICH_FIXTURE_DSN', 'ENRICH_REPLICA_DSN');
const REPLICA_DSN = process.env.ENRICH_REPLICA_DSN;

test('reads go to the replica; usePrimary and transactions to the primary', async () => {
  const client = new enrich.Client({ connectionString: TEST_DSN, replicaDsns: [REPLICA_DSN], logLevel: 'off' });
  try {
    await eventually(async () => (await client.queryValue('SELECT pg_is_in_recovery()')) === true, 'reads reach the replica');
    assert.equal(await client.queryValue('SELECT pg_is_in_recovery()', [], { usePrimary: true }), false);
    await client.transaction(async (tx) => {
      assert.equal(await tx.queryValue('SELECT pg_is_in_recovery()'), false);
    });
    const plan = enrich.Plan.fromObject({ name: 'where', steps: [{ name: 'r', sql: 'SELECT pg_is_in_recovery() AS r', shape: 'value' }] });
    assert.equal((await client.run(plan)).r, true);
    assert.equal((await client.run(plan, {}, { usePrimary: true })).r, false);
    const stats = client.stats();
    assert.ok(stats.replica_reads >= 2 && stats.replica_connections >= 1, JSON.stringify(stats));
    assert.equal(client.options().replicaDsns.length, 1);
    assert.ok(!client.options().replicaDsns[0].includes(':enrich@'), 'the password is redacted');
    await assert.rejects(client.queryValue('SELECT 1', [], { usePrimary: 'yes' }), /usePrimary must be true or false/);
  } finally {
    await client.close();
  }
});

test('Fastify example: DATABASE_REPLICA_URL serves the endpoint while the primary refuses', async () => {
  const app = require(path.join(EXAMPLES, 'app.js'));
  const replicaFixture = REPLICA_DSN.replace(/\/[^/]*$/, '/enrich_fixture');
  const saved = process.env.DATABASE_REPLICA_URL;
  // Two replicas, one of which does not exist: reads use the one that answers.
  process.env.DATABASE_REPLICA_URL = `postgresql://enrich:enrich@127.0.0.1:1/enrich_fixture\n${replicaFixture}`;
  let server;
  try {
    server = await app.build({
      mode: 'fast',
      databaseUrl: FIXTURE_DSN.replace(':enrich@', ':wrong-password@'),
      analyticsUrl: 'http://127.0.0.1:9',
      clientOptions: { logLevel: 'off' },
      logger: false,
    });
  } finally {
    if (saved === undefined) delete process.env.DATABASE_REPLICA_URL;
    else process.env.DATABASE_REPLICA_URL = saved;
  }
  try {
    let r;
    await eventually(async () => {
      r = await server.inject({ url: '/api/users/42/enriched' });
      return r.statusCode === 200;
    }, 'the endpoint answers from the replica');
    assert.equal(String(JSON.parse(r.body).user.id), '42'); // int8 is a string in node-postgres' JSON
  } finally {
    await server.close();
  }
});
