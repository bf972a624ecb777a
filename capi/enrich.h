/*
 * enrich.h - the stable C API of enrich.
 *
 * One boundary for C programs and for every other language (the Python and Node bindings sit on
 * it). Compiles as C11 and C++; no C++ exception ever crosses it; every entry point checks its
 * arguments and returns a status instead of crashing on NULL or on a handle of the wrong kind.
 * The library runs on Linux only (its I/O threads use epoll and eventfd).
 *
 * Model
 * - A client (enrich_client) owns I/O threads, a Postgres pool and an HTTP client.
 * - Asynchronous calls (enrich_query, enrich_http, enrich_plan_run, transactions) return at
 *   once with an operation id. Their outcome arrives later as an enrich_completion on a
 *   completion queue (enrich_queue) that the caller chose for the call, or through a callback.
 * - A queue has a file descriptor that becomes readable when the queue goes from empty to
 *   non-empty: wait on it with poll/epoll/your event loop, then drain a batch with
 *   enrich_queue_poll. Optionally a notify callback runs on the I/O thread instead.
 * - Errors are objects carried by the completion (code, SQLSTATE, message), never a
 *   thread-local "last error".
 *
 * Threads: every function may be called from any thread. Callbacks (notify, completion, log)
 * run on an I/O thread of the client, never inside the enrich_* call that started the operation
 * (also when it fails at once, e.g. on bad plan inputs): they must be quick and must not call
 * enrich_client_destroy. (The one exception: a client created before fork() used in the child,
 * which has no I/O thread; its operations fail at once with ENRICH_ERR_CLOSED.)
 *
 * Ownership (each handle says how it is freed):
 *   enrich_client      enrich_client_destroy
 *   enrich_queue       enrich_queue_destroy (safe while operations still target it: their
 *                      completions are then discarded)
 *   enrich_plan        enrich_plan_free
 *   enrich_completion  enrich_completion_free (also frees the result and error it carries)
 *   enrich_error       enrich_error_free, when returned through an `enrich_error **` out
 *                      parameter; errors inside a completion belong to the completion
 *   enrich_tx          enrich_tx_free (rolls back an unfinished transaction)
 *   char * buffers     enrich_free
 * Handles are not addresses but entries of the library's handle table with a generation: a
 * second destroy/free does nothing, and any other call on a destroyed handle (or a NULL, made-up
 * or wrong-kind one) returns ENRICH_ERR_INVALID_ARGUMENT (or NULL, 0, "", -1 where a function
 * returns a value), never touching freed memory. Destroying a handle while another thread still
 * uses it is a race, as with any C API.
 */
#ifndef ENRICH_H
#define ENRICH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define ENRICH_API
#else
#define ENRICH_API __attribute__((visibility("default")))
#endif

/* ---- version -------------------------------------------------------------------------------- */

/* The one place the version is written: CMake reads these three lines (the project version, the
   C++ constants of enrich/version.hpp, enrich.pc, the Python package's and, checked by a test,
   the npm package's version come from here). */
#define ENRICH_VERSION_MAJOR 0
#define ENRICH_VERSION_MINOR 2
#define ENRICH_VERSION_PATCH 0
/** 0xMMmmpp: compare with < and >. */
#define ENRICH_VERSION_HEX \
  ((ENRICH_VERSION_MAJOR << 16) | (ENRICH_VERSION_MINOR << 8) | ENRICH_VERSION_PATCH)
#define ENRICH_VERSION_STRINGIFY_(x) #x
#define ENRICH_VERSION_STRINGIFY(x) ENRICH_VERSION_STRINGIFY_(x)
/* clang-format off */
/** "MAJOR.MINOR.PATCH", e.g. "0.2.0". */
#define ENRICH_VERSION_STRING                        \
  ENRICH_VERSION_STRINGIFY(ENRICH_VERSION_MAJOR) "." \
  ENRICH_VERSION_STRINGIFY(ENRICH_VERSION_MINOR) "." \
  ENRICH_VERSION_STRINGIFY(ENRICH_VERSION_PATCH)
/* clang-format on */

/** The version of the library actually loaded, as ENRICH_VERSION_HEX. */
ENRICH_API int enrich_version(void);
/** The version of the library actually loaded, as ENRICH_VERSION_STRING ("0.2.0"). */
ENRICH_API const char* enrich_version_string(void);

/* ---- status codes ---------------------------------------------------------------------------- */

typedef enum enrich_status {
  ENRICH_OK = 0,
  ENRICH_ERR_CONNECTION = 1,       /**< could not connect, or the connection broke */
  ENRICH_ERR_TIMEOUT = 2,          /**< a timeout or deadline expired */
  ENRICH_ERR_CANCELLED = 3,        /**< cancelled, or the client was destroyed */
  ENRICH_ERR_POOL_TIMEOUT = 4,     /**< no connection within the acquire timeout */
  ENRICH_ERR_POOL_QUEUE_FULL = 5,  /**< the pool's wait queue was full */
  ENRICH_ERR_QUERY = 6,            /**< the server rejected the statement (see the SQLSTATE) */
  ENRICH_ERR_INVALID_ARGUMENT = 7, /**< a bad argument, option, plan or input */
  ENRICH_ERR_NOT_FOUND = 8,        /**< a required row did not exist */
  ENRICH_ERR_HTTP = 9,             /**< an HTTP transfer failed */
  ENRICH_ERR_CIRCUIT_OPEN = 10,    /**< the host's circuit breaker is open */
  ENRICH_ERR_CLOSED = 11,          /**< the object was already closed */
  ENRICH_ERR_INTERNAL = 12,        /**< a bug in enrich */
  ENRICH_ERR_NO_MEMORY = 13
} enrich_status;

/** Stable lower-case name of a status ("pool_timeout"); "unknown" for other values. */
ENRICH_API const char* enrich_status_name(enrich_status status);

/* ---- opaque handles ------------------------------------------------------------------------- */

/** A client: I/O threads, a Postgres pool and an HTTP client. Free with enrich_client_destroy. */
typedef struct enrich_client enrich_client;
/** A completion queue with a pollable fd. Free with enrich_queue_destroy. */
typedef struct enrich_queue enrich_queue;
/** A validated plan, immutable and shareable across threads. Free with enrich_plan_free. */
typedef struct enrich_plan enrich_plan;
/** The outcome of one operation (or a log event). Free with enrich_completion_free. */
typedef struct enrich_completion enrich_completion;
/** An error: code, message, SQLSTATE, detail, hint. See the ownership rules above. */
typedef struct enrich_error enrich_error;
/** A transaction on a dedicated connection. Free with enrich_tx_free. */
typedef struct enrich_tx enrich_tx;

/** Identifies an operation for enrich_cancel; never 0 for a started operation. */
typedef uint64_t enrich_op_id;

/* ---- errors ---------------------------------------------------------------------------------- */

ENRICH_API enrich_status enrich_error_code(const enrich_error* error);
/** Never NULL for a non-NULL error. */
ENRICH_API const char* enrich_error_message(const enrich_error* error);
/** Five-character SQLSTATE, or "" when not a server error. */
ENRICH_API const char* enrich_error_sqlstate(const enrich_error* error);
ENRICH_API const char* enrich_error_detail(const enrich_error* error);
ENRICH_API const char* enrich_error_hint(const enrich_error* error);
/** Further fields of a server error (libpq's PG_DIAG_*), for enrich_error_diag. New ones may be
 *  added at the end. */
typedef enum enrich_diag {
  ENRICH_DIAG_SEVERITY = 0,   /**< ERROR, FATAL, PANIC (not localized) */
  ENRICH_DIAG_POSITION = 1,   /**< 1-based character position in the statement, decimal */
  ENRICH_DIAG_SCHEMA = 2,     /**< schema of the object the error is about */
  ENRICH_DIAG_TABLE = 3,      /**< table */
  ENRICH_DIAG_COLUMN = 4,     /**< column */
  ENRICH_DIAG_DATATYPE = 5,   /**< data type */
  ENRICH_DIAG_CONSTRAINT = 6, /**< violated constraint */
  ENRICH_DIAG_WHERE = 7       /**< call stack context (PL/pgSQL) */
} enrich_diag;
/** A further field of a server error: "" when the server did not send it; NULL for a field this
 *  version does not know (or a NULL/foreign error). Owned by the error. */
ENRICH_API const char* enrich_error_diag(const enrich_error* error, enrich_diag field);
/** 1 when repeating the operation later may succeed. */
ENRICH_API int enrich_error_retriable(const enrich_error* error);
ENRICH_API void enrich_error_free(enrich_error* error);

/** Frees a buffer returned by this library. */
ENRICH_API void enrich_free(void* buffer);

/* ---- logging -----------------------------------------------------------------------------------
 */

typedef enum enrich_log_level {
  ENRICH_LOG_DEFAULT = 0, /**< in options: the default (WARNING); never the level of an event */
  ENRICH_LOG_DEBUG = 1,
  ENRICH_LOG_INFO = 2,
  ENRICH_LOG_WARNING = 3,
  ENRICH_LOG_ERROR = 4,
  ENRICH_LOG_OFF = 5
} enrich_log_level;

/**
 * A log sink called on an I/O thread: `event` is a dotted name ("pg.connection_lost"),
 * `fields_json` a JSON object of string fields. Must be quick and must not block.
 */
typedef void (*enrich_log_fn)(enrich_log_level level, const char* event, const char* fields_json,
                              void* payload);

/* ---- completion queues -------------------------------------------------------------------------
 */

/** Creates a queue. */
ENRICH_API enrich_status enrich_queue_create(enrich_queue** out);
/** Drops the caller's reference; completions still in it or still to come are freed. */
ENRICH_API void enrich_queue_destroy(enrich_queue* queue);
/** An fd that is readable while the queue is not empty (level-triggered); -1 for NULL. */
ENRICH_API int enrich_queue_fd(const enrich_queue* queue);
/**
 * Moves up to `max` completions into `out` without blocking; returns how many. The caller owns
 * each one (enrich_completion_free).
 */
ENRICH_API size_t enrich_queue_poll(enrich_queue* queue, enrich_completion** out, size_t max);
/** Completions waiting in the queue. */
ENRICH_API size_t enrich_queue_size(const enrich_queue* queue);
/**
 * Calls `notify(payload)` on the I/O thread whenever the queue goes from empty to non-empty
 * (in addition to the fd). NULL removes it.
 */
ENRICH_API enrich_status enrich_queue_set_notify(enrich_queue* queue, void (*notify)(void* payload),
                                                 void* payload);

/* ---- clients -----------------------------------------------------------------------------------
 */

#define ENRICH_CLIENT_OPTIONS_VERSION 2

/**
 * Client options. Zero means "the default" for every field, so ENRICH_CLIENT_OPTIONS_INIT plus a
 * DSN is a working configuration. Later versions only append fields; a struct of an older
 * version (its `version` field says which) is still accepted.
 *
 * The fields are shortcuts for the most used options. Every option (the full list, with types
 * and defaults, is enrich_client_options_schema()) can be set by name in `config_json`, which is
 * applied after the fields. Durations are milliseconds throughout the C API.
 */
typedef struct enrich_client_options {
  unsigned version; /**< ENRICH_CLIENT_OPTIONS_VERSION */
  const char* dsn;  /**< libpq connection string or URI; NULL: libpq's defaults */
  size_t io_threads;
  size_t min_connections;
  size_t max_connections;
  size_t max_pipeline_depth;
  int64_t acquire_timeout_ms;
  size_t max_waiting;
  int64_t connect_timeout_ms;
  int64_t idle_timeout_ms;
  int64_t max_lifetime_ms;
  int64_t query_timeout_ms;
  int disable_prepared_statements; /**< 1: unnamed statements only (a pooler is also detected; the
                                      DSN's statement_cache=on|off wins; docs/deploy.md) */
  size_t statement_cache_size;
  int64_t http_timeout_ms;
  int64_t http_connect_timeout_ms;
  size_t http_max_connections_per_host;
  size_t http_max_response_bytes;
  int http_insecure_skip_verify; /**< 1 turns TLS verification off */
  int breaker_failure_threshold;
  int64_t breaker_cool_down_ms;
  int disable_breaker;
  /** Log sink; NULL with log_queue NULL: JSON lines on stderr. */
  enrich_log_fn log_fn;
  void* log_payload;
  /** If set, log events arrive on this queue as completions of kind ENRICH_COMPLETION_LOG. */
  enrich_queue* log_queue;
  enrich_log_level log_level; /**< least level delivered; ENRICH_LOG_DEFAULT (0): WARNING */
  int log_level_set;          /**< version 1 only (where 0 meant DEBUG); ignored from version 2 */
  /* ---- version 2 ---- */
  /** NULL, or a JSON object of options by name ({"http2": false, "health_check_interval": 10000}),
   *  applied after the fields above. An unknown name fails and lists the valid ones. */
  const char* config_json;
} enrich_client_options;

/* Every field spelled out, so that C and C++ callers compiling with -Wextra get no warning. */
#define ENRICH_CLIENT_OPTIONS_INIT                                                                \
  {                                                                                               \
    ENRICH_CLIENT_OPTIONS_VERSION, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
        0, NULL, NULL, NULL, ENRICH_LOG_DEFAULT, 0, NULL                                          \
  }

/**
 * Every client option as a JSON array, in the one list all front ends use: [{"name":
 * "acquire_timeout", "type": "duration", "default": 5000, "doc": "..."}, ...]. Types: "count"
 * (non-negative integer), "duration" (positive milliseconds; a default of null means none),
 * "boolean", "ratio" (0 to 1), "text", "text_list" (an array of strings, or one string split at
 * whitespace), "log_level" ("debug", "info", "warning", "error", "off").
 * A static string: do not free it.
 */
ENRICH_API const char* enrich_client_options_schema(void);

/** Creates a client. On failure *out is NULL and *error (if error is not NULL) says why. */
ENRICH_API enrich_status enrich_client_create(enrich_client** out,
                                              const enrich_client_options* options,
                                              enrich_error** error);
/**
 * Creates a client from a JSON object of options by name, durations in milliseconds: {"dsn":
 * "...", "max_connections": 8, "acquire_timeout": 2000, "log_level": "info"} (names and types:
 * enrich_client_options_schema()). Log events go to stderr as JSON lines.
 */
ENRICH_API enrich_status enrich_client_create_json(enrich_client** out, const char* config_json,
                                                   enrich_error** error);
/**
 * Cancels everything in flight, delivers every completion (with ENRICH_ERR_CANCELLED unless the
 * result was already there), joins the I/O threads and frees the client. Like sqlite3_close_v2,
 * safe with work in flight. Blocks briefly; never call it from a callback of this client.
 */
ENRICH_API void enrich_client_destroy(enrich_client* client);
/** Pool counters as a JSON object in a buffer freed with enrich_free. */
ENRICH_API enrich_status enrich_client_stats(enrich_client* client, char** out_json);
/**
 * The client's metrics (docs/observability.md) as a JSON array in the Prometheus data model:
 * [{"name": "enrich_statements_total", "type": "counter", "help": "...", "samples": [{"name":
 * "enrich_statements_total", "labels": {}, "value": 12}]}, ...]; histograms have _bucket (with an
 * "le" label), _sum and _count samples. In a buffer freed with enrich_free.
 */
ENRICH_API enrich_status enrich_client_metrics_json(enrich_client* client, char** out_json);
/** The options the client runs with, every one by name as in enrich_client_options_schema()
 *  (the DSN's password redacted), as a JSON object in a buffer freed with enrich_free. */
ENRICH_API enrich_status enrich_client_options_json(enrich_client* client, char** out_json);

/* ---- operations
 * ---------------------------------------------------------------------------------- */

typedef enum enrich_json_profile {
  ENRICH_PROFILE_DEFAULT = 0, /**< the plan's own; for queries: postgres */
  ENRICH_PROFILE_POSTGRES = 1,
  ENRICH_PROFILE_NODE = 2,
  ENRICH_PROFILE_PYTHON = 3
} enrich_json_profile;

typedef enum enrich_result_shape {
  ENRICH_SHAPE_NONE = 0, /**< no JSON for a query: read rows with the accessors */
  ENRICH_SHAPE_ONE = 1,
  ENRICH_SHAPE_MANY = 2,
  ENRICH_SHAPE_VALUE = 3
} enrich_result_shape;

#define ENRICH_CALL_OPTIONS_VERSION 4

/**
 * Per-call options; all zero means defaults. Versions 1 (without use_primary), 2 (without
 * coalesce) and 3 (without batch) are still accepted.
 * Negative timeout_ms or deadline_ms are ENRICH_ERR_INVALID_ARGUMENT.
 */
typedef struct enrich_call_options {
  unsigned version;    /**< ENRICH_CALL_OPTIONS_VERSION */
  int64_t timeout_ms;  /**< 0: the client's default */
  int64_t deadline_ms; /**< >0: the caller's deadline, this many ms from now; 0: none */
  enrich_json_profile profile;
  enrich_result_shape shape; /**< queries: also encode the rows as JSON in this shape */
  /** Version 2. Non-zero: run on the primary even where a read replica could serve (read your
   * own writes); see the client option replica_dsns. */
  int use_primary;
  /** Version 2. Plans: non-zero collects per-step timings (enrich_completion_timings_json), as
   * the client option timings does for every run. */
  int timings;
  /** Version 2. Plans: the caller's W3C trace context; HTTP steps send it as the traceparent and
   * tracestate headers, and the run's log events carry its trace_id and span_id. NULL: none. */
  const char* traceparent;
  const char* tracestate;
  /** Version 3. Queries: non-zero shares the execution of an identical statement in flight
   * (same SQL, parameters and use_primary); each caller gets the result or the error, and
   * cancelling one never affects the others. Only for statements that merely read; ignored in
   * transactions; see the client option coalesce_max_result_bytes. Plans: per step instead
   * ("coalesce": true in the plan). */
  int coalesce;
  /** Version 4. Queries: the SQL type of the key $1 ("bigint", "text", "uuid") to batch this
   * statement with the same statement of other callers submitted in the same turn of the I/O
   * thread: one statement over the array of their keys, each caller getting exactly its own
   * key's rows. Only for statements that merely read (else ENRICH_ERR_INVALID_ARGUMENT); if the
   * batch fails, each runs on its own. NULL or "": off. Plans: per step ("batch" in the plan). */
  const char* batch;
} enrich_call_options;

#define ENRICH_CALL_OPTIONS_INIT                                                              \
  {                                                                                           \
    ENRICH_CALL_OPTIONS_VERSION, 0, 0, ENRICH_PROFILE_DEFAULT, ENRICH_SHAPE_NONE, 0, 0, NULL, \
        NULL, 0, NULL                                                                         \
  }

/** Where a completion goes: a queue, or a callback run on the I/O thread that owns it. */
typedef void (*enrich_completion_fn)(enrich_completion* completion, void* payload);

/**
 * Runs a statement. `params` are text values ($1..$n), a NULL entry is SQL NULL. The completion
 * goes to `queue` carrying `user_data`. `options` may be NULL. *out_id may be NULL.
 */
ENRICH_API enrich_status enrich_query(enrich_client* client, enrich_queue* queue, const char* sql,
                                      const char* const* params, size_t param_count,
                                      const enrich_call_options* options, void* user_data,
                                      enrich_op_id* out_id);
/** enrich_query with a callback instead of a queue (convenient for simple C programs). */
ENRICH_API enrich_status enrich_query_cb(enrich_client* client, const char* sql,
                                         const char* const* params, size_t param_count,
                                         const enrich_call_options* options,
                                         enrich_completion_fn callback, void* payload,
                                         enrich_op_id* out_id);

/** One HTTP header. */
typedef struct enrich_header {
  const char* name;
  const char* value;
} enrich_header;

#define ENRICH_HTTP_REQUEST_VERSION 1

typedef struct enrich_http_request {
  unsigned version;   /**< ENRICH_HTTP_REQUEST_VERSION */
  const char* method; /**< NULL: GET */
  const char* url;
  const enrich_header* headers;
  size_t header_count;
  const char* body;
  size_t body_length;
  int64_t timeout_ms;
  int retry; /**< 1: retry idempotent requests within the retry budget */
} enrich_http_request;

#define ENRICH_HTTP_REQUEST_INIT \
  { ENRICH_HTTP_REQUEST_VERSION, NULL, NULL, NULL, 0, NULL, 0, 0, 0 }

/** Sends an HTTP request; any status is a result, transport failures are errors. */
ENRICH_API enrich_status enrich_http(enrich_client* client, enrich_queue* queue,
                                     const enrich_http_request* request,
                                     const enrich_call_options* options, void* user_data,
                                     enrich_op_id* out_id);
/** enrich_http with a callback. */
ENRICH_API enrich_status enrich_http_cb(enrich_client* client, const enrich_http_request* request,
                                        const enrich_call_options* options,
                                        enrich_completion_fn callback, void* payload,
                                        enrich_op_id* out_id);

/**
 * Loads and validates a plan file. `variables_json` (may be NULL) gives values for ${NAME}
 * placeholders; missing names are read from the environment.
 */
ENRICH_API enrich_status enrich_plan_load(enrich_plan** out, const char* path,
                                          const char* variables_json, enrich_error** error);
/** Parses and validates a plan given as JSON text of `length` bytes. */
ENRICH_API enrich_status enrich_plan_from_json(enrich_plan** out, const char* json, size_t length,
                                               const char* variables_json, enrich_error** error);
ENRICH_API void enrich_plan_free(enrich_plan* plan);
ENRICH_API const char* enrich_plan_name(const enrich_plan* plan);

/**
 * Runs a plan with inputs given as a JSON object ({"userId": 42}). Inputs are checked before any
 * I/O: a bad one completes with ENRICH_ERR_INVALID_ARGUMENT naming it. The result is the JSON
 * document (enrich_completion_json).
 */
ENRICH_API enrich_status enrich_plan_run(enrich_client* client, enrich_queue* queue,
                                         const enrich_plan* plan, const char* inputs_json,
                                         const enrich_call_options* options, void* user_data,
                                         enrich_op_id* out_id);
/** enrich_plan_run with a callback. */
ENRICH_API enrich_status enrich_plan_run_cb(enrich_client* client, const enrich_plan* plan,
                                            const char* inputs_json,
                                            const enrich_call_options* options,
                                            enrich_completion_fn callback, void* payload,
                                            enrich_op_id* out_id);

/**
 * Requests cancellation. The operation still completes exactly once: with ENRICH_ERR_CANCELLED,
 * or with its result if that was already there. ENRICH_ERR_NOT_FOUND if the id is unknown or
 * already completed.
 */
ENRICH_API enrich_status enrich_cancel(enrich_client* client, enrich_op_id id);

/* ---- transactions
 * -------------------------------------------------------------------------------- */

/** Starts a transaction; the completion carries an enrich_tx (enrich_completion_take_tx). */
ENRICH_API enrich_status enrich_tx_begin(enrich_client* client, enrich_queue* queue,
                                         const enrich_call_options* options, void* user_data,
                                         enrich_op_id* out_id);
ENRICH_API enrich_status enrich_tx_query(enrich_tx* tx, enrich_queue* queue, const char* sql,
                                         const char* const* params, size_t param_count,
                                         const enrich_call_options* options, void* user_data,
                                         enrich_op_id* out_id);
ENRICH_API enrich_status enrich_tx_commit(enrich_tx* tx, enrich_queue* queue, void* user_data,
                                          enrich_op_id* out_id);
ENRICH_API enrich_status enrich_tx_rollback(enrich_tx* tx, enrich_queue* queue, void* user_data,
                                            enrich_op_id* out_id);
/* The transaction calls with a callback instead of a queue. */
ENRICH_API enrich_status enrich_tx_begin_cb(enrich_client* client,
                                            const enrich_call_options* options,
                                            enrich_completion_fn callback, void* payload,
                                            enrich_op_id* out_id);
ENRICH_API enrich_status enrich_tx_query_cb(enrich_tx* tx, const char* sql,
                                            const char* const* params, size_t param_count,
                                            const enrich_call_options* options,
                                            enrich_completion_fn callback, void* payload,
                                            enrich_op_id* out_id);
ENRICH_API enrich_status enrich_tx_commit_cb(enrich_tx* tx, enrich_completion_fn callback,
                                             void* payload, enrich_op_id* out_id);
ENRICH_API enrich_status enrich_tx_rollback_cb(enrich_tx* tx, enrich_completion_fn callback,
                                               void* payload, enrich_op_id* out_id);
/** Rolls back if still active, then frees. */
ENRICH_API void enrich_tx_free(enrich_tx* tx);

/* ---- completions
 * ----------------------------------------------------------------------------------- */

typedef enum enrich_completion_kind {
  ENRICH_COMPLETION_QUERY = 1,
  ENRICH_COMPLETION_HTTP = 2,
  ENRICH_COMPLETION_PLAN = 3,
  ENRICH_COMPLETION_TX_BEGIN = 4,
  ENRICH_COMPLETION_TX_END = 5, /**< commit or rollback */
  ENRICH_COMPLETION_LOG = 6
} enrich_completion_kind;

ENRICH_API enrich_completion_kind enrich_completion_kind_of(const enrich_completion* c);
ENRICH_API enrich_op_id enrich_completion_id(const enrich_completion* c);
ENRICH_API void* enrich_completion_user_data(const enrich_completion* c);
/** ENRICH_OK, or the error's code. */
ENRICH_API enrich_status enrich_completion_status(const enrich_completion* c);
/** The error, owned by the completion; NULL on success. */
ENRICH_API const enrich_error* enrich_completion_error(const enrich_completion* c);
/**
 * The JSON bytes of the result: the plan's document, a query's rows in the requested shape, or
 * an HTTP response body. NULL when there are none. Owned by the completion.
 */
ENRICH_API const char* enrich_completion_json(const enrich_completion* c, size_t* length);
/** Takes the JSON bytes out of the completion: free them with enrich_free. */
ENRICH_API enrich_status enrich_completion_take_json(enrich_completion* c, char** out,
                                                     size_t* length);
/** Warnings of a plan run (optional steps that failed and became null). */
ENRICH_API size_t enrich_completion_warning_count(const enrich_completion* c);
ENRICH_API const char* enrich_completion_warning(const enrich_completion* c, size_t index);
/** Elapsed time of a plan run or HTTP request, in milliseconds. */
ENRICH_API double enrich_completion_elapsed_ms(const enrich_completion* c);
/**
 * A plan's per-step timings as JSON (when asked for: enrich_call_options.timings, or the client
 * option timings), owned by the completion, also when the run failed (steps until it ended);
 * NULL otherwise. docs/observability.md
 * lists the fields: {"started_unix_ns":..., "total_us":..., "steps":[{"name":"user",
 * "kind":"sql", "start_us":..., "duration_us":..., "queued_us":..., "wave":3,
 * "shared_sync":true, "replica":false, "server":"127.0.0.1:5432", "rows":1, ...}]}.
 */
ENRICH_API const char* enrich_completion_timings_json(const enrich_completion* c, size_t* length);

/* Query rows (ENRICH_COMPLETION_QUERY). Out-of-range indexes give 0 / NULL. */
ENRICH_API size_t enrich_completion_rows(const enrich_completion* c);
ENRICH_API size_t enrich_completion_columns(const enrich_completion* c);
ENRICH_API const char* enrich_completion_column_name(const enrich_completion* c, size_t column);
ENRICH_API uint32_t enrich_completion_column_type(const enrich_completion* c, size_t column);
ENRICH_API int enrich_completion_is_null(const enrich_completion* c, size_t row, size_t column);
/** The value's text (Postgres text format), NULL for SQL NULL. */
ENRICH_API const char* enrich_completion_value(const enrich_completion* c, size_t row,
                                               size_t column, size_t* length);
ENRICH_API int64_t enrich_completion_affected_rows(const enrich_completion* c);
ENRICH_API const char* enrich_completion_command_tag(const enrich_completion* c);

/* HTTP responses (ENRICH_COMPLETION_HTTP). */
/** The response body's bytes, whatever its content type (not NUL-safe as a C string: use
 *  *length). Owned by the completion; NULL when there is none. */
ENRICH_API const char* enrich_completion_body(const enrich_completion* c, size_t* length);
ENRICH_API long enrich_completion_http_status(const enrich_completion* c);
ENRICH_API size_t enrich_completion_http_header_count(const enrich_completion* c);
ENRICH_API enrich_status enrich_completion_http_header(const enrich_completion* c, size_t index,
                                                       const char** name, const char** value);

/** ENRICH_COMPLETION_TX_BEGIN: takes the transaction handle (free with enrich_tx_free). */
ENRICH_API enrich_tx* enrich_completion_take_tx(enrich_completion* c);

/** ENRICH_COMPLETION_LOG: the event. Strings are owned by the completion. */
ENRICH_API enrich_status enrich_completion_log(const enrich_completion* c, enrich_log_level* level,
                                               const char** event, const char** fields_json);

ENRICH_API void enrich_completion_free(enrich_completion* c);

/* ---- decoding Postgres text values
 * --------------------------------------------------------------- The core's one type table and
 * text decoder (what the JSON profiles use), for bindings that build their own values from
 * enrich_completion_value (the Python binding does). Pure functions: no client needed, any thread.
 */

/** What a type OID holds (see enrich_type_kind_of). */
typedef enum enrich_type_kind {
  ENRICH_TYPE_OTHER = 0, /**< unknown types, enums, ...: their text */
  ENRICH_TYPE_TEXT = 1,  /**< text, varchar, bpchar, name, char */
  ENRICH_TYPE_BOOL = 2,
  ENRICH_TYPE_INTEGER = 3, /**< int2, int4, int8, oid, xid */
  ENRICH_TYPE_FLOAT4 = 4,
  ENRICH_TYPE_FLOAT8 = 5,
  ENRICH_TYPE_NUMERIC = 6,
  ENRICH_TYPE_BYTEA = 7,
  ENRICH_TYPE_DATE = 8,
  ENRICH_TYPE_TIME = 9,
  ENRICH_TYPE_TIMETZ = 10,
  ENRICH_TYPE_TIMESTAMP = 11,
  ENRICH_TYPE_TIMESTAMPTZ = 12,
  ENRICH_TYPE_INTERVAL = 13,
  ENRICH_TYPE_UUID = 14,
  ENRICH_TYPE_JSON = 15,
  ENRICH_TYPE_JSONB = 16,
  ENRICH_TYPE_INET = 17,
  ENRICH_TYPE_CIDR = 18,
  ENRICH_TYPE_XML = 19
} enrich_type_kind;

/** The kind of a scalar type OID; ENRICH_TYPE_OTHER for unknown OIDs and for array types. */
ENRICH_API enrich_type_kind enrich_type_kind_of(uint32_t oid);
/** The element type OID of a built-in array type, or 0 when `oid` is not one. */
ENRICH_API uint32_t enrich_array_element_type(uint32_t oid);

/** A date, time or timestamp (enrich_parse_datetime). */
typedef struct enrich_datetime {
  int32_t year, month, day; /**< 0 for a time of day */
  int32_t hour, minute, second;
  int32_t microsecond;    /**< the first six fraction digits */
  int32_t offset_seconds; /**< east of UTC (0 after to_utc) */
  int32_t has_offset;     /**< 1 for timetz and timestamptz */
  int32_t infinity;       /**< +1 "infinity", -1 "-infinity" (dates, timestamps); then no fields */
} enrich_datetime;

/**
 * Parses the text of a DATE, TIME, TIMETZ, TIMESTAMP or TIMESTAMPTZ value (DateStyle ISO; years
 * of 4 to 6 digits). With `to_utc` 1, a value with an offset is moved to UTC (its date may change,
 * and its year may leave 1..9999). ENRICH_ERR_INVALID_ARGUMENT for a form it does not read (BC
 * dates, other DateStyles) or another kind: fall back to the text.
 */
ENRICH_API enrich_status enrich_parse_datetime(enrich_type_kind kind, const char* text,
                                               size_t length, int to_utc, enrich_datetime* out);

/**
 * A statement's first keyword in upper case, after whitespace and comments ("SELECT", "WITH",
 * "INSERT", ...): OpenTelemetry's db.operation.name, as the core puts it in a plan's timings.
 * Writes it NUL-terminated into `out` (truncated to out_size - 1 bytes; `out` may be NULL with
 * out_size 0) and returns its length; 0 when the statement starts with no word or `sql` is NULL.
 */
ENRICH_API size_t enrich_sql_operation_name(const char* sql, size_t length, char* out,
                                            size_t out_size);

/**
 * Decodes a bytea's text (hex "\x..." or escape output) into `out`, which has room for `length`
 * bytes (always enough); *out_length is the number of bytes. ENRICH_ERR_INVALID_ARGUMENT if the
 * text is malformed.
 */
ENRICH_API enrich_status enrich_decode_bytea(const char* text, size_t length, char* out,
                                             size_t* out_length);

/** Receives an array literal's structure in order (enrich_parse_array). Returning non-zero from a
 *  callback stops the walk. `text` is unescaped and not NUL-terminated; NULL for SQL NULL. */
typedef struct enrich_array_visitor {
  int (*begin_array)(void* payload);
  int (*end_array)(void* payload);
  int (*element)(void* payload, const char* text, size_t length);
} enrich_array_visitor;

/**
 * Walks an array literal ({1,2,NULL}, {"a b","c\"d"}, {{1,2},{3,4}}; a leading "[0:1]=" bound
 * decoration is skipped). ENRICH_ERR_INVALID_ARGUMENT if the text is not an array literal,
 * ENRICH_ERR_CANCELLED if a callback stopped the walk.
 */
ENRICH_API enrich_status enrich_parse_array(const char* text, size_t length,
                                            const enrich_array_visitor* visitor, void* payload);

#ifdef __cplusplus
}
#endif

#endif /* ENRICH_H */
