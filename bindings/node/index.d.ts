// Type declarations of the `enrich` package (bindings/node).

/// <reference types="node" />

export declare const version: string;
export declare const versionHex: number;

/**
 * Options of `new Client(options)`: the core's one option list (`OPTIONS` at run time), named in
 * camelCase, durations in milliseconds (`...Ms`). Absent, undefined or null: the default. An
 * unknown name throws InvalidArgumentError listing the valid ones.
 */
export interface ClientOptions {
  /** libpq connection string or URI (node-postgres' name); absent: libpq's defaults (PGHOST, ...). */
  connectionString?: string;
  /** pg.Pool's name for maxConnections. */
  max?: number;
  /** Same as connectionString. */
  dsn?: string;
  /**
   * Read replicas' connection strings: an array, or one string of URIs separated by whitespace
   * (`process.env.DATABASE_REPLICA_URL`). Reads go to the least loaded replica; docs/deploy.md.
   */
  replicaDsns?: string | string[];
  /** I/O threads, each with its own event loop and share of the pool. Default 1. */
  ioThreads?: number;
  /** Connections opened at start and kept open. Default 0. */
  minConnections?: number;
  /** Most connections to Postgres (over all I/O threads). Default 4. */
  maxConnections?: number;
  /** Queries in flight on one shared connection before another one is used. Default 64. */
  maxPipelineDepth?: number;
  /** How long a query may wait for room on a connection (pool_timeout after). Default 5000. */
  acquireTimeoutMs?: number;
  /** Queries allowed to wait for a connection (pool_queue_full after). Default 100000. */
  maxWaiting?: number;
  /** Time to open and set up a connection. Default 5000. */
  connectTimeoutMs?: number;
  /** Connections above min_connections idle this long are closed. Default 60000. */
  idleTimeoutMs?: number;
  /** Connections are retired after this long, once idle. Default 1800000. */
  maxLifetimeMs?: number;
  /** Max_lifetime varies by this fraction, so that connections do not all retire at once. Default 0.2. */
  lifetimeJitter?: number;
  /** Idle connections unused this long are pinged before reuse. Default 30000. */
  healthCheckIntervalMs?: number;
  /** Wait after a failed connect, doubled per failure. Default 100. */
  reconnectBackoffInitialMs?: number;
  /** Longest wait between connect attempts. Default 5000. */
  reconnectBackoffMaxMs?: number;
  /** Named prepared statements (the DSN's statement_cache=on|off wins; docs/deploy.md). Default true. */
  preparedStatements?: boolean;
  /** Prepared statements kept per connection. Default 256. */
  statementCacheSize?: number;
  /** Timeout of a query whose call gives none (default: none). */
  queryTimeoutMs?: number;
  /** Timeout of an HTTP request whose call gives none. Default 10000. */
  httpTimeoutMs?: number;
  /** Time to connect to an HTTP server (TLS included). Default 2000. */
  httpConnectTimeoutMs?: number;
  /** HTTP connections per host. Default 32. */
  httpMaxConnectionsPerHost?: number;
  /** HTTP connections in all. Default 256. */
  httpMaxTotalConnections?: number;
  /** Larger response bodies fail the request. Default 8388608. */
  httpMaxResponseBytes?: number;
  /** Verify HTTPS servers' certificates. Default true. */
  httpVerifyTls?: boolean;
  /** PEM file of the CA certificates that verify HTTPS servers (default: the system's). */
  httpCaFile?: string;
  /** Negotiate HTTP/2 where the server offers it. Default true. */
  http2?: boolean;
  /** Redirects followed. Default 5. */
  httpMaxRedirects?: number;
  /** User-Agent header. Default "enrich/0.1". */
  httpUserAgent?: string;
  /** Attempts of an HTTP request that asks for retries, the first included. Default 3. */
  retryMaxAttempts?: number;
  /** Wait before the first retry, doubled per attempt (with full jitter). Default 50. */
  retryBackoffInitialMs?: number;
  /** Longest wait between retries. Default 1000. */
  retryBackoffMaxMs?: number;
  /** Retries allowed as a fraction of recent requests. Default 0.1. */
  retryBudgetRatio?: number;
  /** Retries always allowed per second. Default 10. */
  retryBudgetMinPerSecond?: number;
  /** A circuit breaker per HTTP host. Default true. */
  breaker?: boolean;
  /** Consecutive failures that open a host's breaker. Default 5. */
  breakerFailureThreshold?: number;
  /** An open breaker lets one probe through after this long. Default 5000. */
  breakerCoolDownMs?: number;
  /** Per-step timings for every plan run (docs/observability.md). Default false. */
  timings?: boolean;
  /** Trace context for plans: HTTP steps send the caller's traceparent (docs/observability.md). Default false. */
  tracing?: boolean;
  /** Timings and spans carry each statement's text (db.query.text; it may hold literal values). Default false. */
  traceQueryText?: boolean;
  /** Calls with { coalesce: true } share a result up to this size; above it the others run their own. Default 1048576. */
  coalesceMaxResultBytes?: number;
  /**
   * A pino-compatible logger: core events (pg.connection_lost, plan.optional_step_failed, ...)
   * are forwarded as `logger[level]({ event, ...fields }, event)` on the JS thread. Without one,
   * they are JSON lines on stderr.
   */
  logger?: Logger;
  /** Least level of core events. Default: the logger's level, else 'warn'. */
  logLevel?: 'debug' | 'trace' | 'info' | 'warn' | 'warning' | 'error' | 'fatal' | 'off' | 'silent';
}

/** One entry of OPTIONS. */
export interface OptionInfo {
  /** The core's name (the same in Python and the C API). */
  readonly name: string;
  readonly type: 'count' | 'duration' | 'boolean' | 'ratio' | 'text' | 'log_level';
  /** Milliseconds for durations; null: none. */
  readonly default: number | boolean | string | null;
  readonly doc: string;
}

/** Every client option by its JS name. */
export declare const OPTIONS: Readonly<Record<string, OptionInfo>>;

export interface Logger {
  level?: string;
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborting rejects the promise with AbortError and cancels the native operation. */
  signal?: AbortSignal;
  /** Timeout of this call in ms (includes waiting for a connection); absent or null: the client's default; 0 is an error. */
  timeoutMs?: number | null;
  /** The caller's deadline, this many ms from now. */
  deadlineMs?: number;
  /** Run on the primary even where a read replica could serve (read your own writes). */
  usePrimary?: boolean;
  /**
   * Share the execution of an identical statement in flight (same SQL and parameters): every
   * caller gets its result or its error; aborting one never affects the others. Only for
   * statements that merely read; ignored in transactions (docs/options.md).
   */
  coalesce?: boolean;
  /**
   * Batching: the SQL type of the key $1 ('bigint', 'text', 'uuid'). Calls of the same statement
   * (same other parameters) made in the same turn go to Postgres as one statement over their
   * keys, and each caller gets exactly its own key's rows; if that statement fails, each runs on
   * its own. Only for statements that merely read; ignored in transactions (docs/options.md).
   */
  batch?: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  deadlineMs?: number;
  /** Run every step on the primary even where a read replica could serve. */
  usePrimary?: boolean;
  /** JSON profile; default: the plan's own. */
  profile?: 'postgres' | 'node' | 'python';
}

/** A statement with its parameters, as pg accepts it. */
export interface QueryConfig {
  text: string;
  values?: unknown[];
}

export interface FieldDef {
  name: string;
  dataTypeID: number;
}

/** The result of query(): the fields of pg's Result that code usually reads. */
export declare class QueryResult<R = Record<string, any>> {
  command: string;
  rowCount: number;
  rows: R[];
  fields: FieldDef[];
}

/**
 * Statements. Parameters are converted as node-postgres converts them; rows are decoded as
 * node-postgres decodes them by default (pg-types: int8/numeric as strings, timestamps as
 * Date, json parsed, bytea as Buffer, arrays as arrays).
 */
export interface Queryable {
  query<R = Record<string, any>>(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<QueryResult<R>>;
  /** The first row, or null. */
  queryOne<R = Record<string, any>>(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<R | null>;
  /** The first column of the first row, or null. */
  queryValue<T = any>(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<T | null>;
  /** Rows affected (or returned). */
  execute(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<number>;
}

export declare class Transaction implements Queryable {
  private constructor();
  readonly client: Client;
  query<R = Record<string, any>>(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<QueryResult<R>>;
  queryOne<R = Record<string, any>>(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<R | null>;
  queryValue<T = any>(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<T | null>;
  execute(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<number>;
}

export interface HttpRequest extends CallOptions {
  method?: string;
  url: string | URL;
  headers?: Record<string, string | number | string[]> | Iterable<[string, string]>;
  /** A string, a Buffer, or a value sent as JSON (content-type application/json). */
  body?: string | Buffer | ArrayBufferView | object;
  /** Retry idempotent requests within the retry budget. */
  retry?: boolean;
}

/** Any HTTP status is a response; transport failures reject (ConnectionError, TimeoutError, HttpError). */
export declare class HttpResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly elapsedMs: number;
  readonly ok: boolean;
  text(): string;
  json<T = any>(): T;
}

/** One step's timings (docs/observability.md). Fields that do not apply to its kind are absent. */
export interface StepTiming {
  name: string;
  kind: 'sql' | 'http';
  skipped?: boolean;
  start_us?: number;
  duration_us?: number;
  encode_us?: number;
  error?: string;
  queued_us?: number;
  wave?: number;
  shared_sync?: boolean;
  replica?: boolean;
  server?: string;
  sqlstate?: string;
  rows?: number;
  method?: string;
  url?: string;
  status?: number;
  attempts?: number;
  connect_us?: number;
  first_byte_us?: number;
}

/** A run's timings: wall clock at its start (unix ns), its total, and each step. */
export interface PlanTimings {
  /** Unix nanoseconds; beyond 2^53, so a JS number keeps it to about a quarter microsecond. */
  started_unix_ns: number;
  total_us: number;
  steps: StepTiming[];
}

/** A metric family in the Prometheus data model. */
export interface MetricFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** Registers `client`'s metric families with a prom-client registry; `labels` go on every sample. */
export declare function registerMetrics(
  registry: { registerMetric(metric: any): void },
  client: Client,
  options?: { labels?: Record<string, string> },
): void;

/** Stats of the client's pool. */
export interface ClientStats {
  connections: number;
  idle: number;
  in_transaction: number;
  in_flight: number;
  waiting: number;
  connects: number;
  connect_failures: number;
  cancels_sent: number;
  pending_operations: number;
  /** Read replicas (replicaDsns): their connections, the statements sent to them, and the reads
   * that went to the primary instead (no replica serving, 25006, a lost replica connection). */
  replica_connections: number;
  replica_reads: number;
  replica_fallbacks: number;
}

/**
 * A pooled, pipelined Postgres client and HTTP client on native I/O threads. Operations return
 * promises settled on this thread. An idle client never keeps the process alive; a pending
 * operation does. Works in worker threads (each thread its own clients).
 */
export declare class Client implements Queryable {
  /** A string is a connection string. */
  constructor(options?: ClientOptions | string);
  query<R = Record<string, any>>(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<QueryResult<R>>;
  queryOne<R = Record<string, any>>(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<R | null>;
  queryValue<T = any>(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<T | null>;
  execute(sql: string | QueryConfig, params?: unknown[], options?: CallOptions): Promise<number>;
  /** Runs fn on a dedicated connection: commit when it resolves, rollback when it rejects. */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options?: CallOptions): Promise<T>;
  httpGet(url: string | URL, options?: Omit<HttpRequest, 'url' | 'method' | 'body'>): Promise<HttpResponse>;
  httpRequest(request: HttpRequest): Promise<HttpResponse>;
  /** Runs a plan; resolves with its JSON document as an object. */
  run<T = any>(plan: Plan, inputs?: Record<string, unknown>, options?: RunOptions): Promise<T>;
  /** Runs a plan; resolves with its JSON document as UTF-8 bytes (reply.type('application/json').send(buf)). */
  runJson(plan: Plan, inputs?: Record<string, unknown>, options?: RunOptions): Promise<Buffer>;
  /** Counters, gauges and latency histograms (docs/observability.md); [] once closed. */
  metrics(): MetricFamily[];
  /** runJson() plus where the time went (docs/observability.md; microseconds). */
  runWithTimings(plan: Plan, inputs?: Record<string, unknown>, options?: RunOptions): Promise<{ json: Buffer; timings: PlanTimings }>;
  stats(): ClientStats | null;
  /** The options the client runs with, by JS name (durations in ms; the DSN's password redacted); null once closed. */
  options(): Record<string, number | boolean | string | null> | null;
  /** Operations not settled yet. */
  readonly pending: number;
  readonly closed: boolean;
  /** Cancels what is in flight (CancelledError), closes connections; resolves once all settled. */
  close(): Promise<void>;
}

/** A validated, immutable plan (named SQL and HTTP steps assembled into one JSON document). */
export declare class Plan {
  private constructor();
  /** Loads a plan file; ${VAR} placeholders from `variables`, else the environment. */
  static load(path: string, variables?: Record<string, string>): Plan;
  static fromObject(plan: object, variables?: Record<string, string>): Plan;
  static fromJson(text: string, variables?: Record<string, string>): Plan;
  readonly name: string;
}

// ---- errors ------------------------------------------------------------------------------------

/** What kind of failure: the C API status name. */
export type ErrorKind =
  | 'connection' | 'timeout' | 'cancelled' | 'pool_timeout' | 'pool_queue_full' | 'query'
  | 'invalid_argument' | 'not_found' | 'http' | 'circuit_open' | 'closed' | 'internal' | 'no_memory';

/** The server's further fields of an error, by node-postgres' names (present where sent). */
export interface DatabaseErrorFields {
  severity?: string;
  detail?: string;
  hint?: string;
  /** 1-based character position in the statement, as a string (node-postgres too). */
  position?: string;
  schema?: string;
  table?: string;
  column?: string;
  dataType?: string;
  constraint?: string;
  where?: string;
}

export declare class EnrichError extends Error implements DatabaseErrorFields {
  constructor(message: string, props?: { kind?: ErrorKind; code?: string; sqlstate?: string; retriable?: boolean; cause?: unknown } & DatabaseErrorFields);
  /** As node-postgres: the SQLSTATE when Postgres reported the error ('23505'), else
   *  'ENRICH_' + the kind in upper case ('ENRICH_POOL_TIMEOUT'); AbortError: 'ABORT_ERR'. */
  readonly code: string;
  readonly kind: ErrorKind;
  /** The numeric enrich_status. */
  readonly status: number;
  /** Trying again later may succeed. */
  readonly retriable: boolean;
  /** Postgres SQLSTATE, when Postgres reported the error (then also `code`). */
  readonly sqlstate?: string;
  readonly severity?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly position?: string;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly dataType?: string;
  readonly constraint?: string;
  readonly where?: string;
}
export declare class ConnectionError extends EnrichError {}
export declare class TimeoutError extends EnrichError {}
export declare class CancelledError extends EnrichError {}
/** The operation's AbortSignal fired; `cause` is the signal's reason. */
export declare class AbortError extends CancelledError {}
export declare class PoolTimeoutError extends EnrichError {}
export declare class PoolQueueFullError extends EnrichError {}
export declare class QueryError extends EnrichError {}
export declare class InvalidArgumentError extends EnrichError {}
export declare class NotFoundError extends EnrichError {}
export declare class HttpError extends EnrichError {}
export declare class CircuitOpenError extends EnrichError {}
export declare class ClosedError extends EnrichError {}
export declare class InternalError extends EnrichError {}
export declare class NoMemoryError extends InternalError {}

/** 404 NotFound, 400 InvalidArgument, 503 unavailable (connection, pool, circuit, closed), 504 timeout, else 500. */
export declare function httpStatusFor(err: unknown): number;

export declare const errors: {
  STATUS: Readonly<Record<ErrorKind | 'ok', number>>;
  errorClassFor(status: number | ErrorKind): typeof EnrichError;
  makeError(status: number, message: string, sqlstate: string, detail: string, hint: string, retriable: boolean, diag?: string[]): EnrichError;
  httpStatusFor(err: unknown): number;
} & Record<string, unknown>;

/** pg-types, as used to decode rows (pg.types): setTypeParser / getTypeParser. */
export declare const types: {
  setTypeParser(oid: number, parser: (value: string) => any): void;
  setTypeParser(oid: number, format: 'text', parser: (value: string) => any): void;
  getTypeParser(oid: number, format?: 'text'): (value: string) => any;
  builtins: Record<string, number>;
};

/** A parameter as the text enrich sends (null for SQL NULL), as node-postgres prepares it. */
export declare function prepareValue(value: unknown): string | null;

/**
 * This thread's bridge: operations not yet settled, tsfn calls that drained the completion
 * queue, completions settled (completions / drains = the average batch).
 */
export declare function bridgeStats(): { pending: number; drains: number; completions: number };
