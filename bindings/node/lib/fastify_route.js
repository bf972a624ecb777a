'use strict';
// planRoute(fastify, options): one GET route that runs a plan and sends its JSON bytes.
//
// The route's schema is Fastify's own (params, querystring, response, ...): Fastify validates
// the inputs against it (400 with its own error document) and tools such as @fastify/swagger
// list it. The plan's inputs are the properties that schema.params and schema.querystring
// declare, by name, as validated (coerced, defaults filled); nothing else reaches the plan. The
// document's bytes go to reply.send as a Buffer with the JSON content type, so a response schema
// documents the route but never re-serializes it. Errors from enrich become JSON error responses
// in Fastify's shape ({ statusCode, error, code, message }) with enrich.httpStatusFor's status,
// as examples/fastify/app.js answers them.

const { httpStatusFor } = require('./errors');
const { Plan } = require('./client');

const JSON_TYPE = 'application/json; charset=utf-8';
const STATUS_NAMES = {
  400: 'Bad Request',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
const MESSAGES = {
  503: 'the database is unavailable',
  504: 'the request timed out',
  500: 'internal server error',
};

/**
 * Answers `err` (from enrich) as planRoute does: enrich.httpStatusFor's status and Fastify's error
 * shape { statusCode, error, code, message }. A 400 says the error's message, a 404
 * `notFoundMessage`; 5xx are logged with request.log (`logMessage`, `logFields` beside the error)
 * and say only what kind of failure it was.
 */
function replyError(request, reply, err, options = {}) {
  const { notFoundMessage = 'not found', logMessage = 'enrich call failed', logFields } = options;
  const status = httpStatusFor(err);
  let message = MESSAGES[status];
  if (status === 404) message = notFoundMessage;
  else if (status === 400) message = err.message;
  if (status >= 500) request.log.error({ ...logFields, err }, logMessage);
  return reply.code(status).type(JSON_TYPE).send(
    JSON.stringify({ statusCode: status, error: STATUS_NAMES[status], code: err.kind ?? 'internal', message }),
  );
}

function declaredNames(schema, where) {
  if (schema === undefined) return [];
  if (schema === null || typeof schema !== 'object' || schema.type !== 'object' || typeof schema.properties !== 'object') {
    throw new TypeError(`planRoute: schema.${where} must be a JSON schema of type "object" with properties`);
  }
  return Object.keys(schema.properties);
}

function getter(value, fallback) {
  if (value === undefined) return fallback;
  if (typeof value === 'function') return value;
  return () => value;
}

/**
 * Adds `GET url` to `fastify`, running `plan` with the request's declared params and querystring
 * as inputs. options: url, plan (a Plan, or a function returning one), schema (Fastify's route
 * schema), client (a Client or a function returning one; default: the instance's decorator named
 * `decorator`, 'enrich' unless the plugin was told otherwise), notFoundMessage
 * (a function of the request, or a string), runOptions (passed to runJson: deadlineMs,
 * usePrimary), inContext(request, run) (wraps each run, e.g. to make the request's trace context
 * active), and any other Fastify route option (logLevel, config, onRequest, ...).
 */
function planRoute(fastify, options) {
  const { url, plan, schema = {}, client, notFoundMessage, runOptions, inContext, decorator = 'enrich', ...route } = options ?? {};
  if (typeof url !== 'string') throw new TypeError('planRoute: url must be a string');
  if (!(plan instanceof Plan) && typeof plan !== 'function') throw new TypeError('planRoute: plan must be an enrich.Plan or a function returning one');
  const getPlan = typeof plan === 'function' ? plan : () => plan;
  const getClient = getter(client, () => fastify[decorator]);
  const paramNames = declaredNames(schema.params, 'params');
  const queryNames = declaredNames(schema.querystring, 'querystring');
  const notFound = typeof notFoundMessage === 'function' ? notFoundMessage : () => notFoundMessage ?? 'not found';

  function inputsOf(request) {
    const inputs = {};
    const { params, query } = request;
    for (const name of paramNames) inputs[name] = params[name];
    for (const name of queryNames) if (query[name] !== undefined) inputs[name] = query[name];
    return inputs;
  }

  async function handler(request, reply) {
    const run = () => getClient().runJson(getPlan(), inputsOf(request), runOptions);
    let body;
    try {
      body = await (inContext ? inContext(request, run) : run());
    } catch (err) {
      return replyError(request, reply, err, { notFoundMessage: notFound(request), logMessage: `${url} failed` });
    }
    return reply.type(JSON_TYPE).send(body);
  }

  return fastify.route({ ...route, method: 'GET', url, schema, handler });
}

module.exports = { planRoute, replyError };
