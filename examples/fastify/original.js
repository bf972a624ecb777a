'use strict';
// The article's endpoint ("Node.js vs Python: Backend Comparison", the Fastify + pg example),
// kept as it was written, as the reference for tests and benchmarks. Run:
//   DATABASE_URL=postgres://... ANALYTICS_URL=http://127.0.0.1:8081 PORT=3000 node original.js
//
// Deviations from the article, each only because the code cannot run here as printed:
//   1. TypeScript -> JavaScript (no compiler step): type annotations, the `interface` and the
//      generic route parameter are gone; `import` became `require`.
//   2. The analytics URL: `https://analytics-service.internal` does not exist here; the base
//      comes from ANALYTICS_URL (default http://127.0.0.1:8081, the analytics stub).
//   3. The article shows only registerUserRoutes(); the server around it (Fastify instance,
//      pg Pool from DATABASE_URL, the Fastify logger as `logger`, listen on PORT) is added,
//      with `build()` exported so tests can use fastify.inject().
// Everything inside the handler is the article's code, including its behaviour for unknown
// users (200 without `user`) and errors (500 {error: 'Internal server error'}).

const Fastify = require('fastify');
const { Pool } = require('pg');

// Deviation 2: set by build() from options.analyticsUrl, ANALYTICS_URL or the stub's default.
let ANALYTICS_URL = 'http://127.0.0.1:8081';

async function registerUserRoutes(fastify, dbPool, logger) {
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
          dbPool.query('SELECT * FROM users WHERE id = $1', [userId]),
          dbPool.query('SELECT * FROM user_preferences WHERE user_id = $1', [userId]),
          dbPool.query(
            'SELECT * FROM activity_log WHERE user_id = $1 ORDER BY created_at DESC LIMIT 10',
            [userId]
          )
        ]);

        let analyticsData = null;
        if (includeAnalytics) {
          // Conditional external service call with timeout
          const controller = new AbortController();
          const timeoutId = setTimeout(() => controller.abort(), 500);

          try {
            const response = await fetch(
              `${ANALYTICS_URL}/users/${userId}/summary`, // deviation 2
              { signal: controller.signal }
            );
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
          user: userData.rows[0],
          preferences: preferences.rows[0],
          recentActivity: recentActivity.rows,
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

// ---- deviation 3: the server around the article's function --------------------------------------

/** Builds the app; `options.pool` / `options.logger` override the defaults (tests). */
async function build(options = {}) {
  ANALYTICS_URL = (options.analyticsUrl ?? process.env.ANALYTICS_URL ?? ANALYTICS_URL).replace(/\/+$/, '');
  const fastify = Fastify({ logger: options.logger ?? { level: process.env.LOG_LEVEL || 'warn' } });
  const dbPool = options.pool ?? new Pool({ connectionString: options.databaseUrl ?? process.env.DATABASE_URL });
  if (!options.pool) fastify.addHook('onClose', async () => dbPool.end());
  await registerUserRoutes(fastify, dbPool, fastify.log);
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
