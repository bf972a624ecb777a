'use strict';
// enrich for Node: a native client (pooled, pipelined Postgres + HTTP + plans) whose operations
// return Promises settled on this thread. See README.md and index.d.ts.

const native = require('./lib/native');
const errors = require('./lib/errors');
const values = require('./lib/values');
const { Client, Transaction, Plan, OPTIONS } = require('./lib/client');
const { HttpResponse } = require('./lib/http');
const { registerMetrics } = require('./lib/metrics');

module.exports = {
  Client,
  Transaction,
  Plan,
  HttpResponse,
  /** Every client option by JS name: { name, type, default, doc } (the core's one list). */
  OPTIONS,
  /** Registers a client's metrics with a prom-client registry (docs/observability.md). */
  registerMetrics,
  QueryResult: values.QueryResult,
  /** pg-types as used to decode rows (the same package and version as pg 8): setTypeParser. */
  types: values.types,
  prepareValue: values.prepareValue,
  version: native.version,
  versionHex: native.versionHex,
  /** Counters of this thread's bridge: { pending }. */
  bridgeStats: () => native.bridgeStats(),
  errors,
  EnrichError: errors.EnrichError,
  ConnectionError: errors.ConnectionError,
  TimeoutError: errors.TimeoutError,
  CancelledError: errors.CancelledError,
  AbortError: errors.AbortError,
  PoolTimeoutError: errors.PoolTimeoutError,
  PoolQueueFullError: errors.PoolQueueFullError,
  QueryError: errors.QueryError,
  InvalidArgumentError: errors.InvalidArgumentError,
  NotFoundError: errors.NotFoundError,
  HttpError: errors.HttpError,
  CircuitOpenError: errors.CircuitOpenError,
  ClosedError: errors.ClosedError,
  InternalError: errors.InternalError,
  NoMemoryError: errors.NoMemoryError,
  httpStatusFor: errors.httpStatusFor,
};
