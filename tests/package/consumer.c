/*
 * The pkg-config consumer of the install tree (tests/package/check.sh), built with
 *   cc consumer.c $(pkg-config --cflags --libs enrich)
 * A query and the reference plan against the fixture database through the C API.
 *   consumer DSN PLAN_FILE VERSION
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "enrich.h"

/* Waits for the one completion in flight on the queue. */
static enrich_completion* wait_one(enrich_queue* queue) {
  enrich_completion* c = NULL;
  while (enrich_queue_poll(queue, &c, 1) == 0) {
    struct pollfd p = {enrich_queue_fd(queue), POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) return NULL;
  }
  return c;
}

static int failed(const char* what, enrich_completion* c) {
  fprintf(stderr, "%s: %s\n", what,
          c ? enrich_error_message(enrich_completion_error(c)) : "no completion within 10 s");
  enrich_completion_free(c);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  if (strcmp(enrich_version_string(), argv[3]) != 0 ||
      strcmp(ENRICH_VERSION_STRING, argv[3]) != 0 || enrich_version() != ENRICH_VERSION_HEX) {
    fprintf(stderr, "version: library %s, header %s, expected %s\n", enrich_version_string(),
            ENRICH_VERSION_STRING, argv[3]);
    return 1;
  }
  enrich_error* error = NULL;
  enrich_plan* plan = NULL;
  if (enrich_plan_load(&plan, argv[2], NULL, &error) != ENRICH_OK) {
    fprintf(stderr, "plan: %s\n", enrich_error_message(error));
    return 1;
  }
  enrich_client_options options = ENRICH_CLIENT_OPTIONS_INIT;
  options.dsn = argv[1];
  enrich_client* client = NULL;
  if (enrich_client_create(&client, &options, &error) != ENRICH_OK) {
    fprintf(stderr, "client: %s\n", enrich_error_message(error));
    return 1;
  }
  enrich_queue* queue = NULL;
  if (enrich_queue_create(&queue) != ENRICH_OK) return 1;

  const char* params[] = {"21"};
  if (enrich_query(client, queue, "SELECT $1::int8 * 2 AS doubled", params, 1, NULL, NULL, NULL) !=
      ENRICH_OK)
    return 1;
  enrich_completion* c = wait_one(queue);
  if (!c || enrich_completion_status(c) != ENRICH_OK) return failed("query", c);
  if (enrich_completion_rows(c) != 1 || strcmp(enrich_completion_value(c, 0, 0, NULL), "42") != 0) {
    fprintf(stderr, "query: wrong result\n");
    return 1;
  }
  enrich_completion_free(c);

  if (enrich_plan_run(client, queue, plan, "{\"userId\": 1, \"includeAnalytics\": false}", NULL,
                      NULL, NULL) != ENRICH_OK)
    return 1;
  c = wait_one(queue);
  if (!c || enrich_completion_status(c) != ENRICH_OK) return failed("plan", c);
  const char* json = enrich_completion_json(c, NULL);
  if (!strstr(json, "{\"user\":{\"id\":\"1\",") || !strstr(json, "\"recentActivity\":[{")) {
    fprintf(stderr, "plan: unexpected document %s\n", json);
    return 1;
  }
  printf("pkg-config consumer: enrich %s, query ok, plan %s ok (%zu bytes)\n",
         enrich_version_string(), enrich_plan_name(plan), strlen(json));
  enrich_completion_free(c);
  enrich_client_destroy(client);
  enrich_queue_destroy(queue);
  enrich_plan_free(plan);
  return 0;
}
