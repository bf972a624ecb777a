'use strict';
// Error classes. Every failure of an enrich operation is an EnrichError with
//   code       as node-postgres: the SQLSTATE for errors reported by Postgres ('23505'),
//              else an upper-case code of enrich's ('ENRICH_POOL_TIMEOUT'; AbortError: 'ABORT_ERR')
//   kind       the C API status name ('query', 'not_found', 'pool_timeout', ...)
//   status     the numeric enrich_status
//   retriable  true when trying again later may succeed
// and, where Postgres sent them, the fields node-postgres gives: sqlstate (= code), severity,
// detail, hint, position, schema, table, column, dataType, constraint, where.

const STATUS = Object.freeze({
  ok: 0,
  connection: 1,
  timeout: 2,
  cancelled: 3,
  pool_timeout: 4,
  pool_queue_full: 5,
  query: 6,
  invalid_argument: 7,
  not_found: 8,
  http: 9,
  circuit_open: 10,
  closed: 11,
  internal: 12,
  no_memory: 13,
});
const STATUS_NAMES = Object.keys(STATUS);

// The server's further fields, in the order of the C API's enrich_diag, by node-postgres' names.
const DIAG_FIELDS = ['severity', 'position', 'schema', 'table', 'column', 'dataType', 'constraint', 'where'];

/** The `code` of an error of `kind` without a SQLSTATE: 'pool_timeout' -> 'ENRICH_POOL_TIMEOUT'. */
function codeOf(kind) {
  return 'ENRICH_' + kind.toUpperCase();
}

class EnrichError extends Error {
  constructor(message, props = {}) {
    super(message, props.cause !== undefined ? { cause: props.cause } : undefined);
    this.name = new.target.name;
    this.kind = props.kind ?? new.target.kind ?? 'internal';
    this.code = props.sqlstate || props.code || codeOf(this.kind);
    this.status = STATUS[this.kind] ?? STATUS.internal;
    this.retriable = Boolean(props.retriable);
    if (props.sqlstate) this.sqlstate = props.sqlstate;
    if (props.detail) this.detail = props.detail;
    if (props.hint) this.hint = props.hint;
    for (const field of DIAG_FIELDS) if (props[field]) this[field] = props[field];
  }
}

function define(name, kind, Base = EnrichError) {
  const C = { [name]: class extends Base {} }[name];
  C.kind = kind;
  return C;
}

const ConnectionError = define('ConnectionError', 'connection');
const TimeoutError = define('TimeoutError', 'timeout');
const CancelledError = define('CancelledError', 'cancelled');
const PoolTimeoutError = define('PoolTimeoutError', 'pool_timeout');
const PoolQueueFullError = define('PoolQueueFullError', 'pool_queue_full');
const QueryError = define('QueryError', 'query');
const InvalidArgumentError = define('InvalidArgumentError', 'invalid_argument');
const NotFoundError = define('NotFoundError', 'not_found');
const HttpError = define('HttpError', 'http');
const CircuitOpenError = define('CircuitOpenError', 'circuit_open');
const ClosedError = define('ClosedError', 'closed');
const InternalError = define('InternalError', 'internal');
const NoMemoryError = define('NoMemoryError', 'no_memory', InternalError);

/** An operation given an AbortSignal that fired. `cause` is the signal's reason. */
class AbortError extends CancelledError {
  constructor(message = 'The operation was aborted', props = {}) {
    super(message, { ...props, kind: 'cancelled', code: 'ABORT_ERR' }); // Node's AbortError code
    this.name = 'AbortError';
  }
}

const BY_STATUS = [
  EnrichError, ConnectionError, TimeoutError, CancelledError, PoolTimeoutError, PoolQueueFullError,
  QueryError, InvalidArgumentError, NotFoundError, HttpError, CircuitOpenError, ClosedError,
  InternalError, NoMemoryError,
];

/** The error class of a status (number or name). */
function errorClassFor(status) {
  const n = typeof status === 'number' ? status : STATUS[status];
  return BY_STATUS[n] ?? InternalError;
}

/** Called by the addon for every failed operation; `diag`: the DIAG_FIELDS values ('' if absent). */
function makeError(status, message, sqlstate, detail, hint, retriable, diag = []) {
  const C = errorClassFor(status);
  const props = { kind: STATUS_NAMES[status] ?? 'internal', sqlstate, detail, hint, retriable };
  DIAG_FIELDS.forEach((field, i) => {
    if (diag[i]) props[field] = diag[i];
  });
  return new C(message, props);
}

function abortError(signal) {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}

/**
 * The HTTP status an endpoint should answer with for an error: 404 not found, 400 bad input,
 * 503 when the database or an upstream is unavailable, 504 on a timeout, 500 otherwise.
 */
function httpStatusFor(err) {
  if (err instanceof NotFoundError) return 404;
  if (err instanceof InvalidArgumentError) return 400;
  if (err instanceof TimeoutError) return 504;
  if (
    err instanceof ConnectionError ||
    err instanceof PoolTimeoutError ||
    err instanceof PoolQueueFullError ||
    err instanceof CircuitOpenError ||
    err instanceof ClosedError
  ) {
    return 503;
  }
  return 500;
}

module.exports = {
  STATUS,
  EnrichError,
  ConnectionError,
  TimeoutError,
  CancelledError,
  AbortError,
  PoolTimeoutError,
  PoolQueueFullError,
  QueryError,
  InvalidArgumentError,
  NotFoundError,
  HttpError,
  CircuitOpenError,
  ClosedError,
  InternalError,
  NoMemoryError,
  errorClassFor,
  makeError,
  abortError,
  httpStatusFor,
};
