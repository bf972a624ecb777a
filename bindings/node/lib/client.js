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
// tracing: true (lib/tracing.js, loaded on first use): { queryText }, else null
const kTracing = Symbol('enrich.tracing');
const kToken = Symbol('enrich.token');

// ---- options -----------------------------------------------------------------------------------

// The core's one list of client options (enrich_client_options_schema). JS names are its names
// in camelCase, with `Ms` on durations: milliseconds everywhere, as in node-postgres.
const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
// node-postgres' names for the same things.
const PG_ALIASES = { connectionString: 'dsn', max: 'maxConnections' };

/** Every client option: JS name -> { name (the core's), type, default (ms for durations), doc }. */
const OPTIONS = Object.freeze(
  Object.fromEntries(
    JSON.parse(native.optionsSchema).map((o) => [camel(o.name) + (o.type === 'duration' ? 'Ms' : ''), Object.freeze(o)]),
  ),
);

// Core levels by name; the logger methods for the levels of events (enrich_log_level 1..4).
const LOG_LEVELS = { debug: 'debug', trace: 'debug', info: 'info', warn: 'warning', warning: 'warning', error: 'error', fatal: 'error', off: 'off', silent: 'off' };
const LOGGER_METHODS = [undefined, 'debug', 'info', 'warn', 'error'];
const PROFILES = { default: 0, postgres: 1, node: 2, python: 3 };

function bad(message) {
  return new InvalidArgumentError(message);
}

/** One option's JS value, checked, in the core's type (durations stay milliseconds). */
function optionValue(jsName, option, value) {
  switch (option.type) {
    case 'count':
      if (!Number.isSafeInteger(value) || value < 0) throw bad(`option ${jsName} must be a non-negative integer, got ${value}`);
      return value;
    case 'duration':
      if (typeof value !== 'number' || !Number.isFinite(value) || !(value > 0)) throw bad(`option ${jsName} must be a positive number of milliseconds, got ${value}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw bad(`option ${jsName} must be true or false, got ${value}`);
      return value;
    case 'ratio':
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw bad(`option ${jsName} must be a number from 0 to 1, got ${value}`);
      return value;
    case 'text_list':
      if (typeof value === 'string') return value; // the core splits it at whitespace
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw bad(`option ${jsName} must be an array of strings or one string`);
      return value;
    case 'log_level':
      if (!(value in LOG_LEVELS)) throw bad(`unknown ${jsName} "${value}" (debug, info, warn, error, off)`);
      return LOG_LEVELS[value];
    default:
      if (typeof value !== 'string') throw bad(`option ${jsName} must be a string`);
      return value;
  }
}

function configJson(options) {
  if (options === undefined || options === null) options = {};
  if (typeof options === 'string') options = { connectionString: options };
  if (typeof options !== 'object') throw bad('options must be an object or a connection string');
  const out = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === null) continue;
    if (key === 'logger') {
      if (typeof value !== 'object' && typeof value !== 'function') throw bad('option logger must be a logger object');
      continue;
    }
    const jsName = PG_ALIASES[key] ?? key;
    const option = Object.hasOwn(OPTIONS, jsName) ? OPTIONS[jsName] : undefined;
    if (!option) throw bad(`unknown option ${key} (valid options: ${[...Object.keys(OPTIONS), 'logger'].join(', ')})`);
    out[option.name] = optionValue(key, option, value);
  }
  // A pino logger carries its level: forward what it would print.
  const logger = options.logger;
  if (logger && out.log_level === undefined && typeof logger.level === 'string' && logger.level in LOG_LEVELS) {
    out.log_level = LOG_LEVELS[logger.level];
  }
  return JSON.stringify(out);
}

/** The core's option values with JS names. */
function jsOptions(values) {
  const out = {};
  for (const [js, o] of Object.entries(OPTIONS)) out[js] = values[o.name];
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

/** A per-call flag: undefined or null is false. */
function flag(value, name) {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw bad(`${name} must be true or false, got ${value}`);
  return value;
}

/** `batch`: the SQL type of the key $1 ('bigint'), or '' when absent; the core checks the name. */
function batchType(value) {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string' || value === '')
    throw bad(`batch must be the SQL type of the key $1, such as 'bigint', got ${value}`);
  return value;
}

/** A per-call duration: undefined or null is the default (0 for the core); 0 is an error. */
function ms(value, name) {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw bad(`${name} must be a positive number of milliseconds (undefined: the default), got ${value}`);
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
    let text, prepared, o, timeout, deadline, primary, coalesce, batch;
    try {
      [text, prepared] = sqlAndParams(sql, params);
      o = callOptions(options);
      timeout = ms(o.timeoutMs, 'timeoutMs');
      deadline = ms(o.deadlineMs, 'deadlineMs');
      primary = flag(o.usePrimary, 'usePrimary');
      coalesce = flag(o.coalesce, 'coalesce');
      batch = batchType(o.batch);
    } catch (err) {
      return Promise.reject(err);
    }
    const target = this[kNative];
    const run = () =>
      withSignal(
        o.signal,
        (slot) => target.query(text, prepared, mode, timeout, deadline, slot, primary, coalesce, batch),
        (id) => this._cancel(id),
      );
    const tracing = this[kTracing];
    return tracing ? require('./tracing').tracedQuery(text, tracing.queryText, run) : run();
  }
}

class Client extends Queryable {
  /**
   * @param {object|string} options connectionString (or dsn), pool and HTTP settings, logger;
   *   see index.d.ts. A string is a connection string.
   */
  constructor(options) {
    super();
    const config = configJson(options);
    this[kNative] = new native.NativeClient(config, logForwarder(options && options.logger));
    const traced = typeof options === 'object' && options !== null && options.tracing === true;
    this[kTracing] = traced ? { queryText: options.traceQueryText === true } : null;
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

  /**
   * runJson() plus where the time went: { json, timings } (docs/observability.md; microseconds).
   */
  async runWithTimings(plan, inputs, options) {
    const [json, timings] = await this._run(plan, inputs, options, true, true);
    return { json, timings: JSON.parse(timings) };
  }

  _run(plan, inputs, options, asJson, timings = false) {
    let json, o, profile, deadline, primary;
    try {
      if (!(plan instanceof Plan)) throw bad('run: plan must be an enrich.Plan (Plan.load / Plan.fromObject)');
      if (inputs !== undefined && inputs !== null && (typeof inputs !== 'object' || Array.isArray(inputs))) throw bad('run: inputs must be an object');
      json = JSON.stringify(inputs ?? {});
      o = callOptions(options);
      profile = PROFILES[o.profile ?? 'default'];
      if (profile === undefined) throw bad(`run: unknown profile "${o.profile}" (postgres, node, python)`);
      deadline = ms(o.deadlineMs, 'deadlineMs');
      primary = flag(o.usePrimary, 'usePrimary');
    } catch (err) {
      return Promise.reject(err);
    }
    // run(trace, withTimings): the document, or [document, timings JSON] with timings.
    const run = (trace, withTimings) =>
      withSignal(
        o.signal,
        (slot) => this[kNative].run(plan[kNative], json, asJson, profile, deadline, slot, primary, withTimings, trace?.[0], trace?.[1]),
        (id) => this._cancel(id),
      );
    if (this[kTracing] && !timings) return require('./tracing').tracedPlan(plan.name, run);
    return run(undefined, timings);
  }

  /** Counters, gauges and histograms in the Prometheus data model (docs/observability.md). */
  metrics() {
    const text = this[kNative].metrics();
    return text ? JSON.parse(text) : [];
  }

  /** Pool counters: connections, idle, in_flight, waiting, ... */
  stats() {
    const text = this[kNative].stats();
    return text ? JSON.parse(text) : null;
  }

  /** The options this client runs with, by JS name (durations in ms; the DSN's password redacted). */
  options() {
    const text = this[kNative].options();
    return text ? jsOptions(JSON.parse(text)) : null;
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

module.exports = { Client, Transaction, Plan, OPTIONS };
