/*
 * The C API (capi/enrich.h) exercised from C11: versions, argument checking on every entry point
 * (NULL, handles of the wrong kind, unknown struct versions), queries through the completion
 * queue's fd, errors with SQLSTATE, row accessors, plans, callbacks, JSON buffers, transactions,
 * JSON client configuration and stats.
 *
 * Environment: ENRICH_TEST_DSN (required: the test fails without it), ENRICH_FIXTURE_DSN (the
 * seeded `enrich_fixture` database; defaults to ENRICH_TEST_DSN with the database replaced).
 * argv[1]: path of examples/plans/user_enriched.json.
 *
 * The last line of output is "N passed, M failed"; the exit status is 0 only if M is 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "enrich.h"

/* ---- checks ---------------------------------------------------------------------------------- */

static int g_passed, g_failed;

static int check_(int ok, const char* what, int line) {
  if (ok) {
    ++g_passed;
  } else {
    ++g_failed;
    fprintf(stderr, "FAIL line %d: %s\n", line, what);
  }
  return ok;
}
#define CHECK(cond) check_((cond) ? 1 : 0, #cond, __LINE__)

static int check_status_(enrich_status got, enrich_status want, const char* what, int line) {
  if (got == want) return check_(1, what, line);
  fprintf(stderr, "FAIL line %d: %s: got %s (%d), want %s (%d)\n", line, what,
          enrich_status_name(got), (int)got, enrich_status_name(want), (int)want);
  ++g_failed;
  return 0;
}
#define CHECK_STATUS(expr, want) check_status_((expr), (want), #expr, __LINE__)

static int check_str_(const char* got, const char* want, const char* what, int line) {
  if (got && want && strcmp(got, want) == 0) return check_(1, what, line);
  fprintf(stderr, "FAIL line %d: %s: got \"%s\", want \"%s\"\n", line, what, got ? got : "(null)",
          want ? want : "(null)");
  ++g_failed;
  return 0;
}
#define CHECK_STR(got, want) check_str_((got), (want), #got, __LINE__)

/* `needle` occurs in `haystack` (which may be NULL). */
static int check_contains_(const char* haystack, const char* needle, const char* what, int line) {
  if (haystack && strstr(haystack, needle)) return check_(1, what, line);
  fprintf(stderr, "FAIL line %d: %s: \"%s\" does not contain \"%s\"\n", line, what,
          haystack ? haystack : "(null)", needle);
  ++g_failed;
  return 0;
}
#define CHECK_CONTAINS(haystack, needle) check_contains_((haystack), (needle), #haystack, __LINE__)

/* Checks an error out-parameter: the expected code and a message containing `needle`; frees it. */
static void check_error_(enrich_error* e, enrich_status want, const char* needle, int line) {
  if (!check_(e != NULL, "an enrich_error was returned", line)) return;
  check_status_(enrich_error_code(e), want, "enrich_error_code", line);
  if (needle) check_contains_(enrich_error_message(e), needle, "enrich_error_message", line);
  enrich_error_free(e);
}
#define CHECK_ERROR(e, want, needle) check_error_((e), (want), (needle), __LINE__)

/* ---- helpers --------------------------------------------------------------------------------- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

enum { kWaitMs = 20000 };

/* The next completion of `q`: poll(2) on its fd, then enrich_queue_poll. NULL after timeout_ms. */
static enrich_completion* next_completion(enrich_queue* q, int timeout_ms) {
  double until = now_ms() + timeout_ms;
  for (;;) {
    enrich_completion* c = NULL;
    if (enrich_queue_poll(q, &c, 1) == 1) return c;
    int left = (int)(until - now_ms());
    if (left <= 0) {
      fprintf(stderr, "no completion within %d ms\n", timeout_ms);
      return NULL;
    }
    struct pollfd p = {enrich_queue_fd(q), POLLIN, 0};
    (void)poll(&p, 1, left);
  }
}

/* Runs one statement and waits for its completion (NULL on a start error or timeout). */
static enrich_completion* run_query(enrich_client* client, enrich_queue* q, const char* sql,
                                    const char* const* params, size_t count,
                                    const enrich_call_options* options) {
  enrich_status s = enrich_query(client, q, sql, params, count, options, NULL, NULL);
  if (!CHECK_STATUS(s, ENRICH_OK)) return NULL;
  return next_completion(q, kWaitMs);
}

/* Runs a statement that must succeed; frees the completion. */
static void exec_ok(enrich_client* client, enrich_queue* q, const char* sql) {
  enrich_completion* c = run_query(client, q, sql, NULL, 0, NULL);
  if (CHECK(c != NULL)) {
    if (!CHECK_STATUS(enrich_completion_status(c), ENRICH_OK))
      fprintf(stderr, "  %s: %s\n", sql, enrich_error_message(enrich_completion_error(c)));
    enrich_completion_free(c);
  }
}

/* The first value of a statement's result as a malloc'ed string ("" on error). */
static char* query_text(enrich_client* client, enrich_queue* q, const char* sql) {
  enrich_completion* c = run_query(client, q, sql, NULL, 0, NULL);
  const char* v = c ? enrich_completion_value(c, 0, 0, NULL) : NULL;
  size_t n = v ? strlen(v) : 0;
  char* out = malloc(n + 1);
  if (out) {
    memcpy(out, v ? v : "", n);
    out[n] = '\0';
  }
  enrich_completion_free(c);
  return out;
}

static enrich_client* connect_client(const char* dsn) {
  enrich_client_options o = ENRICH_CLIENT_OPTIONS_INIT;
  enrich_client* client = NULL;
  enrich_error* error = NULL;
  o.dsn = dsn;
  o.max_connections = 2;
  o.log_level = ENRICH_LOG_OFF;
  if (!CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_OK)) {
    fprintf(stderr, "  %s\n", enrich_error_message(error));
    enrich_error_free(error);
    return NULL;
  }
  CHECK(error == NULL);
  return client;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_version(void) {
  CHECK(enrich_version() == ENRICH_VERSION_HEX);
  CHECK(ENRICH_VERSION_HEX ==
        ((ENRICH_VERSION_MAJOR << 16) | (ENRICH_VERSION_MINOR << 8) | ENRICH_VERSION_PATCH));
  CHECK_STR(enrich_version_string(), ENRICH_VERSION_STRING);
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", ENRICH_VERSION_MAJOR, ENRICH_VERSION_MINOR,
           ENRICH_VERSION_PATCH);
  CHECK_STR(enrich_version_string(), expected);
  CHECK_STR(enrich_status_name(ENRICH_OK), "ok");
  CHECK_STR(enrich_status_name(ENRICH_ERR_POOL_TIMEOUT), "pool_timeout");
  CHECK_STR(enrich_status_name(ENRICH_ERR_NO_MEMORY), "no_memory");
  CHECK_STR(enrich_status_name((enrich_status)999), "unknown");
  CHECK_STR(enrich_status_name((enrich_status)-1), "unknown");
}

static void test_errors_and_buffers_with_null(void) {
  CHECK_STATUS(enrich_error_code(NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STR(enrich_error_message(NULL), "");
  CHECK_STR(enrich_error_sqlstate(NULL), "");
  CHECK_STR(enrich_error_detail(NULL), "");
  CHECK_STR(enrich_error_hint(NULL), "");
  CHECK(enrich_error_retriable(NULL) == 0);
  CHECK(enrich_error_diag(NULL, ENRICH_DIAG_TABLE) == NULL);
  enrich_error_free(NULL);
  enrich_free(NULL);
}

static void test_queue_arguments(void) {
  CHECK_STATUS(enrich_queue_create(NULL), ENRICH_ERR_INVALID_ARGUMENT);
  enrich_queue_destroy(NULL);
  CHECK(enrich_queue_fd(NULL) == -1);
  enrich_completion* out[4];
  CHECK(enrich_queue_poll(NULL, out, 4) == 0);
  CHECK(enrich_queue_size(NULL) == 0);
  CHECK_STATUS(enrich_queue_set_notify(NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);

  enrich_queue* q = NULL;
  if (!CHECK_STATUS(enrich_queue_create(&q), ENRICH_OK)) return;
  CHECK(enrich_queue_fd(q) >= 0);
  CHECK(enrich_queue_poll(q, NULL, 4) == 0);
  CHECK(enrich_queue_poll(q, out, 0) == 0);
  CHECK(enrich_queue_poll(q, out, 4) == 0);
  CHECK(enrich_queue_size(q) == 0);
  struct pollfd p = {enrich_queue_fd(q), POLLIN, 0};
  CHECK(poll(&p, 1, 0) == 0); /* an empty queue's fd is not readable */
  CHECK_STATUS(enrich_queue_set_notify(q, NULL, NULL), ENRICH_OK);

  /* A queue passed where other handles are expected is rejected, never used. */
  enrich_client* as_client = (enrich_client*)(void*)q;
  enrich_plan* as_plan = (enrich_plan*)(void*)q;
  enrich_tx* as_tx = (enrich_tx*)(void*)q;
  enrich_completion* as_completion = (enrich_completion*)(void*)q;
  enrich_error* as_error = (enrich_error*)(void*)q;
  char* json = NULL;
  CHECK_STATUS(enrich_client_stats(as_client, &json), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK(json == NULL);
  CHECK_STATUS(enrich_query(as_client, q, "SELECT 1", NULL, 0, NULL, NULL, NULL),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_cancel(as_client, 1), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_tx_begin(as_client, q, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_tx_query(as_tx, q, "SELECT 1", NULL, 0, NULL, NULL, NULL),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_tx_commit(as_tx, q, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_tx_rollback(as_tx, q, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STR(enrich_plan_name(as_plan), "");
  CHECK(enrich_completion_kind_of(as_completion) == 0);
  CHECK_STATUS(enrich_completion_status(as_completion), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK(enrich_completion_rows(as_completion) == 0);
  CHECK(enrich_completion_take_tx(as_completion) == NULL);
  CHECK_STATUS(enrich_completion_take_json(as_completion, &json, NULL),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_error_code(as_error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STR(enrich_error_message(as_error), "");
  /* The destructors of the other kinds leave the queue alone. */
  enrich_client_destroy(as_client);
  enrich_plan_free(as_plan);
  enrich_tx_free(as_tx);
  enrich_completion_free(as_completion);
  enrich_error_free(as_error);
  CHECK(enrich_queue_fd(q) >= 0);
  CHECK(enrich_queue_poll(q, out, 4) == 0);
  enrich_queue_destroy(q);
}

static void test_client_create_arguments(const char* dsn) {
  enrich_client_options o = ENRICH_CLIENT_OPTIONS_INIT;
  enrich_client* client = (enrich_client*)(void*)&o; /* must be reset to NULL on failure */
  enrich_error* error = NULL;
  o.dsn = dsn;

  CHECK_STATUS(enrich_client_create(NULL, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "out");
  CHECK_STATUS(enrich_client_create(&client, NULL, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK(client == NULL);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "options");
  CHECK_STATUS(enrich_client_create(&client, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);

  /* Unknown options versions: 0 (not initialised) and a later one. */
  o.version = 0;
  CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "version");
  o.version = ENRICH_CLIENT_OPTIONS_VERSION + 1;
  CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "version");
  CHECK(client == NULL);
  o.version = ENRICH_CLIENT_OPTIONS_VERSION;

  /* log_queue of the wrong kind. */
  enrich_plan* plan = NULL;
  const char* plan_json = "{\"name\":\"p\",\"steps\":[{\"name\":\"one\",\"sql\":\"SELECT 1\"}]}";
  if (CHECK_STATUS(enrich_plan_from_json(&plan, plan_json, strlen(plan_json), NULL, NULL),
                   ENRICH_OK)) {
    o.log_queue = (enrich_queue*)(void*)plan;
    CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "log_queue");
    o.log_queue = NULL;
    enrich_plan_free(plan);
  }

  /* An enum field holding a value C allows but the enum does not name. */
  o.log_level = (enrich_log_level)42;
  CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "log_level");
  o.log_level = (enrich_log_level)-1;
  CHECK_STATUS(enrich_client_create(&client, &o, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  o.log_level = ENRICH_LOG_OFF;

  /* Options the C++ client rejects: min > max connections. */
  o.min_connections = 5;
  o.max_connections = 2;
  CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "min_connections");
  o.min_connections = 0;
  o.max_connections = 0;

  /* A DSN libpq cannot parse. */
  o.dsn = "host='unterminated";
  CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, NULL);
  CHECK(client == NULL);

  enrich_client_destroy(NULL);
}

static void test_client_create_json(const char* dsn, enrich_queue* q) {
  enrich_client* client = NULL;
  enrich_error* error = NULL;

  CHECK_STATUS(enrich_client_create_json(NULL, "{}", &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(enrich_client_create_json(&client, NULL, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "config_json");
  CHECK_STATUS(enrich_client_create_json(&client, "{\"dsn\": ", &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "client config");
  CHECK_STATUS(enrich_client_create_json(&client, "[1, 2]", &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "object");
  CHECK_STATUS(enrich_client_create_json(&client, "{\"bogus_key\": 1}", &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "bogus_key");
  /* An unknown name lists the valid ones. */
  CHECK_STATUS(enrich_client_create_json(&client, "{\"max_conections\": 4}", &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "valid options: dsn, replica_dsns, io_threads");
  CHECK_STATUS(enrich_client_create_json(&client, "{\"http_timeout\": -5}", &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "http_timeout must be a positive duration");
  CHECK_STATUS(enrich_client_create_json(&client, "{\"query_timeout\": 0}", &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "query_timeout");
  CHECK_STATUS(enrich_client_create_json(&client, "{\"http2\": 1}", &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "http2 must be true or false");
  CHECK_STATUS(enrich_client_create_json(&client, "{\"max_connections\": 2.5}", &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "max_connections must be a non-negative integer");
  CHECK_STATUS(enrich_client_create_json(&client, "{\"log_level\": \"loud\"}", &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "log_level");
  CHECK_STATUS(enrich_client_create_json(&client, "{\"io_threads\": 0}", &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "io_threads");
  CHECK(client == NULL);

  /* A good configuration gives a working client. */
  char config[1024];
  snprintf(config, sizeof config,
           "{\"dsn\": \"%s\", \"io_threads\": 1, \"log_level\": \"off\", "
           "\"max_connections\": 2, \"acquire_timeout\": 5000, "
           "\"http_timeout\": 1000, \"breaker\": true, \"health_check_interval\": 1234.5}",
           dsn);
  if (!CHECK_STATUS(enrich_client_create_json(&client, config, &error), ENRICH_OK)) {
    fprintf(stderr, "  %s\n", enrich_error_message(error));
    enrich_error_free(error);
    return;
  }
  CHECK(error == NULL);
  char* v = query_text(client, q, "SELECT 40 + 2");
  CHECK_STR(v, "42");
  free(v);
  /* The client runs with what was asked (fractions of a millisecond rounded up). */
  char* effective = NULL;
  CHECK_STATUS(enrich_client_options_json(client, &effective), ENRICH_OK);
  CHECK(effective && strstr(effective, "\"max_connections\":2,"));
  CHECK(effective && strstr(effective, "\"acquire_timeout\":5000,"));
  CHECK(effective && strstr(effective, "\"health_check_interval\":1235,"));
  CHECK(effective && strstr(effective, "\"query_timeout\":null,"));
  CHECK(effective && strstr(effective, "\"log_level\":\"off\""));
  enrich_free(effective);
  CHECK_STATUS(enrich_client_options_json(NULL, &effective), ENRICH_ERR_INVALID_ARGUMENT);
  enrich_client_destroy(client);
}

/* The struct's fields and its config_json go through the same option list. */
static void test_client_options_struct(const char* dsn, enrich_queue* q) {
  enrich_client* client = NULL;
  enrich_error* error = NULL;
  enrich_client_options o = ENRICH_CLIENT_OPTIONS_INIT;
  o.dsn = dsn;
  o.log_level = ENRICH_LOG_OFF;
  o.acquire_timeout_ms = -1;
  CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "acquire_timeout");
  o.acquire_timeout_ms = 0;
  o.config_json = "{\"http2\": ";
  CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "config_json");
  o.config_json = "[]";
  CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "JSON object");
  o.config_json = "{\"htp2\": false}";
  CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "unknown option \"htp2\"");
  o.config_json = "{\"http2\": false, \"retry_max_attempts\": 5, \"max_connections\": 3}";
  o.max_connections = 2; /* config_json comes after the fields */
  o.log_level = (enrich_log_level)9;
  CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "log_level");
  o.log_level = ENRICH_LOG_OFF;
  if (!CHECK_STATUS(enrich_client_create(&client, &o, &error), ENRICH_OK)) {
    fprintf(stderr, "  %s\n", enrich_error_message(error));
    enrich_error_free(error);
    return;
  }
  char* effective = NULL;
  CHECK_STATUS(enrich_client_options_json(client, &effective), ENRICH_OK);
  CHECK(effective && strstr(effective, "\"http2\":false"));
  CHECK(effective && strstr(effective, "\"retry_max_attempts\":5,"));
  CHECK(effective && strstr(effective, "\"max_connections\":3,"));
  CHECK(effective && strstr(effective, "\"password\"") == NULL);
  enrich_free(effective);
  char* v = query_text(client, q, "SELECT 6 * 7");
  CHECK_STR(v, "42");
  free(v);
  enrich_client_destroy(client);

  /* The schema names every option once. */
  const char* schema = enrich_client_options_schema();
  CHECK(schema && schema[0] == '[');
  CHECK(strstr(schema, "{\"name\":\"acquire_timeout\",\"type\":\"duration\",\"default\":5000,"));
  CHECK(strstr(schema, "{\"name\":\"http2\",\"type\":\"boolean\",\"default\":true,"));
}

static void test_operation_arguments(enrich_client* client, enrich_queue* q) {
  const char* params[] = {"1"};
  enrich_call_options bad_version = ENRICH_CALL_OPTIONS_INIT;
  bad_version.version = 0;
  enrich_call_options later_version = ENRICH_CALL_OPTIONS_INIT;
  later_version.version = ENRICH_CALL_OPTIONS_VERSION + 1;
  enrich_call_options bad_profile = ENRICH_CALL_OPTIONS_INIT;
  bad_profile.profile = (enrich_json_profile)42;
  enrich_call_options bad_shape = ENRICH_CALL_OPTIONS_INIT;
  bad_shape.shape = (enrich_result_shape)42;
  enrich_call_options negative_timeout = ENRICH_CALL_OPTIONS_INIT;
  negative_timeout.timeout_ms = -1;
  enrich_call_options negative_deadline = ENRICH_CALL_OPTIONS_INIT;
  negative_deadline.deadline_ms = -5;
  enrich_op_id id = 77;

  /* enrich_query */
  CHECK_STATUS(enrich_query(NULL, q, "SELECT 1", NULL, 0, NULL, NULL, &id),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query(client, NULL, "SELECT 1", NULL, 0, NULL, NULL, &id),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(
      enrich_query(client, (enrich_queue*)(void*)client, "SELECT 1", NULL, 0, NULL, NULL, &id),
      ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query(client, q, NULL, NULL, 0, NULL, NULL, &id),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query(client, q, "SELECT $1", NULL, 1, NULL, NULL, &id),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query(client, q, "SELECT $1", params, 1, &bad_version, NULL, &id),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query(client, q, "SELECT $1", params, 1, &later_version, NULL, &id),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query(client, q, "SELECT $1", params, 1, &bad_profile, NULL, &id),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query(client, q, "SELECT $1", params, 1, &bad_shape, NULL, &id),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query(client, q, "SELECT $1", params, 1, &negative_timeout, NULL, &id),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query(client, q, "SELECT $1", params, 1, &negative_deadline, NULL, &id),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK(id == 77); /* untouched by a call that did not start */

  /* enrich_query_cb */
  CHECK_STATUS(enrich_query_cb(client, "SELECT 1", NULL, 0, NULL, NULL, NULL, NULL),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query_cb(NULL, "SELECT 1", NULL, 0, NULL, NULL, NULL, NULL),
               ENRICH_ERR_INVALID_ARGUMENT);

  /* enrich_http */
  enrich_http_request req = ENRICH_HTTP_REQUEST_INIT;
  req.url = "http://127.0.0.1:1/";
  CHECK_STATUS(enrich_http(NULL, q, &req, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_http(client, NULL, &req, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_http(client, q, NULL, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_http(client, q, &req, &bad_version, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  req.version = 0;
  CHECK_STATUS(enrich_http(client, q, &req, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  req.version = ENRICH_HTTP_REQUEST_VERSION + 1;
  CHECK_STATUS(enrich_http(client, q, &req, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  req.version = ENRICH_HTTP_REQUEST_VERSION;
  req.url = NULL;
  CHECK_STATUS(enrich_http(client, q, &req, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  req.url = "http://127.0.0.1:1/";
  req.header_count = 1;
  CHECK_STATUS(enrich_http(client, q, &req, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  enrich_header bad_header = {NULL, "v"};
  req.headers = &bad_header;
  CHECK_STATUS(enrich_http(client, q, &req, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  req.headers = NULL;
  req.header_count = 0;
  req.body_length = 3;
  CHECK_STATUS(enrich_http(client, q, &req, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);

  /* enrich_plan_run / enrich_plan_run_cb */
  enrich_plan* plan = NULL;
  const char* plan_json = "{\"name\":\"p\",\"steps\":[{\"name\":\"one\",\"sql\":\"SELECT 1\"}]}";
  if (CHECK_STATUS(enrich_plan_from_json(&plan, plan_json, strlen(plan_json), NULL, NULL),
                   ENRICH_OK)) {
    CHECK_STATUS(enrich_plan_run(NULL, q, plan, "{}", NULL, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(enrich_plan_run(client, NULL, plan, "{}", NULL, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(enrich_plan_run(client, q, NULL, "{}", NULL, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(enrich_plan_run(client, q, (enrich_plan*)(void*)q, "{}", NULL, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(enrich_plan_run(client, q, plan, "{}", &later_version, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(enrich_plan_run_cb(client, plan, "{}", NULL, NULL, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(enrich_plan_run_cb(NULL, plan, "{}", NULL, NULL, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
    enrich_plan_free(plan);
  }

  /* enrich_cancel: unknown ids. */
  CHECK_STATUS(enrich_cancel(NULL, 1), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_cancel(client, 0), ENRICH_ERR_NOT_FOUND);
  CHECK_STATUS(enrich_cancel(client, UINT64_MAX), ENRICH_ERR_NOT_FOUND);

  /* Transactions. */
  CHECK_STATUS(enrich_tx_begin(NULL, q, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_tx_begin(client, NULL, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_tx_begin(client, q, &bad_version, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_tx_query(NULL, q, "SELECT 1", NULL, 0, NULL, NULL, NULL),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_tx_query((enrich_tx*)(void*)client, q, "SELECT 1", NULL, 0, NULL, NULL, NULL),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_tx_commit(NULL, q, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_tx_rollback(NULL, q, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  enrich_tx_free(NULL);
  enrich_tx_free((enrich_tx*)(void*)client); /* wrong kind: ignored */

  /* enrich_client_stats */
  char* json = NULL;
  CHECK_STATUS(enrich_client_stats(NULL, &json), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_client_stats(client, NULL), ENRICH_ERR_INVALID_ARGUMENT);

  /* Nothing above started an operation: the queue stays empty and the client usable. */
  CHECK(enrich_queue_size(q) == 0);
  char* v = query_text(client, q, "SELECT 'still usable'");
  CHECK_STR(v, "still usable");
  free(v);
}

static void test_plan_arguments(const char* plan_path) {
  enrich_plan* plan = (enrich_plan*)(void*)&plan_path; /* must be reset to NULL on failure */
  enrich_error* error = NULL;

  CHECK_STATUS(enrich_plan_load(NULL, plan_path, NULL, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "out");
  CHECK_STATUS(enrich_plan_load(&plan, NULL, NULL, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK(plan == NULL);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "path");
  CHECK_STATUS(enrich_plan_load(&plan, "/nonexistent/plan.json", NULL, &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "/nonexistent/plan.json");
  CHECK_STATUS(enrich_plan_load(&plan, plan_path, "{\"ANALYTICS_URL\": 5}", &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "ANALYTICS_URL");
  CHECK_STATUS(enrich_plan_load(&plan, plan_path, "not json", &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "variables");
  CHECK_STATUS(enrich_plan_load(&plan, plan_path, "[]", NULL), ENRICH_ERR_INVALID_ARGUMENT);

  CHECK_STATUS(enrich_plan_from_json(&plan, NULL, 0, NULL, &error), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "json");
  const char* bad = "{\"name\": \"x\", \"steps\": [";
  CHECK_STATUS(enrich_plan_from_json(&plan, bad, strlen(bad), NULL, &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "plan");
  const char* typo = "{\"name\":\"x\",\"stepz\":[]}";
  CHECK_STATUS(enrich_plan_from_json(&plan, typo, strlen(typo), NULL, &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "stepz");
  const char* missing_ref =
      "{\"name\":\"x\",\"steps\":[{\"name\":\"a\",\"sql\":\"SELECT $1\",\"params\":[\"nope\"]}]}";
  CHECK_STATUS(enrich_plan_from_json(&plan, missing_ref, strlen(missing_ref), NULL, &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_ERROR(error, ENRICH_ERR_INVALID_ARGUMENT, "nope");
  /* `length` is honoured: a valid document cut short is invalid. */
  const char* good = "{\"name\":\"p\",\"steps\":[{\"name\":\"one\",\"sql\":\"SELECT 1\"}]}";
  CHECK_STATUS(enrich_plan_from_json(&plan, good, strlen(good) - 1, NULL, NULL),
               ENRICH_ERR_INVALID_ARGUMENT);
  CHECK(plan == NULL);

  enrich_plan_free(NULL);
  CHECK_STR(enrich_plan_name(NULL), "");
}

static void test_completion_accessors_with_null(void) {
  size_t len = 99;
  char* json = (char*)&len;
  const char *name = "x", *value = "y";
  CHECK(enrich_completion_kind_of(NULL) == 0);
  CHECK(enrich_completion_id(NULL) == 0);
  CHECK(enrich_completion_user_data(NULL) == NULL);
  CHECK_STATUS(enrich_completion_status(NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK(enrich_completion_error(NULL) == NULL);
  CHECK(enrich_completion_json(NULL, &len) == NULL);
  CHECK(len == 0);
  CHECK_STATUS(enrich_completion_take_json(NULL, &json, &len), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK(enrich_completion_warning_count(NULL) == 0);
  CHECK(enrich_completion_warning(NULL, 0) == NULL);
  CHECK(enrich_completion_elapsed_ms(NULL) == 0.0);
  {
    size_t n = 7;
    CHECK(enrich_completion_timings_json(NULL, &n) == NULL && n == 0);
  }
  {
    char* json = NULL;
    CHECK(enrich_client_metrics_json(NULL, &json) == ENRICH_ERR_INVALID_ARGUMENT && json == NULL);
  }
  CHECK(enrich_completion_rows(NULL) == 0);
  CHECK(enrich_completion_columns(NULL) == 0);
  CHECK(enrich_completion_column_name(NULL, 0) == NULL);
  CHECK(enrich_completion_column_type(NULL, 0) == 0);
  CHECK(enrich_completion_is_null(NULL, 0, 0) == 1);
  len = 99;
  CHECK(enrich_completion_value(NULL, 0, 0, &len) == NULL);
  CHECK(len == 0);
  CHECK(enrich_completion_affected_rows(NULL) == 0);
  CHECK_STR(enrich_completion_command_tag(NULL), "");
  CHECK(enrich_completion_http_status(NULL) == 0);
  CHECK(enrich_completion_http_header_count(NULL) == 0);
  CHECK_STATUS(enrich_completion_http_header(NULL, 0, &name, &value), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK(enrich_completion_take_tx(NULL) == NULL);
  enrich_log_level level;
  const char *event, *fields;
  CHECK_STATUS(enrich_completion_log(NULL, &level, &event, &fields), ENRICH_ERR_INVALID_ARGUMENT);
  enrich_completion_free(NULL);
}

static void test_query_round_trip_via_fd(enrich_client* client, enrich_queue* q) {
  int fd = enrich_queue_fd(q);
  struct pollfd p = {fd, POLLIN, 0};
  CHECK(poll(&p, 1, 0) == 0);

  const char* params[] = {"21"};
  int marker = 0;
  enrich_op_id id = 0;
  CHECK_STATUS(
      enrich_query(client, q, "SELECT $1::int * 2 AS doubled", params, 1, NULL, &marker, &id),
      ENRICH_OK);
  CHECK(id != 0);

  /* Wait on the fd only, the way an event loop would. */
  p.revents = 0;
  int ready = poll(&p, 1, kWaitMs);
  CHECK(ready == 1);
  CHECK((p.revents & POLLIN) != 0);
  CHECK(enrich_queue_size(q) == 1);
  enrich_completion* batch[8];
  size_t n = enrich_queue_poll(q, batch, 8);
  if (!CHECK(n == 1)) return;
  enrich_completion* c = batch[0];
  CHECK(enrich_completion_kind_of(c) == ENRICH_COMPLETION_QUERY);
  CHECK(enrich_completion_id(c) == id);
  CHECK(enrich_completion_user_data(c) == &marker);
  CHECK_STATUS(enrich_completion_status(c), ENRICH_OK);
  CHECK(enrich_completion_error(c) == NULL);
  CHECK(enrich_completion_rows(c) == 1);
  CHECK_STR(enrich_completion_column_name(c, 0), "doubled");
  CHECK_STR(enrich_completion_value(c, 0, 0, NULL), "42");
  CHECK(enrich_completion_json(c, NULL) == NULL);                /* no shape asked for */
  CHECK_STATUS(enrich_cancel(client, id), ENRICH_ERR_NOT_FOUND); /* already completed */
  enrich_completion_free(c);

  /* Drained: the fd is no longer readable. */
  p.revents = 0;
  CHECK(poll(&p, 1, 0) == 0);
  CHECK(enrich_queue_size(q) == 0);

  /* Several at once, drained in one batch; NULL out_id is allowed. */
  const char *a[] = {"1"}, *b[] = {"2"}, *d[] = {"3"};
  CHECK_STATUS(enrich_query(client, q, "SELECT $1::int", a, 1, NULL, (void*)1, NULL), ENRICH_OK);
  CHECK_STATUS(enrich_query(client, q, "SELECT $1::int", b, 1, NULL, (void*)2, NULL), ENRICH_OK);
  CHECK_STATUS(enrich_query(client, q, "SELECT $1::int", d, 1, NULL, (void*)3, NULL), ENRICH_OK);
  int seen = 0, got = 0;
  double until = now_ms() + kWaitMs;
  while (got < 3 && now_ms() < until) {
    p.revents = 0;
    if (poll(&p, 1, 1000) != 1) continue;
    n = enrich_queue_poll(q, batch, 8);
    for (size_t i = 0; i < n; ++i) {
      intptr_t tag = (intptr_t)enrich_completion_user_data(batch[i]);
      char want[8];
      snprintf(want, sizeof want, "%d", (int)tag);
      CHECK_STR(enrich_completion_value(batch[i], 0, 0, NULL), want);
      seen |= 1 << tag;
      ++got;
      enrich_completion_free(batch[i]);
    }
  }
  CHECK(got == 3);
  CHECK(seen == (2 | 4 | 8));
}

static void test_query_error_sqlstate(enrich_client* client, enrich_queue* q) {
  enrich_completion* c = run_query(client, q, "SELECT 1 / 0", NULL, 0, NULL);
  if (!CHECK(c != NULL)) return;
  CHECK_STATUS(enrich_completion_status(c), ENRICH_ERR_QUERY);
  const enrich_error* e = enrich_completion_error(c);
  if (CHECK(e != NULL)) {
    CHECK_STATUS(enrich_error_code(e), ENRICH_ERR_QUERY);
    CHECK_STR(enrich_error_sqlstate(e), "22012");
    CHECK_CONTAINS(enrich_error_message(e), "division by zero");
    CHECK(enrich_error_retriable(e) == 0);
    CHECK(enrich_error_detail(e) != NULL);
    CHECK(enrich_error_hint(e) != NULL);
  }
  CHECK(enrich_completion_rows(c) == 0);
  CHECK(enrich_completion_value(c, 0, 0, NULL) == NULL);
  enrich_completion_free(c);

  /* An undefined table: 42P01, and the client still works afterwards. */
  c = run_query(client, q, "SELECT * FROM no_such_table_capi_c", NULL, 0, NULL);
  if (CHECK(c != NULL)) {
    CHECK_STATUS(enrich_completion_status(c), ENRICH_ERR_QUERY);
    CHECK_STR(enrich_error_sqlstate(enrich_completion_error(c)), "42P01");
    /* The server's further fields: severity, and the position of the unknown table. */
    CHECK_STR(enrich_error_diag(enrich_completion_error(c), ENRICH_DIAG_SEVERITY), "ERROR");
    CHECK_STR(enrich_error_diag(enrich_completion_error(c), ENRICH_DIAG_POSITION), "15");
    CHECK_STR(enrich_error_diag(enrich_completion_error(c), ENRICH_DIAG_CONSTRAINT), "");
    CHECK(enrich_error_diag(enrich_completion_error(c), (enrich_diag)99) == NULL);
    enrich_completion_free(c);
  }
  /* A bad parameter value is the server's error too (22P02), not a crash. */
  const char* params[] = {"not a number"};
  c = run_query(client, q, "SELECT $1::int", params, 1, NULL);
  if (CHECK(c != NULL)) {
    CHECK_STR(enrich_error_sqlstate(enrich_completion_error(c)), "22P02");
    enrich_completion_free(c);
  }
}

static void test_row_accessors(enrich_client* client, enrich_queue* q) {
  const char* params[] = {"hello", NULL};
  enrich_completion* c = run_query(
      client, q,
      "SELECT g::int4 AS n, $1::text AS greeting, NULL::int8 AS missing, (g = 2) AS flag, "
      "$2::text IS NULL AS param_was_null "
      "FROM generate_series(1, 2) AS g ORDER BY g",
      params, 2, NULL);
  if (!CHECK(c != NULL)) return;
  if (!CHECK_STATUS(enrich_completion_status(c), ENRICH_OK)) {
    fprintf(stderr, "  %s\n", enrich_error_message(enrich_completion_error(c)));
    enrich_completion_free(c);
    return;
  }
  CHECK(enrich_completion_rows(c) == 2);
  CHECK(enrich_completion_columns(c) == 5);
  CHECK_STR(enrich_completion_column_name(c, 0), "n");
  CHECK_STR(enrich_completion_column_name(c, 1), "greeting");
  CHECK_STR(enrich_completion_column_name(c, 2), "missing");
  CHECK_STR(enrich_completion_column_name(c, 3), "flag");
  CHECK(enrich_completion_column_type(c, 0) == 23); /* int4 */
  CHECK(enrich_completion_column_type(c, 1) == 25); /* text */
  CHECK(enrich_completion_column_type(c, 2) == 20); /* int8 */
  CHECK(enrich_completion_column_type(c, 3) == 16); /* bool */
  size_t len = 0;
  CHECK_STR(enrich_completion_value(c, 0, 0, &len), "1");
  CHECK(len == 1);
  CHECK_STR(enrich_completion_value(c, 1, 0, NULL), "2");
  CHECK_STR(enrich_completion_value(c, 0, 1, &len), "hello");
  CHECK(len == 5);
  CHECK(enrich_completion_is_null(c, 0, 1) == 0);
  CHECK(enrich_completion_is_null(c, 0, 2) == 1);
  len = 99;
  CHECK(enrich_completion_value(c, 0, 2, &len) == NULL);
  CHECK(len == 0);
  CHECK_STR(enrich_completion_value(c, 0, 3, NULL), "f");
  CHECK_STR(enrich_completion_value(c, 1, 3, NULL), "t");
  CHECK_STR(enrich_completion_value(c, 0, 4, NULL), "t");
  CHECK_STR(enrich_completion_command_tag(c), "SELECT 2");
  CHECK(enrich_completion_affected_rows(c) == 2);
  /* Out of range: NULL / 0 / "is null". */
  CHECK(enrich_completion_column_name(c, 5) == NULL);
  CHECK(enrich_completion_column_type(c, 5) == 0);
  CHECK(enrich_completion_is_null(c, 2, 0) == 1);
  CHECK(enrich_completion_value(c, 2, 0, NULL) == NULL);
  CHECK(enrich_completion_value(c, 0, 99, NULL) == NULL);
  CHECK(enrich_completion_value(c, (size_t)-1, (size_t)-1, NULL) == NULL);
  /* Accessors of other kinds are empty on a query completion. */
  CHECK(enrich_completion_http_status(c) == 0);
  CHECK(enrich_completion_http_header_count(c) == 0);
  CHECK(enrich_completion_warning_count(c) == 0);
  CHECK(enrich_completion_warning(c, 0) == NULL);
  CHECK(enrich_completion_take_tx(c) == NULL);
  CHECK_STATUS(enrich_completion_log(c, NULL, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  const char *hn = NULL, *hv = NULL;
  CHECK_STATUS(enrich_completion_http_header(c, 0, &hn, &hv), ENRICH_ERR_NOT_FOUND);
  enrich_completion_free(c);

  /* Row JSON in the requested shape and profile. */
  enrich_call_options o = ENRICH_CALL_OPTIONS_INIT;
  o.shape = ENRICH_SHAPE_MANY;
  c = run_query(client, q, "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL", NULL, 0, &o);
  if (CHECK(c != NULL)) {
    size_t n = 0;
    const char* json = enrich_completion_json(c, &n);
    CHECK_STR(json, "[{\"a\":1,\"b\":\"x\"},{\"a\":2,\"b\":null}]");
    CHECK(json && n == strlen(json));
    enrich_completion_free(c);
  }
  o.shape = ENRICH_SHAPE_ONE;
  c = run_query(client, q, "SELECT 1 AS a WHERE false", NULL, 0, &o);
  if (CHECK(c != NULL)) {
    CHECK_STATUS(enrich_completion_status(c), ENRICH_OK);
    CHECK_STR(enrich_completion_json(c, NULL), "null");
    enrich_completion_free(c);
  }
}

static void test_take_json(enrich_client* client, enrich_queue* q) {
  enrich_call_options o = ENRICH_CALL_OPTIONS_INIT;
  o.shape = ENRICH_SHAPE_VALUE;
  enrich_completion* c =
      run_query(client, q, "SELECT json_build_object('k', 'v', 'n', 3)", NULL, 0, &o);
  if (!CHECK(c != NULL)) return;
  size_t len = 0;
  char* json = NULL;
  CHECK_STATUS(enrich_completion_take_json(c, NULL, &len), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_completion_take_json(c, &json, &len), ENRICH_OK);
  CHECK_STR(json, "{\"k\" : \"v\", \"n\" : 3}");
  CHECK(json && len == strlen(json));
  enrich_free(json);
  /* Taken: gone from the completion. */
  CHECK(enrich_completion_json(c, &len) == NULL);
  CHECK(len == 0);
  json = (char*)&len;
  CHECK_STATUS(enrich_completion_take_json(c, &json, NULL), ENRICH_ERR_NOT_FOUND);
  CHECK(json == NULL);
  enrich_completion_free(c);

  /* A query without a shape has no JSON to take. */
  c = run_query(client, q, "SELECT 1", NULL, 0, NULL);
  if (CHECK(c != NULL)) {
    CHECK_STATUS(enrich_completion_take_json(c, &json, &len), ENRICH_ERR_NOT_FOUND);
    enrich_completion_free(c);
  }
}

/* ---- callbacks ------------------------------------------------------------------------------- */

typedef struct {
  atomic_int calls;
  enrich_status status;
  enrich_completion_kind kind;
  void* user_data;
  char text[256];
} callback_state;

static void on_query_done(enrich_completion* c, void* payload) {
  callback_state* s = payload;
  const char* v = enrich_completion_value(c, 0, 0, NULL);
  s->status = enrich_completion_status(c);
  s->kind = enrich_completion_kind_of(c);
  s->user_data = enrich_completion_user_data(c);
  snprintf(s->text, sizeof s->text, "%s", v ? v : "(null)");
  enrich_completion_free(c); /* the callback owns the completion */
  atomic_fetch_add(&s->calls, 1);
}

static void on_plan_done(enrich_completion* c, void* payload) {
  callback_state* s = payload;
  const char* json = enrich_completion_json(c, NULL);
  s->status = enrich_completion_status(c);
  s->kind = enrich_completion_kind_of(c);
  s->user_data = enrich_completion_user_data(c);
  snprintf(s->text, sizeof s->text, "%s",
           json ? json : enrich_error_message(enrich_completion_error(c)));
  enrich_completion_free(c);
  atomic_fetch_add(&s->calls, 1);
}

static int wait_calls(callback_state* s, int want) {
  double until = now_ms() + kWaitMs;
  while (atomic_load(&s->calls) < want && now_ms() < until) sleep_ms(2);
  return atomic_load(&s->calls) == want;
}

static void test_query_callback(enrich_client* client) {
  callback_state s;
  memset(&s, 0, sizeof s);
  atomic_init(&s.calls, 0);
  const char* params[] = {"callback"};
  enrich_op_id id = 0;
  CHECK_STATUS(enrich_query_cb(client, "SELECT upper($1)", params, 1, NULL, on_query_done, &s, &id),
               ENRICH_OK);
  CHECK(id != 0);
  CHECK(wait_calls(&s, 1));
  CHECK_STATUS(s.status, ENRICH_OK);
  CHECK(s.kind == ENRICH_COMPLETION_QUERY);
  CHECK(s.user_data == &s); /* the payload doubles as the user data */
  CHECK_STR(s.text, "CALLBACK");

  /* Errors arrive the same way. */
  memset(&s, 0, sizeof s);
  atomic_init(&s.calls, 0);
  CHECK_STATUS(enrich_query_cb(client, "SELECT 1/0", NULL, 0, NULL, on_query_done, &s, NULL),
               ENRICH_OK);
  CHECK(wait_calls(&s, 1));
  CHECK_STATUS(s.status, ENRICH_ERR_QUERY);
  sleep_ms(50);
  CHECK(atomic_load(&s.calls) == 1); /* exactly once */
}

/* ---- plans ----------------------------------------------------------------------------------- */

static void test_plan_from_json(enrich_client* client, enrich_queue* q) {
  const char* text =
      "{\"name\": \"c_inline\", \"profile\": \"postgres\","
      " \"inputs\": {\"id\": {\"type\": \"integer\"}},"
      " \"steps\": ["
      "  {\"name\": \"user\", \"sql\": \"SELECT id, email IS NOT NULL AS has_email FROM users "
      "WHERE id = $1\", \"params\": [\"id\"], \"shape\": \"one\", \"required\": true},"
      "  {\"name\": \"prefs\", \"sql\": \"SELECT count(*)::int AS n FROM user_preferences WHERE "
      "user_id = $1\", \"params\": [\"id\"], \"shape\": \"value\"}"
      " ]}";
  enrich_plan* plan = NULL;
  enrich_error* error = NULL;
  if (!CHECK_STATUS(enrich_plan_from_json(&plan, text, strlen(text), NULL, &error), ENRICH_OK)) {
    fprintf(stderr, "  %s\n", enrich_error_message(error));
    enrich_error_free(error);
    return;
  }
  CHECK(error == NULL);
  CHECK_STR(enrich_plan_name(plan), "c_inline");

  int tag = 0;
  enrich_op_id id = 0;
  double started = now_ms();
  CHECK_STATUS(enrich_plan_run(client, q, plan, "{\"id\": 7}", NULL, &tag, &id), ENRICH_OK);
  enrich_completion* c = next_completion(q, kWaitMs);
  double wall_ms = now_ms() - started;
  if (CHECK(c != NULL)) {
    CHECK(enrich_completion_kind_of(c) == ENRICH_COMPLETION_PLAN);
    CHECK(enrich_completion_id(c) == id);
    CHECK(enrich_completion_user_data(c) == &tag);
    if (!CHECK_STATUS(enrich_completion_status(c), ENRICH_OK))
      fprintf(stderr, "  %s\n", enrich_error_message(enrich_completion_error(c)));
    const char* json = enrich_completion_json(c, NULL);
    CHECK_CONTAINS(json, "\"user\":{\"id\":7,\"has_email\":true}");
    CHECK_CONTAINS(json, "\"prefs\":1");
    /* Whole milliseconds, within the call (">= 0" alone could not fail). */
    CHECK(enrich_completion_elapsed_ms(c) >= 0.0 && enrich_completion_elapsed_ms(c) <= wall_ms + 1);
    CHECK(enrich_completion_warning_count(c) == 0);
    enrich_completion_free(c);
  }

  /* Inputs are checked before any I/O: a wrong type names the input. */
  CHECK_STATUS(enrich_plan_run(client, q, plan, "{\"id\": \"seven\"}", NULL, NULL, NULL),
               ENRICH_OK);
  c = next_completion(q, kWaitMs);
  if (CHECK(c != NULL)) {
    CHECK_STATUS(enrich_completion_status(c), ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(enrich_error_message(enrich_completion_error(c)), "\"id\"");
    CHECK(enrich_completion_json(c, NULL) == NULL);
    enrich_completion_free(c);
  }
  /* Malformed inputs JSON, and NULL inputs (= {}: the required input is missing). */
  CHECK_STATUS(enrich_plan_run(client, q, plan, "{\"id\": ", NULL, NULL, NULL), ENRICH_OK);
  c = next_completion(q, kWaitMs);
  if (CHECK(c != NULL)) {
    CHECK_STATUS(enrich_completion_status(c), ENRICH_ERR_INVALID_ARGUMENT);
    enrich_completion_free(c);
  }
  CHECK_STATUS(enrich_plan_run(client, q, plan, NULL, NULL, NULL, NULL), ENRICH_OK);
  c = next_completion(q, kWaitMs);
  if (CHECK(c != NULL)) {
    CHECK_STATUS(enrich_completion_status(c), ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(enrich_error_message(enrich_completion_error(c)), "missing input \"id\"");
    enrich_completion_free(c);
  }
  /* A required row that does not exist. */
  CHECK_STATUS(enrich_plan_run(client, q, plan, "{\"id\": 987654321}", NULL, NULL, NULL),
               ENRICH_OK);
  c = next_completion(q, kWaitMs);
  if (CHECK(c != NULL)) {
    CHECK_STATUS(enrich_completion_status(c), ENRICH_ERR_NOT_FOUND);
    enrich_completion_free(c);
  }
  /* The callback form. */
  callback_state s;
  memset(&s, 0, sizeof s);
  atomic_init(&s.calls, 0);
  CHECK_STATUS(enrich_plan_run_cb(client, plan, "{\"id\": 3}", NULL, on_plan_done, &s, NULL),
               ENRICH_OK);
  CHECK(wait_calls(&s, 1));
  CHECK_STATUS(s.status, ENRICH_OK);
  CHECK(s.kind == ENRICH_COMPLETION_PLAN);
  CHECK_CONTAINS(s.text, "\"user\":{\"id\":3,");
  enrich_plan_free(plan);
}

static void test_plan_load(enrich_client* client, enrich_queue* q, const char* plan_path,
                           int closed_port) {
  enrich_plan* plan = NULL;
  enrich_error* error = NULL;
  if (!CHECK_STATUS(enrich_plan_load(&plan, plan_path, NULL, &error), ENRICH_OK)) {
    fprintf(stderr, "  %s\n", enrich_error_message(error));
    enrich_error_free(error);
    return;
  }
  CHECK_STR(enrich_plan_name(plan), "user_enriched");

  enrich_call_options o = ENRICH_CALL_OPTIONS_INIT;
  o.deadline_ms = 10000;
  double started = now_ms();
  CHECK_STATUS(enrich_plan_run(client, q, plan, "{\"userId\": 42}", &o, NULL, NULL), ENRICH_OK);
  enrich_completion* c = next_completion(q, kWaitMs);
  double wall_ms = now_ms() - started;
  if (CHECK(c != NULL)) {
    if (!CHECK_STATUS(enrich_completion_status(c), ENRICH_OK))
      fprintf(stderr, "  %s\n", enrich_error_message(enrich_completion_error(c)));
    const char* json = enrich_completion_json(c, NULL);
    CHECK(json && json[0] == '{');
    CHECK_CONTAINS(json, "\"user\":{\"id\":\"42\""); /* node profile: int8 as a string */
    CHECK_CONTAINS(json, "\"preferences\":{\"user_id\":\"42\"");
    CHECK_CONTAINS(json, "\"recentActivity\":[");
    CHECK_CONTAINS(json, "\"meta\":{\"processingTimeMs\":");
    CHECK(strstr(json ? json : "", "\"analytics\"") == NULL ||
          strstr(json ? json : "", "\"analytics\":null") != NULL);
    CHECK(enrich_completion_elapsed_ms(c) >= 0.0 && enrich_completion_elapsed_ms(c) <= wall_ms + 1);
    enrich_completion_free(c);
  }
  /* A profile given per call overrides the plan's: postgres keeps int8 as a number. */
  o.profile = ENRICH_PROFILE_POSTGRES;
  CHECK_STATUS(enrich_plan_run(client, q, plan, "{\"userId\": 42}", &o, NULL, NULL), ENRICH_OK);
  c = next_completion(q, kWaitMs);
  if (CHECK(c != NULL)) {
    CHECK_CONTAINS(enrich_completion_json(c, NULL), "\"user\":{\"id\":42");
    enrich_completion_free(c);
  }
  enrich_plan_free(plan);

  /* The optional analytics step against a port nobody listens on: null plus a warning. */
  char vars[128];
  snprintf(vars, sizeof vars, "{\"ANALYTICS_URL\": \"http://127.0.0.1:%d\"}", closed_port);
  if (!CHECK_STATUS(enrich_plan_load(&plan, plan_path, vars, &error), ENRICH_OK)) {
    enrich_error_free(error);
    return;
  }
  CHECK_STATUS(enrich_plan_run(client, q, plan, "{\"userId\": 5, \"includeAnalytics\": true}", NULL,
                               NULL, NULL),
               ENRICH_OK);
  c = next_completion(q, kWaitMs);
  if (CHECK(c != NULL)) {
    CHECK_STATUS(enrich_completion_status(c), ENRICH_OK);
    CHECK_CONTAINS(enrich_completion_json(c, NULL), "\"analytics\":null");
    CHECK(enrich_completion_warning_count(c) >= 1);
    CHECK_CONTAINS(enrich_completion_warning(c, 0), "analytics");
    CHECK(enrich_completion_warning(c, enrich_completion_warning_count(c)) == NULL);
    enrich_completion_free(c);
  }
  /* An input the plan does not declare. */
  CHECK_STATUS(enrich_plan_run(client, q, plan, "{\"userId\": 5, \"userid\": 5}", NULL, NULL, NULL),
               ENRICH_OK);
  c = next_completion(q, kWaitMs);
  if (CHECK(c != NULL)) {
    CHECK_STATUS(enrich_completion_status(c), ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(enrich_error_message(enrich_completion_error(c)), "userid");
    enrich_completion_free(c);
  }
  enrich_plan_free(plan);
}

/* ---- transactions ---------------------------------------------------------------------------- */

static enrich_tx* begin_tx(enrich_client* client, enrich_queue* q) {
  int tag = 0;
  CHECK_STATUS(enrich_tx_begin(client, q, NULL, &tag, NULL), ENRICH_OK);
  enrich_completion* c = next_completion(q, kWaitMs);
  if (!CHECK(c != NULL)) return NULL;
  CHECK(enrich_completion_kind_of(c) == ENRICH_COMPLETION_TX_BEGIN);
  CHECK(enrich_completion_user_data(c) == &tag);
  CHECK_STATUS(enrich_completion_status(c), ENRICH_OK);
  enrich_tx* tx = enrich_completion_take_tx(c);
  CHECK(tx != NULL);
  CHECK(enrich_completion_take_tx(c) == NULL); /* taken once */
  enrich_completion_free(c);
  return tx;
}

static void tx_exec(enrich_tx* tx, enrich_queue* q, const char* sql, const char* const* params,
                    size_t n, enrich_status want) {
  CHECK_STATUS(enrich_tx_query(tx, q, sql, params, n, NULL, NULL, NULL), ENRICH_OK);
  enrich_completion* c = next_completion(q, kWaitMs);
  if (CHECK(c != NULL)) {
    CHECK(enrich_completion_kind_of(c) == ENRICH_COMPLETION_QUERY);
    if (!CHECK_STATUS(enrich_completion_status(c), want))
      fprintf(stderr, "  %s: %s\n", sql, enrich_error_message(enrich_completion_error(c)));
    enrich_completion_free(c);
  }
}

static void tx_end(enrich_tx* tx, enrich_queue* q, int commit, enrich_status want) {
  if (commit)
    CHECK_STATUS(enrich_tx_commit(tx, q, NULL, NULL), ENRICH_OK);
  else
    CHECK_STATUS(enrich_tx_rollback(tx, q, NULL, NULL), ENRICH_OK);
  enrich_completion* c = next_completion(q, kWaitMs);
  if (CHECK(c != NULL)) {
    CHECK(enrich_completion_kind_of(c) == ENRICH_COMPLETION_TX_END);
    CHECK_STATUS(enrich_completion_status(c), want);
    enrich_completion_free(c);
  }
}

static void test_transactions(enrich_client* client, enrich_queue* q) {
  char table[64], sql[256];
  snprintf(table, sizeof table, "capi_c_test_%ld", (long)getpid());
  snprintf(sql, sizeof sql, "CREATE TABLE %s (v int)", table);
  exec_ok(client, q, sql);
  char insert[256], count[256];
  snprintf(insert, sizeof insert, "INSERT INTO %s VALUES ($1::int)", table);
  snprintf(count, sizeof count, "SELECT count(*) FROM %s", table);

  /* begin / insert / commit: visible afterwards; the finished handle refuses more work. */
  enrich_tx* tx = begin_tx(client, q);
  if (tx) {
    const char* one[] = {"1"};
    CHECK_STATUS(enrich_tx_query(tx, q, insert, one, 1, NULL, NULL, NULL), ENRICH_OK);
    enrich_completion* c = next_completion(q, kWaitMs);
    if (CHECK(c != NULL)) {
      CHECK_STATUS(enrich_completion_status(c), ENRICH_OK);
      CHECK_STR(enrich_completion_command_tag(c), "INSERT 0 1");
      CHECK(enrich_completion_affected_rows(c) == 1);
      CHECK(enrich_completion_rows(c) == 0);
      enrich_completion_free(c);
    }
    tx_end(tx, q, 1, ENRICH_OK);
    CHECK_STATUS(enrich_tx_query(tx, q, "SELECT 1", NULL, 0, NULL, NULL, NULL), ENRICH_ERR_CLOSED);
    CHECK_STATUS(enrich_tx_commit(tx, q, NULL, NULL), ENRICH_ERR_CLOSED);
    CHECK_STATUS(enrich_tx_rollback(tx, q, NULL, NULL), ENRICH_ERR_CLOSED);
    CHECK_STATUS(enrich_tx_query(tx, NULL, "SELECT 1", NULL, 0, NULL, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
    enrich_tx_free(tx);
  }
  char* n = query_text(client, q, count);
  CHECK_STR(n, "1");
  free(n);

  /* begin / insert / rollback: gone. */
  tx = begin_tx(client, q);
  if (tx) {
    const char* two[] = {"2"};
    tx_exec(tx, q, insert, two, 1, ENRICH_OK);
    tx_exec(tx, q, count, NULL, 0, ENRICH_OK);
    tx_end(tx, q, 0, ENRICH_OK);
    enrich_tx_free(tx);
  }
  n = query_text(client, q, count);
  CHECK_STR(n, "1");
  free(n);

  /* A failed statement aborts the transaction: COMMIT reports the rollback (25P02). */
  tx = begin_tx(client, q);
  if (tx) {
    const char* three[] = {"3"};
    tx_exec(tx, q, insert, three, 1, ENRICH_OK);
    tx_exec(tx, q, "SELECT 1/0", NULL, 0, ENRICH_ERR_QUERY);
    tx_end(tx, q, 1, ENRICH_ERR_QUERY);
    enrich_tx_free(tx);
  }
  n = query_text(client, q, count);
  CHECK_STR(n, "1");
  free(n);

  /* Freeing an unfinished transaction rolls it back. */
  tx = begin_tx(client, q);
  if (tx) {
    const char* four[] = {"4"};
    tx_exec(tx, q, insert, four, 1, ENRICH_OK);
    enrich_tx_free(tx);
  }
  /* A TX_BEGIN completion freed without taking the handle rolls back too. */
  CHECK_STATUS(enrich_tx_begin(client, q, NULL, NULL, NULL), ENRICH_OK);
  enrich_completion* c = next_completion(q, kWaitMs);
  CHECK(c != NULL);
  enrich_completion_free(c);
  n = query_text(client, q, count);
  CHECK_STR(n, "1");
  free(n);

  snprintf(sql, sizeof sql, "DROP TABLE %s", table);
  exec_ok(client, q, sql);
}

/* Destroyed handles: a second destroy does nothing and every other call on them is refused with
 * ENRICH_ERR_INVALID_ARGUMENT, without reading freed memory (this suite runs under ASan). A handle
 * is a slot of the library's handle table with a generation, so a slot reused by a new object
 * still refuses the old handle. */
static void test_destroyed_handles(const char* dsn, enrich_client* client, enrich_queue* q) {
  /* A queue: destroyed twice, then used; a new queue (the slot reused) works, the old does not. */
  enrich_queue* old_q = NULL;
  if (!CHECK_STATUS(enrich_queue_create(&old_q), ENRICH_OK)) return;
  enrich_queue_destroy(old_q);
  enrich_queue_destroy(old_q);
  enrich_queue* new_q = NULL;
  CHECK_STATUS(enrich_queue_create(&new_q), ENRICH_OK);
  CHECK(new_q != old_q);
  CHECK(enrich_queue_fd(old_q) == -1);
  CHECK(enrich_queue_fd(new_q) >= 0);
  CHECK(enrich_queue_poll(old_q, NULL, 0) == 0);
  CHECK_STATUS(enrich_queue_set_notify(old_q, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(enrich_query(client, old_q, "SELECT 1", NULL, 0, NULL, NULL, NULL),
               ENRICH_ERR_INVALID_ARGUMENT);
  enrich_queue_destroy(new_q);

  /* A client. */
  enrich_client* dead = connect_client(dsn);
  if (CHECK(dead != NULL)) {
    enrich_client_destroy(dead);
    enrich_client_destroy(dead);
    CHECK_STATUS(enrich_query(dead, q, "SELECT 1", NULL, 0, NULL, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
    char* stats = NULL;
    CHECK_STATUS(enrich_client_stats(dead, &stats), ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(enrich_cancel(dead, 1), ENRICH_ERR_INVALID_ARGUMENT);
  }

  /* A completion and the error it owns. */
  enrich_completion* c = run_query(client, q, "SELECT 1 / 0", NULL, 0, NULL);
  if (CHECK(c != NULL)) {
    const enrich_error* e = enrich_completion_error(c);
    CHECK(e != NULL);
    enrich_error_free((enrich_error*)e); /* owned by the completion: ignored */
    CHECK_STR(enrich_error_sqlstate(e), "22012");
    enrich_completion_free(c);
    enrich_completion_free(c);
    CHECK_STATUS(enrich_completion_status(c), ENRICH_ERR_INVALID_ARGUMENT);
    CHECK(enrich_completion_rows(c) == 0);
    CHECK(enrich_completion_value(c, 0, 0, NULL) == NULL);
    CHECK_STATUS(enrich_error_code(e), ENRICH_ERR_INVALID_ARGUMENT); /* gone with it */
    CHECK_STR(enrich_error_message(e), "");
  }

  /* An error of its own. */
  enrich_plan* plan = NULL;
  enrich_error* error = NULL;
  CHECK_STATUS(enrich_plan_from_json(&plan, "{not json", 9, NULL, &error),
               ENRICH_ERR_INVALID_ARGUMENT);
  if (CHECK(error != NULL)) {
    enrich_error_free(error);
    enrich_error_free(error);
    CHECK_STATUS(enrich_error_code(error), ENRICH_ERR_INVALID_ARGUMENT);
  }

  /* A plan. */
  const char* plan_json = "{\"name\":\"p\",\"steps\":[{\"name\":\"a\",\"sql\":\"SELECT 1\"}]}";
  CHECK_STATUS(enrich_plan_from_json(&plan, plan_json, strlen(plan_json), NULL, NULL), ENRICH_OK);
  if (CHECK(plan != NULL)) {
    enrich_plan_free(plan);
    enrich_plan_free(plan);
    CHECK_STR(enrich_plan_name(plan), "");
    CHECK_STATUS(enrich_plan_run(client, q, plan, "{}", NULL, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
  }

  /* A transaction. */
  enrich_tx* tx = begin_tx(client, q);
  if (tx) {
    enrich_tx_free(tx);
    enrich_tx_free(tx);
    CHECK_STATUS(enrich_tx_query(tx, q, "SELECT 1", NULL, 0, NULL, NULL, NULL),
                 ENRICH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(enrich_tx_commit(tx, q, NULL, NULL), ENRICH_ERR_INVALID_ARGUMENT);
  }

  /* Made-up handles and handles of another kind. */
  CHECK(enrich_queue_fd((enrich_queue*)(uintptr_t)0x1234) == -1);
  CHECK(enrich_queue_fd((enrich_queue*)client) == -1);
  CHECK_STATUS(enrich_query((enrich_client*)q, q, "SELECT 1", NULL, 0, NULL, NULL, NULL),
               ENRICH_ERR_INVALID_ARGUMENT);
}

static void test_stats(enrich_client* client) {
  char* json = NULL;
  if (!CHECK_STATUS(enrich_client_stats(client, &json), ENRICH_OK)) return;
  CHECK(json && json[0] == '{' && json[strlen(json) - 1] == '}');
  CHECK_CONTAINS(json, "\"connections\":");
  CHECK_CONTAINS(json, "\"idle\":");
  CHECK_CONTAINS(json, "\"in_flight\":");
  CHECK_CONTAINS(json, "\"connect_failures\":0");
  CHECK_CONTAINS(json, "\"pending_operations\":0");
  const char* connects = json ? strstr(json, "\"connects\":") : NULL;
  CHECK(connects && atoi(connects + strlen("\"connects\":")) >= 1);
  enrich_free(json);
}

/* The client options' log_fn: called for the warning of a failed connect, without secrets. */
typedef struct {
  atomic_int calls;
  atomic_int leaked_password;
  atomic_int saw_connect_failed;
} log_state;

static void on_log(enrich_log_level level, const char* event, const char* fields, void* payload) {
  log_state* s = payload;
  if (level == ENRICH_LOG_WARNING && strcmp(event, "pg.connect_failed") == 0)
    atomic_store(&s->saw_connect_failed, 1);
  if (strstr(fields, "s3cret-c-pw")) atomic_store(&s->leaked_password, 1);
  atomic_fetch_add(&s->calls, 1);
}

static void test_log_fn(const char* dsn, enrich_queue* q) {
  /* Replace the password of a URI DSN (scheme://user:pass@host...) with a wrong one. */
  char bad[512];
  const char *at = strchr(dsn, '@'), *scheme = strstr(dsn, "://");
  if (!at || !scheme) {
    snprintf(bad, sizeof bad, "%s password=s3cret-c-pw", dsn);
  } else {
    const char* user = scheme + 3;
    const char* colon = memchr(user, ':', (size_t)(at - user));
    int user_len = (int)((colon ? colon : at) - user);
    snprintf(bad, sizeof bad, "%.*s%.*s:s3cret-c-pw%s", (int)(user - dsn), dsn, user_len, user, at);
  }
  log_state s;
  atomic_init(&s.calls, 0);
  atomic_init(&s.leaked_password, 0);
  atomic_init(&s.saw_connect_failed, 0);
  enrich_client_options o = ENRICH_CLIENT_OPTIONS_INIT;
  o.dsn = bad;
  o.max_connections = 1;
  o.connect_timeout_ms = 2000;
  o.acquire_timeout_ms = 3000;
  o.log_fn = on_log;
  o.log_payload = &s;
  enrich_client* client = NULL;
  if (!CHECK_STATUS(enrich_client_create(&client, &o, NULL), ENRICH_OK)) return;
  enrich_completion* c = run_query(client, q, "SELECT 1", NULL, 0, NULL);
  if (CHECK(c != NULL)) {
    enrich_status st = enrich_completion_status(c);
    CHECK(st == ENRICH_ERR_CONNECTION || st == ENRICH_ERR_POOL_TIMEOUT);
    CHECK(strstr(enrich_error_message(enrich_completion_error(c)), "s3cret-c-pw") == NULL);
    enrich_completion_free(c);
  }
  enrich_client_destroy(client);
  CHECK(atomic_load(&s.saw_connect_failed) == 1);
  CHECK(atomic_load(&s.leaked_password) == 0);
}

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
static int closed_local_port(void) {
  int port = 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return port;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) == 0 &&
      getsockname(fd, (struct sockaddr*)&addr, &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

/* Runs one test function and prints its name with the number of checks it made. */
#define RUN(call)                                                                    \
  do {                                                                               \
    int passed_before = g_passed, failed_before = g_failed;                          \
    call;                                                                            \
    printf("%-4s %s: %d checks\n", g_failed == failed_before ? "ok" : "FAIL", #call, \
           g_passed - passed_before + g_failed - failed_before);                     \
    fflush(stdout);                                                                  \
  } while (0)

int main(int argc, char** argv) {
  const char* plan_path = argc > 1 ? argv[1] : ENRICH_USER_ENRICHED_PLAN;
  const char* dsn = getenv("ENRICH_TEST_DSN");
  if (!dsn || !*dsn) {
    fprintf(stderr,
            "ENRICH_TEST_DSN is not set. This test needs a Postgres server, e.g.\n"
            "  scripts/pg start && eval \"$(scripts/pg env)\"\n");
    printf("0 passed, 1 failed\n");
    return 1;
  }
  char fixture[512];
  const char* fixture_env = getenv("ENRICH_FIXTURE_DSN");
  if (fixture_env && *fixture_env) {
    snprintf(fixture, sizeof fixture, "%s", fixture_env);
  } else { /* as scripts/test does: the test DSN with the database enrich_fixture */
    const char* slash = strrchr(dsn, '/');
    snprintf(fixture, sizeof fixture, "%.*s/enrich_fixture", (int)(slash ? slash - dsn : 0), dsn);
  }

  RUN(test_version());
  RUN(test_errors_and_buffers_with_null());
  RUN(test_completion_accessors_with_null());
  RUN(test_queue_arguments());
  RUN(test_client_create_arguments(dsn));
  RUN(test_plan_arguments(plan_path));

  enrich_queue* q = NULL;
  if (CHECK_STATUS(enrich_queue_create(&q), ENRICH_OK)) {
    enrich_client* client = connect_client(dsn);
    if (client) {
      RUN(test_operation_arguments(client, q));
      RUN(test_query_round_trip_via_fd(client, q));
      RUN(test_query_error_sqlstate(client, q));
      RUN(test_row_accessors(client, q));
      RUN(test_take_json(client, q));
      RUN(test_query_callback(client));
      RUN(test_transactions(client, q));
      RUN(test_stats(client));
      RUN(test_destroyed_handles(dsn, client, q));
      enrich_client_destroy(client);
    }
    RUN(test_client_create_json(dsn, q));
    RUN(test_client_options_struct(dsn, q));
    RUN(test_log_fn(dsn, q));

    enrich_client* fixture_client = connect_client(fixture);
    if (fixture_client) {
      RUN(test_plan_from_json(fixture_client, q));
      RUN(test_plan_load(fixture_client, q, plan_path, closed_local_port()));
      enrich_client_destroy(fixture_client);
    }
    CHECK(enrich_queue_size(q) == 0);
    enrich_queue_destroy(q);
  }

  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
