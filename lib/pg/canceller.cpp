#include "pg/canceller.hpp"

#include <pthread.h>

namespace enrich::pg {

Canceller::Canceller(Logger logger) : logger_(std::move(logger)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "enrich-cancel");
    run();
  });
}

Canceller::~Canceller() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Canceller::submit(PGcancel* cancel) {
  if (!cancel) return;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(cancel);
  }
  cv_.notify_one();
}

void Canceller::run() {
  for (;;) {
    PGcancel* cancel;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      cancel = queue_.front();
      queue_.pop_front();
    }
    sent_.fetch_add(1, std::memory_order_relaxed);
    char err[256] = {0};
    if (!PQcancel(cancel, err, sizeof err))
      logger_.log(LogLevel::warning, "pg.cancel_failed", {{"error", err}});
    PQfreeCancel(cancel);
  }
}

}  // namespace enrich::pg
