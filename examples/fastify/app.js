'use strict';
// The article's endpoint on enrich: GET /api/users/:userId/enriched?includeAnalytics=true|false
// runs examples/plans/user_enriched.json (the three queries, pipelined in one round trip, plus
// the optional analytics call with its 500 ms timeout) in one native call.
//
//   ENRICH_MODE=compat (default)  run(): the plan's document as an object, serialized by
//                                 Fastify; the same JSON as the article's pg version.
//   ENRICH_MODE=fast              runJson(): the document's bytes straight into reply.send.
//   ENRICH_MODE=route             the same through planRoute (enrich/fastify): params and
//                                 querystring validated by Fastify's schema, the route's response
//                                 schema declared, the bytes sent as they are. A malformed id
//                                 or flag is Fastify's 400 (code FST_ERR_VALIDATION) there.
//
// Unlike the article's version: an unknown user is 404, a malformed id 400, an unreachable
// database 503 (and a timeout 504), each with a JSON error body.
//
// Start (after scripts/build, with `. scripts/env.sh`):
//   DATABASE_URL=postgres://... ANALYTICS_URL=http://127.0.0.1:8081 PORT=3000 node app.js
// WORKERS=N runs N processes (node:cluster); ENRICH_MAX_CONNECTIONS (4) is each one's pool.
// ENRICH_PLAN: another plan file (examples/plans/user_enriched_batch.json: the same documents,
// its SQL steps batched across concurrent requests).
// DATABASE_REPLICA_URL: read replicas (connection strings separated by whitespace); the
// endpoint only reads, so it runs there while one is reachable.
// ENRICH_TRACING=1: OpenTelemetry spans (tracing: true) under the incoming request's trace
// context, which the analytics call carries on. GET /metrics: the client's metrics through
// prom-client, labelled with the worker's pid (with WORKERS=N a scrape reaches one worker and
// shows that worker's series).
// Any database with the article's three tables works, whatever their other columns.
// Timestamps without time zone and dates come out as node-postgres reads them in a process
// whose TZ is UTC (the profile's rule); run the original with TZ=UTC to compare.

const path = require('node:path');
const Fastify = require('fastify');

function requireEnrich(subpath = '') {
  try {
    return require('enrich' + subpath); // NODE_PATH from scripts/env.sh, or an installed package
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
    return require(path.join(__dirname, '../../bindings/node', subpath)); // this repository
  }
}

const enrich = requireEnrich();
const enrichPlugin = requireEnrich('/fastify');

const PLAN_PATH = process.env.ENRICH_PLAN || path.join(__dirname, '../plans/user_enriched.json');
const TRACING = process.env.ENRICH_TRACING === '1';

function optional(name) {
  try {
    return require(name);
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
    return null;
  }
}

// What an OpenTelemetry SDK would set up: a context manager (so that the active context follows
// async calls) and the W3C trace context propagator. Either call is a no-op when an SDK already
// registered its own.
let otelApi;
function tracingApi() {
  if (otelApi !== undefined) return otelApi;
  otelApi = TRACING ? optional('@opentelemetry/api') : null;
  if (otelApi) {
    const hooks = optional('@opentelemetry/context-async-hooks');
    const core = optional('@opentelemetry/core');
    if (hooks) otelApi.context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
    if (core) otelApi.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  }
  return otelApi;
}

/** Runs `fn` under the trace context of the incoming request (W3C traceparent). */
function inRequestContext(request, fn) {
  const api = tracingApi();
  if (!api) return fn();
  const ctx = api.propagation.extract(api.ROOT_CONTEXT, request.headers);
  return api.context.with(ctx, fn);
}
// The route mode's schema. The id is checked as a decimal string, not coerced to a JS number
// (which would round ids beyond 2^53): the plan's integer input takes the string exactly, and
// one outside bigint is 400 from the core. The response schema documents the document's shape
// (the bytes are sent as they are).
const ROUTE_SCHEMA = {
  params: {
    type: 'object',
    properties: { userId: { type: 'string', pattern: '^-?[0-9]{1,19}$' } },
    required: ['userId'],
  },
  querystring: {
    type: 'object',
    properties: { includeAnalytics: { type: 'boolean', default: false } },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        user: { type: 'object' },
        preferences: { type: 'object' },
        recentActivity: { type: 'array', items: { type: 'object' } },
        analytics: { type: ['object', 'null'] },
        meta: { type: 'object', properties: { processingTimeMs: { type: 'number' } } },
      },
      required: ['user', 'recentActivity', 'analytics', 'meta'],
    },
  },
};

/**
 * Builds the app. options: mode ('compat' | 'fast' | 'route'), databaseUrl, replicaUrl, analyticsUrl, planPath
 * (default ENRICH_PLAN, else examples/plans/user_enriched.json), client (an existing enrich.Client),
 * clientOptions, logger (Fastify's logger option).
 */
async function build(options = {}) {
  const mode = options.mode ?? process.env.ENRICH_MODE ?? 'compat';
  if (!['compat', 'fast', 'route'].includes(mode)) throw new Error(`ENRICH_MODE must be compat, fast or route, got ${mode}`);
  const fastify = Fastify({ logger: options.logger ?? { level: process.env.LOG_LEVEL || 'warn' } });
  await fastify.register(
    enrichPlugin,
    options.client
      ? { client: options.client }
      : {
          connectionString: options.databaseUrl ?? process.env.DATABASE_URL,
          replicaDsns: options.replicaUrl ?? (process.env.DATABASE_REPLICA_URL || undefined),
          maxConnections: Number(process.env.ENRICH_MAX_CONNECTIONS || 4),
          tracing: TRACING,
          ...options.clientOptions,
        },
  );
  const analyticsUrl = options.analyticsUrl ?? process.env.ANALYTICS_URL;
  const plan = enrich.Plan.load(options.planPath ?? PLAN_PATH, analyticsUrl ? { ANALYTICS_URL: analyticsUrl.replace(/\/+$/, '') } : undefined);

  function fail(reply, request, err) {
    const { userId } = request.params;
    return enrichPlugin.replyError(request, reply, err, {
      notFoundMessage: `user ${userId} not found`,
      logMessage: 'User enrichment failed',
      logFields: { userId },
    });
  }

  if (mode === 'route') {
    enrichPlugin.planRoute(fastify, {
      url: '/api/users/:userId/enriched',
      plan,
      schema: ROUTE_SCHEMA,
      notFoundMessage: (request) => `user ${request.params.userId} not found`,
      inContext: TRACING ? inRequestContext : undefined,
    });
    return withMetrics(fastify);
  }

  fastify.get(
    '/api/users/:userId/enriched',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { includeAnalytics: { type: 'boolean', default: false } },
        },
      },
    },
    mode === 'fast'
      ? async (request, reply) => {
          try {
            const body = await inRequestContext(request, () =>
              fastify.enrich.runJson(plan, {
                userId: request.params.userId,
                includeAnalytics: request.query.includeAnalytics,
              }),
            );
            return reply.type('application/json; charset=utf-8').send(body);
          } catch (err) {
            return fail(reply, request, err);
          }
        }
      : async (request, reply) => {
          try {
            return await inRequestContext(request, () =>
              fastify.enrich.run(plan, {
                userId: request.params.userId,
                includeAnalytics: request.query.includeAnalytics,
              }),
            );
          } catch (err) {
            return fail(reply, request, err);
          }
        },
  );

  return withMetrics(fastify);
}

/** GET /metrics through prom-client, when it is installed. */
function withMetrics(fastify) {
  const prom = optional('prom-client');
  if (prom) {
    const registry = new prom.Registry();
    enrich.registerMetrics(registry, fastify.enrich, { labels: { worker: String(process.pid) } });
    fastify.get('/metrics', async (request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  }
  return fastify;
}

function serve() {
  return build()
    .then((app) => app.listen({ port: Number(process.env.PORT || 3000), host: process.env.HOST || '127.0.0.1' }))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

if (require.main === module) {
  // WORKERS=N: node:cluster starts N worker processes sharing the port, each with its own client
  // (at most N x ENRICH_MAX_CONNECTIONS connections to Postgres). A worker that dies is replaced.
  const cluster = require('node:cluster');
  const workers = Number(process.env.WORKERS || 1);
  if (workers > 1 && cluster.isPrimary) {
    for (let i = 0; i < workers; i++) cluster.fork();
    cluster.on('exit', (worker, code, signal) => {
      if (!process.exitCode && signal !== 'SIGTERM') cluster.fork();
    });
    process.on('SIGTERM', () => {
      process.exitCode = 0;
      for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    });
  } else {
    serve();
  }
}

module.exports = { build };
