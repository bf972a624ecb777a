/*
 * enrich_c_demo: the reference endpoint (examples/plans/user_enriched.json) from C.
 *
 *   enrich_c_demo DSN USER_ID...
 *   ANALYTICS_URL=http://127.0.0.1:8081 enrich_c_demo postgresql://... 1 2 3
 *
 * Runs the plan for every user at once, then waits on the completion queue's file descriptor
 * with poll(2) (the way an event loop would) and prints each document or error as it arrives.
 * With ANALYTICS_URL set, the plan's optional analytics step is included. ENRICH_PLAN overrides
 * the plan file.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "enrich.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s DSN USER_ID...\n", argv[0]);
    return 2;
  }
  const char* plan_path = getenv("ENRICH_PLAN") ? getenv("ENRICH_PLAN") : ENRICH_DEMO_PLAN;
  int with_analytics = getenv("ANALYTICS_URL") != NULL;
  int exit_code = 0;
  enrich_error* error = NULL;

  /* A plan is loaded once and shared; ${ANALYTICS_URL} is read from the environment. */
  enrich_plan* plan = NULL;
  if (enrich_plan_load(&plan, plan_path, NULL, &error) != ENRICH_OK) {
    fprintf(stderr, "plan: %s\n", enrich_error_message(error));
    enrich_error_free(error);
    return 1;
  }
  enrich_client_options options = ENRICH_CLIENT_OPTIONS_INIT;
  options.dsn = argv[1];
  enrich_client* client = NULL;
  if (enrich_client_create(&client, &options, &error) != ENRICH_OK) {
    fprintf(stderr, "client: %s\n", enrich_error_message(error));
    enrich_error_free(error);
    enrich_plan_free(plan);
    return 1;
  }
  enrich_queue* queue = NULL;
  if (enrich_queue_create(&queue) != ENRICH_OK) {
    enrich_client_destroy(client);
    enrich_plan_free(plan);
    return 1;
  }

  /* Start every run; each completion carries its argv index as user data. */
  double start = now_ms();
  int pending = 0, started = 0;
  for (int i = 2; i < argc; ++i) {
    char* end;
    long long id = strtoll(argv[i], &end, 10);
    if (*argv[i] == '\0' || *end != '\0') {
      fprintf(stderr, "not a user id: %s\n", argv[i]);
      exit_code = 2;
      continue;
    }
    char inputs[96];
    snprintf(inputs, sizeof inputs, "{\"userId\": %lld, \"includeAnalytics\": %s}", id,
             with_analytics ? "true" : "false");
    if (enrich_plan_run(client, queue, plan, inputs, NULL, (void*)(intptr_t)i, NULL) == ENRICH_OK)
      pending = ++started;
  }

  /* The event loop: wait for the fd, then drain what is there. */
  while (pending > 0) {
    struct pollfd p = {enrich_queue_fd(queue), POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) {
      fprintf(stderr, "no answer within 10 s\n");
      exit_code = 1;
      break;
    }
    enrich_completion* batch[16];
    size_t n = enrich_queue_poll(queue, batch, 16);
    for (size_t k = 0; k < n; ++k, --pending) {
      enrich_completion* c = batch[k];
      const char* user = argv[(intptr_t)enrich_completion_user_data(c)];
      if (enrich_completion_status(c) == ENRICH_OK) {
        printf("user %s (%.0f ms):\n%s\n", user, enrich_completion_elapsed_ms(c),
               enrich_completion_json(c, NULL));
        for (size_t w = 0; w < enrich_completion_warning_count(c); ++w)
          printf("  warning: %s\n", enrich_completion_warning(c, w));
      } else {
        const enrich_error* e = enrich_completion_error(c);
        printf("user %s: %s error: %s\n", user, enrich_status_name(enrich_error_code(e)),
               enrich_error_message(e));
        exit_code = 1;
      }
      enrich_completion_free(c);
    }
  }
  printf("%d run(s) in %.1f ms\n", started, now_ms() - start);

  enrich_client_destroy(client);
  enrich_queue_destroy(queue);
  enrich_plan_free(plan);
  return exit_code;
}
