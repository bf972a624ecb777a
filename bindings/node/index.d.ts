// Type declarations of the `enrich` package (bindings/node).

/// <reference types="node" />

export declare const version: string;
export declare const versionHex: number;

/** Options of `new Client(options)`. Zero or absent numbers mean the core's defaults. */
export interface ClientOptions {
  /** libpq connection string or URI; absent: libpq's defaults (PGHOST, PGUSER, ...). */
  connectionString?: string;
  /** Same as connectionString. */
  dsn?: string;
  /** I/O threads (each with its own event loop and share of the pool). Default 1. */
  ioThreads?: number;
  minConnections?: number;
  /** Default 4: statements are pipelined, so few connections carry many requests. */
  maxConnections?: number;
  /** pg.Pool's name for maxConnections. */
  max?: number;
  /** Statements in flight on one connection before another one (or the wait queue) is used. */
  maxPipelineDepth?: number;
  /** How long a statement may wait for room on a connection (PoolTimeoutError). Default 5000. */
  acquireTimeoutMs?: number;
  /** Requests allowed to wait; one more fails at once (PoolQueueFullError). */
  maxWaiting?: number;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxLifetimeMs?: number;
  /** Default timeout of a statement (none by default); cancels it on the server. */
  queryTimeoutMs?: number;
  /** Named prepared statements (default true). A pooler such as PgBouncer is detected and turns them off; `statement_cache=on|off` in the connection string wins (docs/deploy.md). */
  preparedStatements?: boolean;
  statementCacheSize?: number;
  http?: {
    timeoutMs?: number;
    connectTimeoutMs?: number;
    maxConnectionsPerHost?: number;
    maxResponseBytes?: number;
    /** false turns TLS verification off. */
    verifyTls?: boolean;
    breakerFailureThreshold?: number;
    breakerCoolDownMs?: number;
    /** false disables the per-host circuit breaker. */
    breaker?: boolean;
  };
  /**
   * A pino-compatible logger: core events (pg.connection_lost, plan.optional_step_failed, ...)
   * are forwarded as `logger[level]({ event, ...fields }, event)` on the JS thread. Without one,
   * they are JSON lines on stderr.
   */
  logger?: Logger;
  /** Minimum level of core events. Default: the logger's level, else 'warn'. */
  logLevel?: 'debug' | 'trace' | 'info' | 'warn' | 'warning' | 'error' | 'fatal' | 'off' | 'silent';
}

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
  /** Timeout of this call in ms (includes waiting for a connection). */
  timeoutMs?: number;
  /** The caller's deadline, this many ms from now. */
  deadlineMs?: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  deadlineMs?: number;
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
  stats(): ClientStats | null;
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
