#include "http/http_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string_view>

#include "http/ca_bundle.hpp"

namespace enrich::http {
namespace {

constexpr std::size_t kMaxFreeEasyHandles = 64;
// curl (7.88) does not time out a transfer while it waits for a free connection (a pending
// transfer) but only once it got one. Our own timer catches those, a little after curl's own
// timeout would have fired for a transfer on the wire.
constexpr Milliseconds kDeadlineBackstopGrace{10};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool known_method(std::string_view m) {
  return m == "GET" || m == "POST" || m == "PUT" || m == "DELETE" || m == "HEAD" || m == "PATCH";
}

bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE";
}

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

/// One part of a parsed URL, or empty.
std::string url_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || !value) return {};
  std::string out(value);
  curl_free(value);
  return out;
}

struct ParsedUrl {
  std::string host_key;  // scheme://host:port
  std::string log_url;   // scheme://host[:port]/path?name=***
};

Result<ParsedUrl> parse_url(const std::string& raw) {
  if (raw.empty()) return Error{ErrorCode::invalid_argument, "HTTP request without a URL"};
  CURLU* url = curl_url();
  if (!url) return Error{ErrorCode::internal, "curl_url: out of memory"};
  CURLUcode rc = curl_url_set(url, CURLUPART_URL, raw.c_str(), 0);
  if (rc != CURLUE_OK) {
    curl_url_cleanup(url);
    return Error{ErrorCode::invalid_argument,
                 fmt::format("invalid URL: {}", curl_url_strerror(rc))};
  }
  std::string scheme = lower(url_part(url, CURLUPART_SCHEME));
  std::string host = lower(url_part(url, CURLUPART_HOST));
  std::string explicit_port = url_part(url, CURLUPART_PORT);
  std::string port = url_part(url, CURLUPART_PORT, CURLU_DEFAULT_PORT);
  std::string path = url_part(url, CURLUPART_PATH);
  std::string query = url_part(url, CURLUPART_QUERY);
  curl_url_cleanup(url);
  if (scheme != "http" && scheme != "https")
    return Error{ErrorCode::invalid_argument,
                 fmt::format("unsupported URL scheme '{}' (http and https only)", scheme)};
  if (host.empty()) return Error{ErrorCode::invalid_argument, "URL without a host"};
  ParsedUrl out;
  out.host_key = fmt::format("{}://{}:{}", scheme, host, port);
  out.log_url = fmt::format("{}://{}{}{}{}", scheme, host, explicit_port.empty() ? "" : ":",
                            explicit_port, path.empty() ? "/" : path);
  if (!query.empty()) {
    // Keep parameter names, never values (tokens, signatures, keys).
    out.log_url += '?';
    std::string_view q(query);
    bool first = true;
    while (!q.empty()) {
      auto amp = q.find('&');
      std::string_view item = q.substr(0, amp);
      q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
      if (!first) out.log_url += '&';
      first = false;
      auto eq = item.find('=');
      if (eq == std::string_view::npos) {
        out.log_url += "***";
      } else {
        out.log_url.append(item.substr(0, eq));
        out.log_url += "=***";
      }
    }
  }
  return out;
}

long to_version(long curl_version) {
  switch (curl_version) {
    case CURL_HTTP_VERSION_1_0:
      return 10;
    case CURL_HTTP_VERSION_1_1:
      return 11;
    case CURL_HTTP_VERSION_2_0:
      return 20;
    case CURL_HTTP_VERSION_3:
      return 30;
    default:
      return 0;
  }
}

long clamp_long(long long v) {
  if (v > LONG_MAX) return LONG_MAX;
  if (v < 1) return 1;
  return static_cast<long>(v);
}

}  // namespace

// ---- construction -------------------------------------------------------------------------------

HttpClient::HttpClient(EventLoop& loop, HttpOptions options, Logger logger,
                       CircuitBreakers::ClockFn breaker_clock)
    : loop_(loop),
      options_(std::move(options)),
      logger_(std::move(logger)),
      budget_(options_.retry.budget_ratio, options_.retry.budget_min_per_second),
      breakers_(options_.breaker, logger_, std::move(breaker_clock)),
      rng_(std::random_device{}()) {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  if (!multi_) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &HttpClient::socket_callback);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &HttpClient::timer_callback);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(options_.max_connections_per_host));
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                    static_cast<long>(options_.max_total_connections));
  // Idle keep-alive connections kept in the cache.
  if (options_.max_total_connections > 0)
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS,
                      static_cast<long>(options_.max_total_connections));
}

HttpClient::~HttpClient() {
  shutdown();
}

Deadline HttpClient::effective_deadline(const HttpRequest& request, const HttpOptions& options) {
  auto timeout = request.timeout.count() > 0 ? request.timeout : options.default_timeout;
  return earliest(request.deadline, Deadline::after(timeout));
}

HttpClientStats HttpClient::stats() const {
  HttpClientStats s;
  s.requests = counters_.requests.load(std::memory_order_relaxed);
  s.attempts = counters_.attempts.load(std::memory_order_relaxed);
  s.retries = counters_.retries.load(std::memory_order_relaxed);
  s.connects = counters_.connects.load(std::memory_order_relaxed);
  s.short_circuited = counters_.short_circuited.load(std::memory_order_relaxed);
  s.active = counters_.active.load(std::memory_order_relaxed);
  s.backing_off = counters_.backing_off.load(std::memory_order_relaxed);
  s.breakers_opened = breakers_.opened();
  s.breakers_not_closed = breakers_.not_closed();
  return s;
}

// ---- curl callbacks -----------------------------------------------------------------------------

int HttpClient::socket_callback(CURL*, curl_socket_t fd, int what, void* userp, void*) {
  auto* self = static_cast<HttpClient*>(userp);
  if (self->cleaning_up_) return 0;
  if (what == CURL_POLL_REMOVE) {
    // The fd may already be closed; EventLoop::unwatch tolerates that.
    if (self->sockets_.erase(fd)) self->loop_.unwatch(fd);
    return 0;
  }
  std::uint32_t events = 0;
  if (what & CURL_POLL_IN) events |= EPOLLIN;
  if (what & CURL_POLL_OUT) events |= EPOLLOUT;
  auto it = self->sockets_.find(fd);
  if (it == self->sockets_.end()) {
    self->sockets_.emplace(fd, events);
    self->loop_.watch(fd, events, [self, fd](std::uint32_t ev) { self->on_socket(fd, ev); });
  } else if (it->second != events) {
    it->second = events;
    self->loop_.modify(fd, events);
  }
  return 0;
}

int HttpClient::timer_callback(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<HttpClient*>(userp);
  if (self->curl_timer_) self->loop_.cancel_timer(self->curl_timer_);
  self->curl_timer_ = 0;
  if (timeout_ms < 0 || self->cleaning_up_ || self->shut_down_) return 0;
  // Never call curl from inside its callback: a zero timeout runs on the next loop turn.
  self->curl_timer_ = self->loop_.add_timer(Clock::now() + Milliseconds(timeout_ms), [self] {
    self->curl_timer_ = 0;
    self->on_curl_timer();
  });
  return 0;
}

std::size_t HttpClient::write_callback(char* data, std::size_t size, std::size_t n, void* userp) {
  auto* op = static_cast<HttpOp*>(userp);
  std::size_t len = size * n;
  std::size_t cap = op->client->options_.max_response_bytes;
  if (cap > 0 && op->response.body.size() + len > cap) {
    op->body_too_large = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  op->response.body.append(data, len);
  return len;
}

std::size_t HttpClient::header_callback(char* data, std::size_t size, std::size_t n, void* userp) {
  auto* op = static_cast<HttpOp*>(userp);
  std::size_t len = size * n;
  std::string_view line = trim(std::string_view(data, len));
  auto& headers = op->response.headers;
  if (line.starts_with("HTTP/")) {
    // A new response (interim 1xx, redirect hop, final): only the last one's headers are kept.
    headers.clear();
    op->header_status = 0;
    auto sp = line.find(' ');
    if (sp != std::string_view::npos) {
      auto code = line.substr(sp + 1, 3);
      std::from_chars(code.data(), code.data() + code.size(), op->header_status);
    }
    return len;
  }
  if (line.empty()) return len;
  if (data[0] == ' ' || data[0] == '\t') {  // obsolete line folding
    if (!headers.empty()) {
      headers.back().second += ' ';
      headers.back().second.append(line);
    }
    return len;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name = lower(trim(line.substr(0, colon)));
  std::string_view value = trim(line.substr(colon + 1));
  int status = op->header_status;
  bool has_body =
      op->method != "HEAD" && status >= 200 && status != 204 && (status < 300 || status >= 400);
  if (name == "content-length" && has_body) {
    // Refuse an announced oversized body before it arrives; size the buffer otherwise.
    std::uint64_t announced = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), announced);
    if (ec == std::errc()) {
      std::size_t cap = op->client->options_.max_response_bytes;
      if (cap > 0 && announced > cap) {
        op->body_too_large = true;
        return 0;  // CURLE_WRITE_ERROR
      }
      if (status < 300) op->response.body.reserve(static_cast<std::size_t>(announced));
    }
  }
  headers.emplace_back(std::move(name), std::string(value));
  return len;
}

// ---- driving the multi handle -------------------------------------------------------------------

void HttpClient::on_socket(int fd, std::uint32_t events) {
  if (!multi_) return;
  int flags = 0;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) flags |= CURL_CSELECT_IN;
  if (events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
  if (events & EPOLLERR) flags |= CURL_CSELECT_ERR;
  int running = 0;
  curl_multi_socket_action(multi_, fd, flags, &running);
  drain_finished();
}

void HttpClient::on_curl_timer() {
  if (!multi_) return;
  int running = 0;
  curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  drain_finished();
}

void HttpClient::drain_finished() {
  // One message at a time: completing an op runs continuations that may add or remove
  // transfers (removing one also drops its pending message) or even shut the client down.
  int left = 0;
  while (multi_) {
    CURLMsg* msg = curl_multi_info_read(multi_, &left);
    if (!msg) break;
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode code = msg->data.result;
    auto it = active_.find(easy);
    if (it == active_.end()) {  // not ours any more; should not happen
      curl_multi_remove_handle(multi_, easy);
      continue;
    }
    HttpOpPtr op = std::move(it->second);
    active_.erase(it);
    finish_attempt(std::move(op), code);
  }
}

// ---- requests -----------------------------------------------------------------------------------

void HttpClient::submit(HttpOpPtr op) {
  if (!op || op->completed) return;
  op->client = this;
  op->started = Clock::now();
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  if (shut_down_) {
    complete(op, Error{ErrorCode::cancelled, "HTTP client shut down"});
    return;
  }
  if (!op->deadline.is_set()) op->deadline = effective_deadline(op->request, options_);

  op->method = upper(op->request.method.empty() ? std::string_view("GET") : op->request.method);
  if (!known_method(op->method)) {
    complete(op, Error{ErrorCode::invalid_argument,
                       fmt::format("unsupported HTTP method '{}' (GET, POST, PUT, DELETE, HEAD, "
                                   "PATCH)",
                                   op->request.method)});
    return;
  }
  if (op->method == "HEAD" && !op->request.body.empty()) {
    complete(op, Error{ErrorCode::invalid_argument, "a HEAD request cannot carry a body"});
    return;
  }
  auto url = parse_url(op->request.url);
  if (!url.ok()) {
    complete(op, std::move(url).error());
    return;
  }
  op->host_key = std::move(url.value().host_key);
  op->log_url = std::move(url.value().log_url);

  if (op->header_list) curl_slist_free_all(op->header_list);
  op->header_list = nullptr;
  bool has_expect = false;
  for (const auto& [name, value] : op->request.headers) {
    if (name.empty() || name.find(':') != std::string::npos || has_control_chars(name) ||
        has_control_chars(value)) {
      complete(op,
               Error{ErrorCode::invalid_argument,
                     fmt::format("invalid HTTP header name or value for '{}'",
                                 lower(name.substr(0, std::min<std::size_t>(name.size(), 64))))});
      return;
    }
    if (lower(name) == "expect") has_expect = true;
    // "Name;" is curl's way to send a header with an empty value.
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    op->header_list = curl_slist_append(op->header_list, line.c_str());
  }
  // No "Expect: 100-continue" round trip before bodies.
  if (!has_expect && !op->request.body.empty())
    op->header_list = curl_slist_append(op->header_list, "Expect:");

  if (op->deadline.expired()) {
    complete(op, Error{ErrorCode::timeout,
                       fmt::format("{} {}: deadline expired before the request was sent",
                                   op->method, op->log_url)});
    return;
  }
  budget_.on_request();
  start_attempt(op);
}

void HttpClient::start_attempt(const HttpOpPtr& op) {
  auto now = Clock::now();
  if (op->deadline.expired(now)) {
    if (op->last) {
      Result<HttpResponse> last = std::move(*op->last);
      complete(op, std::move(last));
    } else {
      complete(op, Error{ErrorCode::timeout,
                         fmt::format("{} {}: deadline expired before the request was sent",
                                     op->method, op->log_url)});
    }
    return;
  }
  bool probe = false;
  if (options_.breaker.enabled) {
    auto admission = breakers_.admit(op->host_key);
    if (admission.kind == CircuitBreakers::Admission::reject) {
      counters_.short_circuited.fetch_add(1, std::memory_order_relaxed);
      if (op->last) {  // a retry the open circuit refused: the previous outcome stands
        Result<HttpResponse> last = std::move(*op->last);
        complete(op, std::move(last));
      } else {
        complete(op, Error{ErrorCode::circuit_open, std::move(admission.message)});
      }
      return;
    }
    probe = admission.kind == CircuitBreakers::Admission::probe;
  }
  CURL* easy = acquire_easy();
  if (!easy || !configure(*op, easy, op->deadline.remaining(now))) {
    if (easy) release_easy(easy);
    breakers_.on_abandon(op->host_key, probe);
    complete(op, Error{ErrorCode::internal, "could not set up a curl transfer"});
    return;
  }
  op->probe = probe;
  op->easy = easy;
  ++op->attempts;
  counters_.attempts.fetch_add(1, std::memory_order_relaxed);
  if (op->attempts > 1) counters_.retries.fetch_add(1, std::memory_order_relaxed);
  active_.emplace(easy, op);
  counters_.active.store(active_.size(), std::memory_order_relaxed);
  CURLMcode mc = curl_multi_add_handle(multi_, easy);
  if (mc != CURLM_OK) {
    active_.erase(easy);
    counters_.active.store(active_.size(), std::memory_order_relaxed);
    op->easy = nullptr;
    op->probe = false;
    release_easy(easy);
    breakers_.on_abandon(op->host_key, probe);
    complete(op, Error{ErrorCode::internal,
                       fmt::format("curl_multi_add_handle: {}", curl_multi_strerror(mc))});
    return;
  }
  // curl asked for a timer (usually 0 ms) from add_handle; the transfer starts from there.
  if (op->deadline.is_set())
    op->deadline_timer = loop_.add_timer(op->deadline.when() + kDeadlineBackstopGrace,
                                         [this, easy, raw = op.get()] { on_deadline(easy, raw); });
}

void HttpClient::on_deadline(CURL* easy, HttpOp* raw) {
  auto it = active_.find(easy);
  if (it == active_.end() || it->second.get() != raw) return;
  HttpOpPtr op = it->second;
  op->deadline_timer = 0;
  curl_off_t connect_us = 0;
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  auto elapsed = std::chrono::duration_cast<Milliseconds>(Clock::now() - op->started).count();
  std::string message =
      connect_us == 0
          ? fmt::format(
                "{} {} timed out after {} ms waiting for a free connection "
                "(max_connections_per_host={}, max_total_connections={})",
                op->method, op->log_url, elapsed, options_.max_connections_per_host,
                options_.max_total_connections)
          : fmt::format("{} {} timed out after {} ms", op->method, op->log_url, elapsed);
  // Not the host's fault (it never saw the request): the breaker learns nothing.
  detach(*op);
  complete(op, Error{ErrorCode::timeout, std::move(message)});
}

bool HttpClient::configure(HttpOp& op, CURL* e, Milliseconds remaining) {
  op.response = HttpResponse{};
  op.header_status = 0;
  op.body_too_large = false;
  op.error_buffer[0] = '\0';

  if (curl_easy_setopt(e, CURLOPT_URL, op.request.url.c_str()) != CURLE_OK) return false;
  curl_easy_setopt(e, CURLOPT_PRIVATE, static_cast<void*>(&op));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, op.error_buffer);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpClient::write_callback);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(&op));
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &HttpClient::header_callback);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, static_cast<void*>(&op));
  // The whole transfer, including time queued behind the connection limits, ends at the deadline.
  if (remaining != Milliseconds::max())
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, clamp_long(remaining.count()));
  if (options_.connect_timeout.count() > 0)
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, clamp_long(options_.connect_timeout.count()));
  if (options_.max_redirects > 0) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, options_.max_redirects);
  }
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  // A CA file replaces the default store (libcurl's CAINFO); the request's wins over the client's.
  // Without either: libcurl's built-in CA path, or where this system keeps its CA bundle when
  // that path is missing (a libcurl bundled in a wheel or npm package, see ca_bundle.hpp).
  const std::string& ca_file = !op.request.ca_file.empty() ? op.request.ca_file
                               : !options_.ca_file.empty() ? options_.ca_file
                                                           : default_ca_file();
  if (!ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, ca_file.c_str());
  if (options_.http2) {
    // HTTP/2 over TLS where the server offers it (ALPN); cleartext stays HTTP/1.1.
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    // Prefer a stream on a connection being set up over opening another one.
    if (op.host_key.starts_with("https:")) curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  }
  curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  if (op.header_list) curl_easy_setopt(e, CURLOPT_HTTPHEADER, op.header_list);

  const std::string& body = op.request.body;
  auto set_body = [&] {
    // The op owns the body for the whole transfer: no copy.
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
  };
  const std::string& m = op.method;
  if (m == "GET") {
    if (body.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "GET");
      set_body();
    }
  } else if (m == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (m == "POST") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    set_body();
  } else {  // PUT, PATCH, DELETE
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    if (!body.empty() || m != "DELETE") set_body();
  }
  return true;
}

void HttpClient::finish_attempt(HttpOpPtr op, CURLcode code) {
  CURL* easy = op->easy;
  op->easy = nullptr;
  if (op->deadline_timer) loop_.cancel_timer(op->deadline_timer);
  op->deadline_timer = 0;
  long status = 0, version = 0, connects = 0;
  char* effective_url = nullptr;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective_url);
  curl_off_t connect_us = 0, tls_us = 0, first_byte_us = 0;
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
  curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &first_byte_us);
  if (code == CURLE_OK && effective_url) op->response.effective_url = effective_url;
  curl_multi_remove_handle(multi_, easy);
  release_easy(easy);  // effective_url is gone from here on
  counters_.active.store(active_.size(), std::memory_order_relaxed);
  counters_.connects.fetch_add(static_cast<std::uint64_t>(std::max(0L, connects)),
                               std::memory_order_relaxed);
  bool probe = op->probe;
  op->probe = false;
  if (op->completed) {  // defensive: completed ops are always detached first
    breakers_.on_abandon(op->host_key, probe);
    return;
  }

  Result<HttpResponse> outcome = code == CURLE_OK ? Result<HttpResponse>(std::move(op->response))
                                                  : Result<HttpResponse>(transfer_error(*op, code));
  if (outcome.ok()) {
    outcome->status = status;
    outcome->http_version = to_version(version);
    outcome->connect_us = std::max<std::int64_t>(connect_us, tls_us);
    outcome->first_byte_us = first_byte_us;
  }
  op->response = HttpResponse{};

  if (options_.breaker.enabled) {
    bool failure = outcome.ok() ? outcome->status >= 500
                                : (outcome.error().code == ErrorCode::connection ||
                                   outcome.error().code == ErrorCode::timeout);
    bool success = outcome.ok() && outcome->status < 500;
    if (failure)
      breakers_.on_failure(op->host_key, probe);
    else if (success || probe)  // other errors (redirect loops, size cap) say nothing in closed
      breakers_.on_success(op->host_key, probe);
  }
  if (schedule_retry(op, outcome)) return;
  complete(op, std::move(outcome));
}

bool HttpClient::schedule_retry(const HttpOpPtr& op, Result<HttpResponse>& outcome) {
  const auto& retry = options_.retry;
  if (shut_down_ || !op->request.retry || !idempotent(op->method)) return false;
  if (op->attempts >= std::max(1, retry.max_attempts)) return false;
  auto now = Clock::now();
  std::string reason;
  if (outcome.ok()) {
    long s = outcome->status;
    if (s != 502 && s != 503 && s != 504) return false;
    reason = fmt::format("status {}", s);
  } else {
    ErrorCode c = outcome.error().code;
    if (c == ErrorCode::timeout) {
      if (op->deadline.expired(now)) return false;  // only a connect timeout with time left
    } else if (c != ErrorCode::connection) {
      return false;
    }
    reason = outcome.error().message;
  }
  // Full jitter: uniform in [0, min(max, initial * 2^retries)].
  int retries_made = op->attempts - 1;
  double cap_ms = std::min<double>(
      static_cast<double>(retry.backoff_max.count()),
      std::ldexp(static_cast<double>(retry.backoff_initial.count()), std::min(retries_made, 30)));
  cap_ms = std::max(0.0, cap_ms);
  std::uniform_real_distribution<double> jitter(0.0, cap_ms);
  auto delay = Milliseconds(static_cast<long long>(std::llround(jitter(rng_))));
  if (op->deadline.is_set() && now + delay >= op->deadline.when()) {
    logger_.log(
        LogLevel::debug, "http.retry_skipped",
        {{"url", op->log_url}, {"reason", "deadline"}, {"attempt", std::to_string(op->attempts)}});
    return false;
  }
  if (!budget_.try_withdraw(now)) {
    logger_.log(LogLevel::debug, "http.retry_budget_exhausted",
                {{"url", op->log_url}, {"attempt", std::to_string(op->attempts)}});
    return false;
  }
  logger_.log(LogLevel::debug, "http.retry",
              {{"url", op->log_url},
               {"attempt", std::to_string(op->attempts + 1)},
               {"delay_ms", std::to_string(delay.count())},
               {"reason", reason}});
  op->last.emplace(std::move(outcome));
  HttpOp* raw = op.get();
  op->retry_timer = loop_.add_timer(now + delay, [this, raw] {
    auto it = backing_off_.find(raw);
    if (it == backing_off_.end()) return;
    HttpOpPtr op = std::move(it->second);
    backing_off_.erase(it);
    counters_.backing_off.store(backing_off_.size(), std::memory_order_relaxed);
    op->retry_timer = 0;
    start_attempt(op);
  });
  backing_off_.emplace(raw, op);
  counters_.backing_off.store(backing_off_.size(), std::memory_order_relaxed);
  return true;
}

Error HttpClient::transfer_error(const HttpOp& op, CURLcode code) const {
  std::string detail(trim(op.error_buffer));
  if (detail.empty()) detail = curl_easy_strerror(code);
  std::string suffix = op.attempts > 1 ? fmt::format(" (after {} attempts)", op.attempts) : "";
  auto elapsed = std::chrono::duration_cast<Milliseconds>(Clock::now() - op.started).count();
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Error{ErrorCode::timeout, fmt::format("{} {} timed out after {} ms: {}{}", op.method,
                                                   op.log_url, elapsed, detail, suffix)};
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:        // the server closed the connection without answering
    case CURLE_PARTIAL_FILE:       // ... or in the middle of the body
    case CURLE_SSL_CONNECT_ERROR:  // the TLS handshake broke off
      return Error{ErrorCode::connection,
                   fmt::format("{} {} failed: {}{}", op.method, op.log_url, detail, suffix)};
    case CURLE_TOO_MANY_REDIRECTS:
      return Error{ErrorCode::http,
                   fmt::format("{} {}: too many redirects (more than {}): {}{}", op.method,
                               op.log_url, options_.max_redirects, detail, suffix)};
    case CURLE_WRITE_ERROR:
      if (op.body_too_large)
        return Error{ErrorCode::http,
                     fmt::format("{} {}: response body exceeds {} bytes{}", op.method, op.log_url,
                                 options_.max_response_bytes, suffix)};
      [[fallthrough]];
    default:
      return Error{ErrorCode::http, fmt::format("{} {} failed: {} ({}){}", op.method, op.log_url,
                                                detail, curl_easy_strerror(code), suffix)};
  }
}

void HttpClient::complete(const HttpOpPtr& op, Result<HttpResponse> result) {
  if (op->completed) return;
  op->completed = true;
  op->last.reset();
  if (result.ok()) {
    result->elapsed = std::chrono::duration_cast<Milliseconds>(Clock::now() - op->started);
    result->attempts = std::max(1, op->attempts);
  }
  if (metrics_)
    metrics_->http_done(result.ok() ? result->status : 0, result.ok(), Clock::now() - op->started);
  op->promise.set(std::move(result));  // runs continuations inline
}

void HttpClient::detach(HttpOp& op) {
  if (op.deadline_timer) {
    loop_.cancel_timer(op.deadline_timer);
    op.deadline_timer = 0;
  }
  if (op.easy) {
    CURL* easy = op.easy;
    op.easy = nullptr;
    if (multi_) curl_multi_remove_handle(multi_, easy);
    release_easy(easy);
    breakers_.on_abandon(op.host_key, op.probe);
    op.probe = false;
    active_.erase(easy);  // may drop a reference to `op`: callers hold their own
    counters_.active.store(active_.size(), std::memory_order_relaxed);
  }
  if (op.retry_timer) {
    loop_.cancel_timer(op.retry_timer);
    op.retry_timer = 0;
    backing_off_.erase(&op);
    counters_.backing_off.store(backing_off_.size(), std::memory_order_relaxed);
  }
}

void HttpClient::abort(const HttpOpPtr& op_ref, ErrorCode code, std::string message) {
  if (!op_ref || op_ref->completed) return;
  HttpOpPtr op = op_ref;  // op_ref may point into one of our tables
  detach(*op);
  complete(op, Error{code, std::move(message)});
}

void HttpClient::shutdown() {
  if (shut_down_) return;  // also when a continuation below calls it again
  shut_down_ = true;
  // Completing runs continuations, which may abort other ops: take one at a time.
  while (!backing_off_.empty()) {
    HttpOpPtr op = backing_off_.begin()->second;
    detach(*op);
    complete(op, Error{ErrorCode::cancelled, "HTTP client shut down"});
  }
  while (!active_.empty()) {
    HttpOpPtr op = active_.begin()->second;
    detach(*op);
    complete(op, Error{ErrorCode::cancelled, "HTTP client shut down"});
  }
  if (curl_timer_) loop_.cancel_timer(curl_timer_);
  curl_timer_ = 0;
  // Unwatch while the fds are still open and ours (once closed, another component could reuse
  // the numbers), then let curl close its connections without calling us back.
  for (const auto& [fd, events] : sockets_) loop_.unwatch(fd);
  sockets_.clear();
  cleaning_up_ = true;
  for (CURL* e : free_easy_) curl_easy_cleanup(e);
  free_easy_.clear();
  CURLM* multi = multi_;
  multi_ = nullptr;
  if (multi) curl_multi_cleanup(multi);
}

// ---- easy handles -------------------------------------------------------------------------------

CURL* HttpClient::acquire_easy() {
  if (!free_easy_.empty()) {
    CURL* e = free_easy_.back();
    free_easy_.pop_back();
    return e;
  }
  return curl_easy_init();
}

void HttpClient::release_easy(CURL* easy) {
  if (!shut_down_ && free_easy_.size() < kMaxFreeEasyHandles) {
    curl_easy_reset(easy);  // drops every option (and pointer into the op) it carried
    free_easy_.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
}

}  // namespace enrich::http
