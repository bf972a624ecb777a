'use strict';
// Fastify plugin: `fastify.register(require('enrich/fastify'), options)` decorates the instance
// with `fastify.enrich` (a Client) and closes that client when Fastify closes.
//
// options: the Client options (connectionString, maxConnections, httpTimeoutMs, ...), plus
//   client     an existing Client to decorate with instead (then it is closed on close only
//              when closeClient is true)
//   decorate   the decorator's name (default 'enrich')
//   logger     default: the Fastify logger (core warnings such as a failed optional step or a
//              lost connection show up in the app's log)
//
// planRoute(fastify, { url, plan, schema, ... }): a GET route running a plan, its inputs validated
// by Fastify's schema and its JSON bytes sent as they are (lib/fastify_route.js); replyError(request,
// reply, err, { notFoundMessage, logMessage, logFields }) answers an enrich error as that route does.
//
// Not wrapped by fastify-plugin; it sets the same symbols, so the decorator is visible
// outside the plugin's encapsulation context.

const { Client } = require('./lib/client');
const { planRoute, replyError } = require('./lib/fastify_route');

async function enrichPlugin(fastify, options) {
  const { client: given, decorate = 'enrich', closeClient, ...clientOptions } = options ?? {};
  const client = given ?? new Client({ logger: fastify.log, ...clientOptions });
  fastify.decorate(decorate, client);
  if (!given || closeClient) {
    fastify.addHook('onClose', async () => {
      await client.close();
    });
  }
}

enrichPlugin[Symbol.for('skip-override')] = true;
enrichPlugin[Symbol.for('fastify.display-name')] = 'enrich';
enrichPlugin[Symbol.for('plugin-meta')] = { name: 'enrich', fastify: '>=4' };

module.exports = enrichPlugin;
module.exports.default = enrichPlugin;
module.exports.enrichPlugin = enrichPlugin;
module.exports.planRoute = planRoute;
module.exports.replyError = replyError;
