import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, FastifySchema, RouteOptions } from 'fastify';
import type { Client, ClientOptions, Plan, RunOptions } from './index';

export interface EnrichPluginOptions extends ClientOptions {
  /** Decorate with this client instead of creating one. */
  client?: Client;
  /** Close a given `client` when Fastify closes (a created one always is). */
  closeClient?: boolean;
  /** Decorator name (default 'enrich'). */
  decorate?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    enrich: Client;
  }
}

declare const enrichPlugin: FastifyPluginAsync<EnrichPluginOptions>;
export default enrichPlugin;
export { enrichPlugin };

/** Options of {@link planRoute}: Fastify route options (GET only) plus the plan's. */
export interface PlanRouteOptions extends Omit<RouteOptions, 'method' | 'handler' | 'url' | 'schema'> {
  /** The route's URL, path parameters as `:name`. */
  url: string;
  /** The plan, or a function returning it (called per request). */
  plan: Plan | (() => Plan);
  /**
   * Fastify's route schema. The properties of `params` and `querystring` (JSON schemas of type
   * object) are the plan's inputs; `response` documents the route (the bytes are not re-serialized).
   */
  schema?: FastifySchema;
  /** The client, or a function returning it; default: the instance's `decorator` decorator. */
  client?: Client | (() => Client);
  /** Decorator holding the client when `client` is not given (default 'enrich'). */
  decorator?: string;
  /** The 404's message when a required step finds no row (default 'not found'). */
  notFoundMessage?: string | ((request: FastifyRequest) => string);
  /** Passed to runJson (deadlineMs, usePrimary, ...). */
  runOptions?: RunOptions;
  /** Wraps each run, e.g. to make the request's trace context active. */
  inContext?: (request: FastifyRequest, run: () => Promise<Buffer>) => Promise<Buffer>;
}

/**
 * Adds `GET url` running `plan` with the request's declared params and querystring as inputs;
 * Fastify validates them (400), the JSON bytes are sent as they are, enrich's errors become
 * `{ statusCode, error, code, message }` with httpStatusFor's status.
 */
export declare function planRoute(fastify: FastifyInstance, options: PlanRouteOptions): FastifyInstance;

/** Options of {@link replyError}. */
export interface ReplyErrorOptions {
  /** The 404's message (default 'not found'). */
  notFoundMessage?: string;
  /** The log message of a 5xx (default 'enrich call failed'). */
  logMessage?: string;
  /** Logged beside the error on a 5xx. */
  logFields?: Record<string, unknown>;
}

/**
 * Answers an error from enrich as {@link planRoute} does: httpStatusFor's status and
 * `{ statusCode, error, code, message }`; 5xx are logged with `request.log`.
 */
export declare function replyError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  options?: ReplyErrorOptions,
): FastifyReply;
