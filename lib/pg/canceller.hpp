#pragma once
// Sends cancel requests to the server. libpq's PQcancel blocks (it opens a connection to the
// postmaster), so it runs on this one helper thread per client, never on an I/O thread and never
// one thread per request.

#include <libpq-fe.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#include "core/logger.hpp"
#include "enrich/log.hpp"

namespace enrich::pg {

class Canceller {
 public:
  explicit Canceller(Logger logger);
  ~Canceller();  // sends what is still queued, then joins

  /// Takes ownership of `cancel` (from PQgetCancel).
  void submit(PGcancel* cancel);
  std::uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }

 private:
  void run();
  Logger logger_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PGcancel*> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> sent_{0};
  std::thread thread_;
};

}  // namespace enrich::pg
