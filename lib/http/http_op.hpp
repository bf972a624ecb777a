#pragma once
// One HTTP request on its way through an HttpClient: waiting for its first attempt, in flight as
// a curl transfer, or waiting out a retry backoff. Owned by shared_ptr (the client's transfer
// table, retry timers, the caller's cancel hook). Touched only on the client's loop thread.

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <string>

#include "core/event_loop.hpp"
#include "enrich/deadline.hpp"
#include "enrich/error.hpp"
#include "enrich/future.hpp"
#include "enrich/http.hpp"

namespace enrich::http {

class HttpClient;

struct HttpOp {
  HttpRequest request;
  Promise<HttpResponse> promise;
  /// Effective deadline (the earlier of request.deadline and the timeout), set by the caller. If
  /// left unset, submit() derives it from the request and the client's default_timeout.
  Deadline deadline;
  /// The promise is already completed; whatever still arrives for this op is discarded.
  bool completed = false;

  // ---- HttpClient's state ----------------------------------------------------------------------
  HttpClient* client = nullptr;
  std::string method;    // upper-cased request.method
  std::string host_key;  // scheme://host:port, the circuit breaker's key
  std::string log_url;   // URL for messages: no user info, query values redacted
  curl_slist* header_list = nullptr;
  Clock::time_point started{};  // submit()
  int attempts = 0;             // attempts started
  bool probe = false;           // this attempt is the half-open circuit's probe

  CURL* easy = nullptr;                      // while in flight
  EventLoop::TimerId retry_timer = 0;        // while waiting out a backoff
  EventLoop::TimerId deadline_timer = 0;     // while in flight: backstop for queued transfers
  std::optional<Result<HttpResponse>> last;  // outcome of the previous attempt (for retries)

  // Filled by curl's callbacks during an attempt.
  HttpResponse response;
  int header_status = 0;  // status of the response whose headers are arriving
  bool body_too_large = false;
  char error_buffer[CURL_ERROR_SIZE] = {};

  HttpOp() = default;
  HttpOp(const HttpOp&) = delete;
  HttpOp& operator=(const HttpOp&) = delete;
  ~HttpOp() {
    if (header_list) curl_slist_free_all(header_list);
  }
};

using HttpOpPtr = std::shared_ptr<HttpOp>;

}  // namespace enrich::http
