'use strict';
// The public classes: Client, Transaction, Plan. Each wraps a native object of enrich.node.
// Every asynchronous method makes exactly one native call; its promise is settled by the bridge
// (src/bridge.cpp) when the completion is drained on this thread.

const native = require('./native');
const errors = require('./errors');
const values = require('./values');
const { flattenHeaders } = require('./http');

const { InvalidArgumentError, ClosedError, abortError } = errors;
const { prepareParams, MODE_ROWS, MODE_ONE, MODE_VALUE, MODE_EXECUTE } = values;

const kNative = Symbol('enrich.native');
const kToken = Symbol('enrich.token');

// ---- options -----------------------------------------------------------------------------------

// JS option -> field of enrich_client_options.
const NUMERIC_OPTIONS = {
  ioThreads: 'io_threads',
  minConnections: 'min_connections',
  maxConnections: 'max_connections',
  max: 'max_connections', // pg.Pool's name
  maxPipelineDepth: 'max_pipeline_depth',
  acquireTimeoutMs: 'acquire_timeout_ms',
  maxWaiting: 'max_waiting',
  connectTimeoutMs: 'connect_timeout_ms',
  idleTimeoutMs: 'idle_timeout_ms',
  maxLifetimeMs: 'max_lifetime_ms',
  queryTimeoutMs: 'query_timeout_ms',
  statementCacheSize: 'statement_cache_size',
};
const HTTP_NUMERIC_OPTIONS = {
  timeoutMs: 'http_timeout_ms',
  connectTimeoutMs: 'http_connect_timeout_ms',
  maxConnectionsPerHost: 'http_max_connections_per_host',
  maxResponseBytes: 'http_max_response_bytes',
  breakerFailureThreshold: 'breaker_failure_threshold',
  breakerCoolDownMs: 'breaker_cool_down_ms',
};
const LOG_LEVELS = { debug: 0, trace: 0, info: 1, warn: 2, warning: 2, error: 3, fatal: 3, off: 4, silent: 4 };
const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'];
const PROFILES = { default: 0, postgres: 1, node: 2, python: 3 };

function bad(message) {
  return new InvalidArgumentError(message);
}

function count(value, name) {
  if (!Number.isSafeInteger(value) || value < 0) throw bad(`option ${name} must be a non-negative integer, got ${value}`);
  return value;
}

function nativeOptions(options) {
  if (options === undefined || options === null) options = {};
  if (typeof options === 'string') options = { connectionString: options };
  if (typeof options !== 'object') throw bad('options must be an object or a connection string');
  const out = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (key === 'connectionString' || key === 'dsn') {
      if (typeof value !== 'string') throw bad(`option ${key} must be a string`);
      out.dsn = value;
    } else if (key in NUMERIC_OPTIONS) {
      out[NUMERIC_OPTIONS[key]] = count(value, key);
    } else if (key === 'preparedStatements') {
      out.disable_prepared_statements = !value;
    } else if (key === 'http') {
      if (typeof value !== 'object' || value === null) throw bad('option http must be an object');
      for (const [k, v] of Object.entries(value)) {
        if (v === undefined) continue;
        if (k in HTTP_NUMERIC_OPTIONS) out[HTTP_NUMERIC_OPTIONS[k]] = count(v, `http.${k}`);
        else if (k === 'verifyTls') out.http_insecure_skip_verify = !v;
        else if (k === 'breaker') out.disable_breaker = !v;
        else throw bad(`unknown option http.${k}`);
      }
    } else if (key === 'logLevel') {
      if (!(value in LOG_LEVELS)) throw bad(`unknown logLevel "${value}" (debug, info, warn, error, off)`);
      out.log_level = LOG_LEVELS[value];
    } else if (key === 'logger') {
      if (value !== null && typeof value !== 'object' && typeof value !== 'function') throw bad('option logger must be a logger object');
    } else {
      throw bad(`unknown option ${key}`);
    }
  }
  // A pino logger carries its level: forward what it would print.
  const logger = options.logger;
  if (logger && out.log_level === undefined && typeof logger.level === 'string' && logger.level in LOG_LEVELS) {
    out.log_level = LOG_LEVELS[logger.level];
  }
  return out;
}

/** Core log events -> logger[level]({event, ...fields}, event), pino's calling convention. */
function logForwarder(logger) {
  if (!logger) return undefined;
  return (level, event, fieldsJson) => {
    let fields;
    try {
      fields = JSON.parse(fieldsJson);
    } catch {
      fields = {};
    }
    const method = LOGGER_METHODS[level] ?? 'info';
    const fn = typeof logger[method] === 'function' ? logger[method] : logger.info;
    if (typeof fn === 'function') fn.call(logger, { event, ...fields }, event);
  };
}

function callOptions(options) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw bad('call options must be an object');
  return options;
}

function ms(value, name) {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) throw bad(`${name} must be a non-negative number of milliseconds`);
  return Math.ceil(value);
}

// ---- abort -------------------------------------------------------------------------------------

/**
 * Runs `start(slot)` (one native call; it writes the operation id into slot[0]). With a signal,
 * an abort rejects at once with AbortError and asks the core to cancel; the native operation
 * still completes (cancelled, or with its result if it won the race) and is discarded.
 * `discard` disposes of a value that arrives after the abort (a transaction handle).
 */
function withSignal(signal, start, cancel, discard) {
  if (!signal) return start(undefined);
  if (signal.aborted) return Promise.reject(abortError(signal));
  const slot = [0];
  const promise = start(slot);
  return new Promise((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      cancel(slot[0]);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) {
          if (discard) discard(value);
          return;
        }
        settled = true;
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        reject(err);
      },
    );
  });
}

function sqlAndParams(text, params) {
  // query('SELECT ...', [..]) or query({text, values}) like pg.
  if (text !== null && typeof text === 'object' && typeof text.text === 'string') {
    return [text.text, prepareParams(params ?? text.values)];
  }
  if (typeof text !== 'string') throw bad('sql must be a string');
  return [text, prepareParams(params)];
}

// ---- Client ------------------------------------------------------------------------------------

class Queryable {
  /** All rows: { rows, rowCount, command, fields } like pg's Result. */
  query(sql, params, options) {
    return this._query(MODE_ROWS, sql, params, options);
  }

  /** The first row, or null. */
  queryOne(sql, params, options) {
    return this._query(MODE_ONE, sql, params, options);
  }

  /** The first column of the first row, or null. */
  queryValue(sql, params, options) {
    return this._query(MODE_VALUE, sql, params, options);
  }

  /** The number of rows affected (or returned). */
  execute(sql, params, options) {
    return this._query(MODE_EXECUTE, sql, params, options);
  }

  _query(mode, sql, params, options) {
    let text, prepared, o, timeout, deadline;
    try {
      [text, prepared] = sqlAndParams(sql, params);
      o = callOptions(options);
      timeout = ms(o.timeoutMs, 'timeoutMs');
      deadline = ms(o.deadlineMs, 'deadlineMs');
    } catch (err) {
      return Promise.reject(err);
    }
    const target = this[kNative];
    return withSignal(
      o.signal,
      (slot) => target.query(text, prepared, mode, timeout, deadline, slot),
      (id) => this._cancel(id),
    );
  }
}

class Client extends Queryable {
  /**
   * @param {object|string} options connectionString (or dsn), pool and HTTP settings, logger;
   *   see index.d.ts. A string is a connection string.
   */
  constructor(options) {
    super();
    const o = nativeOptions(options);
    this[kNative] = new native.NativeClient(o, logForwarder(options && options.logger));
  }

  _cancel(id) {
    return this[kNative].cancel(id);
  }

  /**
   * Runs `fn(tx)` in a transaction on a dedicated connection: commits when the promise it
   * returns resolves, rolls back when it rejects. Resolves with fn's result.
   */
  async transaction(fn, options) {
    if (typeof fn !== 'function') throw bad('transaction(fn): fn must be a function');
    const o = callOptions(options);
    const timeout = ms(o.timeoutMs, 'timeoutMs');
    const deadline = ms(o.deadlineMs, 'deadlineMs');
    const handle = await withSignal(
      o.signal,
      (slot) => this[kNative].txBegin(timeout, deadline, slot),
      (id) => this._cancel(id),
      (late) => late.free(),
    );
    const tx = new Transaction(kToken, handle, this);
    let result;
    try {
      result = await fn(tx);
    } catch (err) {
      tx._finished = true;
      try {
        await handle.rollback();
      } catch {
        // the original error matters more; free() below rolls back anyway
      } finally {
        handle.free();
      }
      throw err;
    }
    tx._finished = true;
    try {
      await handle.commit();
    } finally {
      handle.free();
    }
    return result;
  }

  /** GET `url`. Resolves with an HttpResponse for any status. */
  httpGet(url, options) {
    let o;
    try {
      o = callOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.httpRequest({ ...o, method: 'GET', url });
  }

  /**
   * An HTTP request: { method, url, headers, body (string, Buffer or a JSON-able object),
   * timeoutMs, retry, deadlineMs, signal }.
   */
  httpRequest(request) {
    let method, url, headers, body, timeout, deadline, retry;
    try {
      if (!request || typeof request !== 'object') throw bad('httpRequest: request must be an object');
      ({ method = 'GET', url } = request);
      if (typeof url !== 'string' && !(url instanceof URL)) throw bad('httpRequest: url must be a string');
      url = String(url);
      headers = flattenHeaders(request.headers);
      body = request.body;
      if (body !== undefined && body !== null && typeof body !== 'string' && !Buffer.isBuffer(body)) {
        if (ArrayBuffer.isView(body)) body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        else {
          body = JSON.stringify(body);
          headers = headers ?? [];
          if (!headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'content-type')) headers.push('content-type', 'application/json');
        }
      }
      timeout = ms(request.timeoutMs, 'timeoutMs');
      deadline = ms(request.deadlineMs, 'deadlineMs');
      retry = Boolean(request.retry);
    } catch (err) {
      return Promise.reject(err);
    }
    return withSignal(
      request.signal,
      (slot) => this[kNative].http(String(method).toUpperCase(), url, headers, body ?? undefined, timeout, retry, deadline, slot),
      (id) => this._cancel(id),
    );
  }

  /** Runs a plan; resolves with its JSON document as an object. */
  run(plan, inputs, options) {
    return this._run(plan, inputs, options, false);
  }

  /**
   * Runs a plan; resolves with its JSON document as a Buffer of UTF-8 bytes, ready for
   * `reply.type('application/json').send(buffer)`.
   */
  runJson(plan, inputs, options) {
    return this._run(plan, inputs, options, true);
  }

  _run(plan, inputs, options, asJson) {
    let json, o, profile, deadline;
    try {
      if (!(plan instanceof Plan)) throw bad('run: plan must be an enrich.Plan (Plan.load / Plan.fromObject)');
      if (inputs !== undefined && inputs !== null && (typeof inputs !== 'object' || Array.isArray(inputs))) throw bad('run: inputs must be an object');
      json = JSON.stringify(inputs ?? {});
      o = callOptions(options);
      profile = PROFILES[o.profile ?? 'default'];
      if (profile === undefined) throw bad(`run: unknown profile "${o.profile}" (postgres, node, python)`);
      deadline = ms(o.deadlineMs, 'deadlineMs');
    } catch (err) {
      return Promise.reject(err);
    }
    return withSignal(
      o.signal,
      (slot) => this[kNative].run(plan[kNative], json, asJson, profile, deadline, slot),
      (id) => this._cancel(id),
    );
  }

  /** Pool counters: connections, idle, in_flight, waiting, ... */
  stats() {
    const text = this[kNative].stats();
    return text ? JSON.parse(text) : null;
  }

  /** Operations of this client not settled yet. */
  get pending() {
    return this[kNative].pending;
  }

  get closed() {
    return this[kNative].closed;
  }

  /**
   * Cancels everything in flight (those promises reject with CancelledError), closes the
   * connections and stops the I/O threads. Resolves when every operation has settled.
   */
  close() {
    return this[kNative].close();
  }
}

class Transaction extends Queryable {
  constructor(token, handle, client) {
    super();
    if (token !== kToken) throw new TypeError('use client.transaction(fn)');
    this[kNative] = handle;
    this.client = client;
    this._finished = false;
  }

  _cancel(id) {
    return this.client._cancel(id);
  }

  _query(mode, sql, params, options) {
    if (this._finished) return Promise.reject(new ClosedError('the transaction is finished'));
    return super._query(mode, sql, params, options);
  }
}

// ---- Plan --------------------------------------------------------------------------------------

function variablesJson(variables) {
  if (variables === undefined || variables === null) return undefined;
  if (typeof variables !== 'object') throw bad('plan variables must be an object of strings');
  return JSON.stringify(variables);
}

/** A validated, immutable plan; share one across requests (and clients). */
class Plan {
  constructor(token, handle) {
    if (token !== kToken) throw new TypeError('use Plan.load(path) or Plan.fromObject(object)');
    this[kNative] = handle;
  }

  /** Loads a plan file; ${VAR} placeholders come from `variables`, else the environment. */
  static load(path, variables) {
    return new Plan(kToken, native.loadPlan(String(path), variablesJson(variables)));
  }

  /** A plan given as an object (the JSON file's content). */
  static fromObject(object, variables) {
    if (!object || typeof object !== 'object') throw bad('Plan.fromObject: expected an object');
    return new Plan(kToken, native.planFromJson(JSON.stringify(object), variablesJson(variables)));
  }

  /** A plan given as JSON text. */
  static fromJson(text, variables) {
    return new Plan(kToken, native.planFromJson(String(text), variablesJson(variables)));
  }

  get name() {
    return this[kNative].name;
  }
}

module.exports = { Client, Transaction, Plan };
