#include "core/fork_guard.hpp"

#include <pthread.h>

#include <atomic>

namespace enrich {
namespace {

std::atomic<unsigned> generation{0};

void on_fork_child() {
  generation.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

unsigned fork_generation() noexcept {
  // Registered before the first object records its generation: a fork before that concerns no
  // object of ours.
  static const bool registered = pthread_atfork(nullptr, nullptr, &on_fork_child) == 0;
  (void)registered;
  return generation.load(std::memory_order_relaxed);
}

const char* forked_client_message() noexcept {
  return "this client was created before fork() and cannot be used in the child process: create "
         "the client after the fork (in each worker, e.g. in the app's startup or lifespan; with "
         "gunicorn, not in a --preload'ed module)";
}

}  // namespace enrich
