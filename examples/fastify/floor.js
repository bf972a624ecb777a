'use strict';
// Fastify's floor for the article's endpoint: what Fastify and Node cost per request on their
// own, with no database, no HTTP call and no JSON encoding.
//
// The same route as app.js (GET /api/users/:userId/enriched), validating the same inputs the
// same way: the querystring schema (includeAnalytics a boolean, default false; anything else is
// Fastify's 400) and userId an integer within Postgres's bigint (enrich's rule: optional minus
// sign, digits, int64; otherwise the 400 body app.js sends). It answers with one constant
// 1,024-byte body, as runJson()'s is sent: a document shaped like app.js's (node profile: string
// bigints, jsonb as objects, key `recentActivity`, `meta.processingTimeMs`) for one fixed user,
// with analytics null. Same Fastify instance options as app.js (logger at warn), one process.
//
// scripts/bench measures it as the row "Fastify floor" and divides the other Fastify rows'
// throughput by it ("vs floor"): no implementation of the endpoint on Fastify can be faster.
//
//   PORT=3000 node floor.js    (PORT, HOST as for app.js)

const Fastify = require('fastify');

const DOCUMENT = {
  user: {
    id: '77777', email: 'saoirse.obrien77777@mail.example.org', name: "Saoirse O'Brien", is_active: true,
    level: 3, login_count: 2, score: '625.68', rating: 3.1049886, balance: 111089.18590998082,
    external_id: 'fbf85598-5fe2-ee25-0f6f-a1f2b340cdfb', birth_date: '1997-10-11T00:00:00.000Z',
    last_login: '2025-01-30T01:12:14.877Z', created_at: '2022-05-15T01:06:39.010Z', tags: [],
    profile: { bio: 'Coffee enthusiast, hiker.', nickname: '<b>bold</b>', verified: false }, avatar: null,
  },
  preferences: {
    user_id: '77777', theme: 'system', language: 'fr', notifications: false,
    settings: { email: true, digest: 'daily' }, updated_at: '2025-01-18T01:56:55.879Z',
  },
  recentActivity: [
    { id: 'act_1756999', user_id: '77777', action: 'update_profile', created_at: '2025-06-21T08:28:41.956Z', duration_ms: 25894, metadata: null },
    { id: 'act_1885780', user_id: '77777', action: 'view_page', created_at: '2025-06-10T22:35:31.426Z', duration_ms: 2521, metadata: { path: '/cart', ok: true } },
  ],
  analytics: null,
  meta: { processingTimeMs: 4 },
};
const BODY = Buffer.from(JSON.stringify(DOCUMENT));
if (BODY.length !== 1024) throw new Error(`the floor's body is ${BODY.length} bytes, not 1024`);

const INTEGER = /^-?[0-9]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// enrich's rule for an integer input given as a string (std::from_chars into int64_t).
function isInt64(s) {
  if (!INTEGER.test(s)) return false;
  if (s.length < 19) return true;
  const n = BigInt(s);
  return n >= INT64_MIN && n <= INT64_MAX;
}

function build() {
  const fastify = Fastify({ logger: { level: process.env.LOG_LEVEL || 'warn' } });
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
    async (request, reply) => {
      const { userId } = request.params;
      if (!isInt64(userId)) {
        const shown = userId.length > 40 ? userId.slice(0, 40) + '...' : userId;
        return reply.code(400).send({
          statusCode: 400,
          error: 'Bad Request',
          code: 'invalid_argument',
          message: `input "userId" must be an integer, got "${shown}"`,
        });
      }
      return reply.type('application/json; charset=utf-8').send(BODY);
    },
  );
  return fastify;
}

if (require.main === module) {
  build()
    .listen({ port: Number(process.env.PORT || 3000), host: process.env.HOST || '127.0.0.1' })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

module.exports = { build };
