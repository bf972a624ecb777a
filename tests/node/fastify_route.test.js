'use strict';
// planRoute (enrich/fastify): the same bytes as the hand-written runJson route
// (examples/fastify/app.js ENRICH_MODE=route against =fast, over real HTTP on 127.0.0.1),
// Fastify's own 400s, the route's schema kept, and enrich's errors mapped as the example maps them.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const Fastify = require(path.join(__dirname, '../../bindings/node/node_modules/fastify'));
const { requireEnv, FIXTURE_DSN, EXAMPLES, PACKAGE, startStub, enrich } = require('./helpers');

requireEnv('ENRICH_FIXTURE_DSN', 'ENRICH_ANALYTICS_STUB');
process.env.TZ = 'UTC';

const { planRoute } = require(path.join(PACKAGE, 'fastify'));
const app = require(path.join(EXAMPLES, 'app.js'));

const quiet = { level: 'silent' };
const DEAD_DSN = 'postgresql://enrich:enrich@127.0.0.1:1/enrich_fixture';
const META = /"meta":\{"processingTimeMs":\d+(\.\d+)?\}\}$/;
const mask = (s) => s.replace(META, '"meta":{"processingTimeMs":0}}');
// Fixture users (1..2000), awkward ones (tests/fixtures/awkward.sql) and one that does not exist.
const USERS = [1, 2, 17, 512, 1999, 1991, 1993, 1996, 1997];
const MISSING = 2001;
const PLAN = enrich.Plan.load(path.join(EXAMPLES, '../plans/user_enriched.json'));
const SCHEMA = {
  params: { type: 'object', properties: { userId: { type: 'integer' } }, required: ['userId'] },
  querystring: { type: 'object', properties: { includeAnalytics: { type: 'boolean', default: false } } },
  response: { 200: { type: 'object', properties: { user: { type: 'object' } } } },
};

/** A Fastify instance with one planRoute at /users/:userId; `routes` collects what onRoute saw. */
async function routeApp({ dsn = FIXTURE_DSN, plan = PLAN, schema = SCHEMA, ...options } = {}) {
  const client = new enrich.Client({ connectionString: dsn, maxConnections: 2, logLevel: 'off', connectTimeoutMs: 1000 });
  const fastify = Fastify({ logger: quiet });
  const routes = [];
  fastify.addHook('onRoute', (route) => routes.push(route));
  fastify.addHook('onClose', () => client.close());
  planRoute(fastify, { url: '/users/:userId', plan, schema, client, ...options });
  await fastify.ready();
  return { fastify, routes };
}

test('route mode serves the same bytes as the runJson route, over HTTP on 127.0.0.1', async () => {
  const stub = await startStub();
  const servers = {};
  try {
    for (const mode of ['fast', 'route']) {
      servers[mode] = await app.build({ mode, databaseUrl: FIXTURE_DSN, analyticsUrl: stub.url, logger: quiet });
    }
    const base = {};
    for (const [mode, server] of Object.entries(servers)) base[mode] = await server.listen({ port: 0, host: '127.0.0.1' });
    for (const id of [...USERS, MISSING]) {
      for (const analytics of [false, true]) {
        const url = `/api/users/${id}/enriched?includeAnalytics=${analytics}`;
        const [fast, route] = await Promise.all(['fast', 'route'].map((m) => fetch(base[m] + url)));
        assert.equal(route.status, fast.status, url);
        assert.equal(route.headers.get('content-type'), 'application/json; charset=utf-8', url);
        assert.equal(route.headers.get('content-type'), fast.headers.get('content-type'), url);
        const [f, r] = [await fast.text(), await route.text()];
        if (id === MISSING) {
          assert.equal(route.status, 404);
          assert.deepEqual(JSON.parse(r), { statusCode: 404, error: 'Not Found', code: 'not_found', message: `user ${MISSING} not found` });
          assert.equal(r, f);
        } else {
          assert.equal(route.status, 200, `${url}: ${r.slice(0, 200)}`);
          assert.equal(mask(r), mask(f), url);
        }
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.close()));
    await stub.stop();
  }
});

test('validation errors are Fastify\'s own 400s', async () => {
  const { fastify } = await routeApp();
  const plain = Fastify({ logger: quiet });
  plain.get('/users/:userId', { schema: SCHEMA }, async () => {
    throw new Error('never reached: every request here is invalid');
  });
  try {
    for (const url of ['/users/abc', '/users/1.5', '/users/1?includeAnalytics=maybe', '/users/abc?includeAnalytics=maybe']) {
      const [got, expected] = await Promise.all([fastify.inject({ url }), plain.inject({ url })]);
      assert.equal(got.statusCode, 400, `${url}: ${got.body}`);
      assert.equal(got.body, expected.body, url);
      assert.equal(JSON.parse(got.body).code, 'FST_ERR_VALIDATION');
    }
  } finally {
    await Promise.all([fastify.close(), plain.close()]);
  }
});

test('the route keeps its schema: params, querystring and response', async () => {
  const { fastify, routes } = await routeApp();
  try {
    const route = routes.find((r) => r.url === '/users/:userId' && r.method === 'GET');
    assert.ok(route, 'planRoute added GET /users/:userId');
    assert.deepEqual(route.schema.params, SCHEMA.params);
    assert.deepEqual(route.schema.querystring, SCHEMA.querystring);
    assert.deepEqual(route.schema.response, SCHEMA.response);
    // The response schema documents; it does not re-serialize (it names only `user`).
    const r = await fastify.inject({ url: '/users/3' });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(Object.keys(JSON.parse(r.body)), ['user', 'preferences', 'recentActivity', 'analytics', 'meta']);
  } finally {
    await fastify.close();
  }
});

test('the example\'s route mode declares its params, querystring and response schema', async () => {
  const server = await app.build({ mode: 'route', databaseUrl: FIXTURE_DSN, logger: quiet });
  let schema;
  server.addHook('onRequest', async (request) => {
    schema = request.routeOptions.schema;
  });
  try {
    const r = await server.inject({ url: '/api/users/12345678901234567890/enriched' });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(JSON.parse(r.body).code, 'FST_ERR_VALIDATION');
    assert.deepEqual(Object.keys(schema.params.properties), ['userId']);
    assert.deepEqual(schema.querystring.properties.includeAnalytics, { type: 'boolean', default: false });
    assert.deepEqual(Object.keys(schema.response[200].properties), ['user', 'preferences', 'recentActivity', 'analytics', 'meta']);
  } finally {
    await server.close();
  }
});

test('enrich errors map as the example maps them; only declared inputs reach the plan', async () => {
  const failing = enrich.Plan.fromObject({
    name: 'failing',
    inputs: { userId: { type: 'integer' }, includeAnalytics: { type: 'boolean', default: false } },
    steps: [{ name: 'boom', sql: 'SELECT 1 / (id - id) FROM users WHERE id = $1', params: ['userId'], shape: 'one' }],
  });
  const apps = {
    ok: await routeApp({ notFoundMessage: (request) => `user ${request.params.userId} not found` }),
    dead: await routeApp({ dsn: DEAD_DSN }),
    failing: await routeApp({ plan: failing }),
    stringId: await routeApp({ schema: { ...SCHEMA, params: { type: 'object', properties: { userId: { type: 'string' } } } } }),
  };
  try {
    const missing = await apps.ok.fastify.inject({ url: `/users/${MISSING}` });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(JSON.parse(missing.body), { statusCode: 404, error: 'Not Found', code: 'not_found', message: `user ${MISSING} not found` });
    const extra = await apps.ok.fastify.inject({ url: '/users/4?includeAnalytics=false&debug=1' });
    assert.equal(extra.statusCode, 200, extra.body);
    const dead = await apps.dead.fastify.inject({ url: '/users/5' });
    assert.equal(dead.statusCode, 503, dead.body);
    assert.deepEqual(JSON.parse(dead.body), { statusCode: 503, error: 'Service Unavailable', code: 'connection', message: 'the database is unavailable' });
    const boom = await apps.failing.fastify.inject({ url: '/users/5' });
    assert.equal(boom.statusCode, 500, boom.body);
    assert.deepEqual(JSON.parse(boom.body), { statusCode: 500, error: 'Internal Server Error', code: 'query', message: 'internal server error' });
    const rejected = await apps.stringId.fastify.inject({ url: '/users/9999999999999999999' });
    assert.equal(rejected.statusCode, 400, rejected.body);
    const body = JSON.parse(rejected.body);
    assert.equal(body.code, 'invalid_argument');
    assert.match(body.message, /userId/);
    for (const r of [missing, dead, boom, rejected]) assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  } finally {
    await Promise.all(Object.values(apps).map((a) => a.fastify.close()));
  }
});

test('planRoute checks its options when the route is made', () => {
  const fastify = Fastify({ logger: quiet });
  assert.throws(() => planRoute(fastify, { url: '/x', plan: {} }), /plan must be an enrich.Plan/);
  assert.throws(() => planRoute(fastify, { url: '/x', plan: PLAN, schema: { params: { type: 'string' } } }), /schema.params must be/);
});
