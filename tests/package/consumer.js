'use strict';
// The installed npm tarball, from a fresh npm project outside the repository with fastify
// (tests/package/check.sh):
//   node consumer.js PLAN_FILE VERSION prebuilds|build
// Checks the version, serves the reference plan through Fastify with the enrich/fastify plugin
// (app.inject), runs a query, and checks where the addon (and libpq, libcurl) came from:
// 'prebuilds' = the tarball's prebuilt addon and the libraries beside it; 'build' = the addon
// the install script built from the tarball's sources.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const [planFile, version, expected] = process.argv.slice(2);
const dsn = process.env.ENRICH_FIXTURE_DSN;
assert.ok(dsn, 'ENRICH_FIXTURE_DSN is not set');

const enrich = require('enrich');
const enrichPlugin = require('enrich/fastify');
const Fastify = require('fastify');

async function main() {
  assert.equal(enrich.version, version);
  assert.equal(require('enrich/package.json').version, version);
  const app = Fastify();
  await app.register(enrichPlugin, { connectionString: dsn, maxConnections: 2 });
  const plan = enrich.Plan.load(planFile);
  app.get('/api/users/:userId/enriched', async (request) =>
    app.enrich.run(plan, { userId: Number(request.params.userId), includeAnalytics: false }),
  );
  const reply = await app.inject('/api/users/1/enriched');
  assert.equal(reply.statusCode, 200, reply.body);
  const doc = reply.json();
  assert.equal(String(doc.user.id), '1');
  assert.ok(Array.isArray(doc.recentActivity));
  const q = await app.enrich.query('SELECT $1::int8 * 2 AS doubled', [21]);
  assert.equal(Number(q.rows[0].doubled), 42);
  await app.close();
  console.log(`node: fastify inject ${path.basename(planFile)} ok (user ${doc.user.id}), query ok`);

  const pkg = path.dirname(require.resolve('enrich/package.json'));
  assert.ok(pkg.includes(`${path.sep}node_modules${path.sep}`), pkg);
  const mapped = fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .map((line) => line.split(/\s+/).pop())
    .filter((file) => file && file.includes('.so') || (file && file.endsWith('.node')));
  const addon = mapped.filter((file) => file.endsWith('enrich.node'));
  const dir = expected === 'prebuilds' ? path.join(pkg, 'prebuilds', 'linux-x64') : path.join(pkg, 'build', 'Release');
  assert.deepEqual([...new Set(addon)], [path.join(dir, 'enrich.node')]);
  for (const lib of ['libpq.so', 'libcurl.so']) {
    const from = [...new Set(mapped.filter((file) => path.basename(file).startsWith(lib)))];
    assert.equal(from.length, 1, `${lib}: ${from}`);
    if (expected === 'prebuilds') assert.equal(path.dirname(from[0]), dir, `${lib} from ${from[0]}`);
    console.log(`node: ${lib} from ${from[0]}`);
  }
  console.log(`node: enrich ${enrich.version}, addon ${addon[0]}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
