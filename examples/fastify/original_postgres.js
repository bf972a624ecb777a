'use strict';
// The article's Fastify endpoint with postgres.js (the `postgres` package) instead of pg: what a
// Node user who wants a faster driver would pick. Everything else is original.js: the same
// route, schema, parallel queries, analytics call with its 500 ms AbortController timeout, and
// response. Used by the benchmark (scripts/bench) as the second Node baseline. Run:
//   DATABASE_URL=postgres://... ANALYTICS_URL=http://127.0.0.1:8081 PORT=3000 node original_postgres.js
//
// postgres.js defaults kept: 10 connections (like pg's Pool), prepared statements on, rows as
// objects with int8/numeric as strings and timestamps as Date, like pg, so the JSON is the same
// as original.js's (tests/node/endpoint.test.js checks it).

const Fastify = require('fastify');
const postgres = require('postgres');

let ANALYTICS_URL = 'http://127.0.0.1:8081';

async function registerUserRoutes(fastify, sql, logger) {
  fastify.get(
    '/api/users/:userId/enriched',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            includeAnalytics: { type: 'boolean', default: false }
          }
        }
      }
    },
    async (request, reply) => {
      const { userId } = request.params;
      const { includeAnalytics } = request.query;

      const startTime = Date.now();

      try {
        // Parallel execution of independent queries
        const [userData, preferences, recentActivity] = await Promise.all([
          sql`SELECT * FROM users WHERE id = ${userId}`,
          sql`SELECT * FROM user_preferences WHERE user_id = ${userId}`,
          sql`SELECT * FROM activity_log WHERE user_id = ${userId} ORDER BY created_at DESC LIMIT 10`
        ]);

        let analyticsData = null;
        if (includeAnalytics) {
          const controller = new AbortController();
          const timeoutId = setTimeout(() => controller.abort(), 500);

          try {
            const response = await fetch(`${ANALYTICS_URL}/users/${userId}/summary`, {
              signal: controller.signal
            });
            analyticsData = await response.json();
          } catch (error) {
            logger.warn({ userId, error }, 'Analytics service timeout');
          } finally {
            clearTimeout(timeoutId);
          }
        }

        const duration = Date.now() - startTime;
        logger.info({ userId, duration, includeAnalytics }, 'User enrichment completed');

        return {
          user: userData[0],
          preferences: preferences[0],
          recentActivity: [...recentActivity], // a plain array (postgres.js returns a Result)
          analytics: analyticsData,
          meta: { processingTimeMs: duration }
        };
      } catch (error) {
        logger.error({ userId, error }, 'User enrichment failed');
        reply.code(500).send({ error: 'Internal server error' });
      }
    }
  );
}

/** Builds the app; `options.sql` / `options.logger` override the defaults (tests). */
async function build(options = {}) {
  ANALYTICS_URL = (options.analyticsUrl ?? process.env.ANALYTICS_URL ?? ANALYTICS_URL).replace(/\/+$/, '');
  const fastify = Fastify({ logger: options.logger ?? { level: process.env.LOG_LEVEL || 'warn' } });
  const sql = options.sql ?? postgres(options.databaseUrl ?? process.env.DATABASE_URL, { max: 10 });
  if (!options.sql) fastify.addHook('onClose', async () => sql.end({ timeout: 5 }));
  await registerUserRoutes(fastify, sql, fastify.log);
  return fastify;
}

if (require.main === module) {
  build()
    .then((app) => app.listen({ port: Number(process.env.PORT || 3000), host: process.env.HOST || '127.0.0.1' }))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

module.exports = { build, registerUserRoutes };
