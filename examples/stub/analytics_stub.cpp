// enrich-analytics-stub: a small, fast HTTP/1.1 server standing in for an "analytics" service in
// tests, the demo and benchmarks. One thread, epoll, non-blocking sockets, keep-alive and
// pipelining, timers for slow answers (a slow answer never blocks other connections).
//
//   GET  /users/{id}/summary  200 JSON, deterministic per id:
//        {"userId":42,"pageViews":123,"sessions":7,"lastSeen":"2026-03-01T10:20:30Z",
//         "segments":["returning","mobile"],"score":0.73}
//   POST /echo                200 with the request body (also PUT, PATCH, DELETE, GET); headers
//                             X-Echo-Method, X-Echo-Length and X-Echo-Test (the request's X-Test)
//   GET  /echo-path/...       200 {"path":"<request path as received>","query":"<raw query>"}
//   GET  /health              200 {"status":"ok"}
//   GET  /__stats             request counters as JSON, and the W3C trace context (traceparent,
//                             tracestate) of the last request that carried one
//   POST /__control?mode=M&delay_ms=N&flaky=N&reset=1   switch behaviour at run time:
//        healthy   answer normally
//        slow      answer after delay_ms (default 1000)
//        hang      never answer; keep the connection open
//        error     500 with a JSON body
//        garbage   200 whose body is not JSON
//        redirect  302 to the same URL (a redirect loop)
//        big       200 with a 20 MB body
//        close     close the connection without answering
//        flaky=N   the next N requests get 503 (whatever the mode), then the mode applies
//        reset=1   zero the counters
// Modes apply to every route except /__control and /__stats.
//
// Usage: enrich-analytics-stub [--port P] [--host 127.0.0.1] [--mode M] [--delay-ms N]
// The first line on stdout is `LISTENING <port>` (with --port 0 a free port is picked).
// SIGTERM / SIGINT end it cleanly.

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxBodyBytes = 32 * 1024 * 1024;
constexpr std::size_t kBigBodyBytes = 20 * 1024 * 1024;

enum class Mode { healthy, slow, hang, error, garbage, redirect, big, close };

constexpr std::string_view kModeNames[] = {"healthy", "slow",     "hang", "error",
                                           "garbage", "redirect", "big",  "close"};

std::string_view mode_name(Mode m) {
  return kModeNames[static_cast<int>(m)];
}

std::optional<Mode> parse_mode(std::string_view s) {
  for (std::size_t i = 0; i < std::size(kModeNames); ++i)
    if (kModeNames[i] == s) return static_cast<Mode>(i);
  return std::nullopt;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string summary_json(std::uint64_t id) {
  static constexpr const char* kSegments[] = {"new",     "returning",  "power_user", "mobile",
                                              "desktop", "churn_risk", "high_value", "newsletter"};
  std::uint64_t h = splitmix64(id);
  std::uint64_t page_views = 100 + h % 50000;
  std::uint64_t sessions = 1 + (h >> 16) % 2000;
  std::time_t last_seen = 1767225600 + static_cast<std::time_t>((h >> 24) % (180ULL * 86400));
  std::tm tm{};
  gmtime_r(&last_seen, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string segments;
  int count = 1 + static_cast<int>((h >> 44) % 3);
  std::uint64_t first = (h >> 48) % 8, step = 1 + 2 * ((h >> 52) % 4);  // odd step: distinct
  for (int i = 0; i < count; ++i) {
    if (i) segments += ',';
    segments +=
        fmt::format("\"{}\"", kSegments[(first + step * static_cast<std::uint64_t>(i)) % 8]);
  }
  return fmt::format(
      "{{\"userId\":{},\"pageViews\":{},\"sessions\":{},\"lastSeen\":\"{}\",\"segments\":[{}],"
      "\"score\":{:.2f}}}",
      id, page_views, sessions, when, segments, static_cast<double>((h >> 40) % 100) / 100.0);
}

struct Request {
  std::string method;
  std::string target;  // path + query
  std::string path;
  std::string query;
  std::string body;
  std::string content_type;
  std::string x_test;
  std::string traceparent, tracestate;
  bool keep_alive = true;
};

/// A piece of output: owned bytes, or a shared immutable buffer (the big body).
struct Chunk {
  std::string own;
  std::shared_ptr<const std::string> shared;
  std::size_t offset = 0;
  const char* data() const { return (shared ? shared->data() : own.data()) + offset; }
  std::size_t size() const { return (shared ? shared->size() : own.size()) - offset; }
};

struct Conn {
  int fd = -1;
  std::uint64_t serial = 0;
  std::string in;
  std::deque<Chunk> out;
  std::optional<Request> deferred;  // slow mode: answered when its timer fires
  bool blocked = false;             // slow/hang: later requests wait behind this one
  bool close_after_write = false;
  bool watching_out = false;
};

struct Timer {
  Clock::time_point when;
  int fd;
  std::uint64_t serial;
  bool operator>(const Timer& o) const { return when > o.when; }
};

struct Stats {
  std::uint64_t requests = 0, summary = 0, echo = 0, not_found = 0, bad_request = 0;
  std::uint64_t served_ok = 0, served_error = 0, served_flaky = 0, hung = 0, closed_by_mode = 0,
                redirects = 0;
  std::uint64_t connections_accepted = 0;
  std::string last_traceparent, last_tracestate;  // of the last request that had a traceparent
};

class Server {
 public:
  int run(const std::string& host, int port, Mode mode, int delay_ms);

 private:
  void accept_all();
  void on_conn_event(int fd, std::uint32_t events);
  void process(Conn& c);
  bool parse_one(Conn& c, std::size_t& consumed, Request& req, bool& fatal);
  void handle(Conn& c, Request req);
  void route(Conn& c, const Request& req);
  void control(Conn& c, const Request& req);
  void respond(Conn& c, const Request& req, int status, std::string_view reason,
               std::string_view content_type, std::string body, std::string extra_headers = {},
               std::shared_ptr<const std::string> shared_body = nullptr);
  void flush(Conn& c);
  void close_conn(Conn& c);
  void run_timers();
  int next_timeout_ms() const;
  std::string stats_json() const;

  int epfd_ = -1;
  int listen_fd_ = -1;
  int signal_fd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;  // by fd
  std::size_t open_ = 0;
  std::uint64_t next_serial_ = 1;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  Mode mode_ = Mode::healthy;
  int delay_ms_ = 1000;
  std::uint64_t flaky_ = 0;
  Stats stats_;
  std::shared_ptr<const std::string> big_;
};

int Server::next_timeout_ms() const {
  if (timers_.empty()) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(timers_.top().when - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 60000));
}

int Server::run(const std::string& host, int port, Mode mode, int delay_ms) {
  mode_ = mode;
  delay_ms_ = delay_ms;
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    fmt::print(stderr, "analytics-stub: bad --host {}\n", host);
    return 2;
  }
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 4096) != 0) {
    fmt::print(stderr, "analytics-stub: cannot listen on {}:{}: {}\n", host, port,
               std::strerror(errno));
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("LISTENING %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.fd = signal_fd_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, signal_fd_, &ev);

  std::vector<epoll_event> events(512);
  bool running = true;
  while (running) {
    int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), next_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      fmt::print(stderr, "analytics-stub: epoll_wait: {}\n", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        accept_all();
      } else if (fd == signal_fd_) {
        running = false;
      } else {
        on_conn_event(fd, events[i].events);
      }
    }
    run_timers();
  }
  for (auto& c : conns_)
    if (c) close(c->fd);
  close(listen_fd_);
  close(signal_fd_);
  close(epfd_);
  return 0;
}

void Server::accept_all() {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or out of fds: try again on the next event
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(fd + 1024);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->serial = next_serial_++;
    conns_[fd] = std::move(c);
    ++open_;
    ++stats_.connections_accepted;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void Server::close_conn(Conn& c) {
  int fd = c.fd;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  conns_[fd].reset();  // destroys c
  --open_;
}

void Server::on_conn_event(int fd, std::uint32_t events) {
  if (static_cast<std::size_t>(fd) >= conns_.size() || !conns_[fd]) return;
  Conn& c = *conns_[fd];
  if (events & EPOLLOUT) {
    flush(c);
    if (!conns_[fd]) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    char buf[65536];
    bool eof = false;
    for (;;) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        c.in.append(buf, static_cast<std::size_t>(r));
        if (c.in.size() > kMaxHeaderBytes + kMaxBodyBytes) {
          eof = true;
          break;
        }
        continue;
      }
      if (r == 0)
        eof = true;
      else if (errno == EINTR)
        continue;
      else if (errno != EAGAIN && errno != EWOULDBLOCK)
        eof = true;
      break;
    }
    if (eof) {  // the peer is gone (or misbehaves): nothing more to answer
      close_conn(c);
      return;
    }
    process(c);
  }
}

bool Server::parse_one(Conn& c, std::size_t& consumed, Request& req, bool& fatal) {
  std::string_view in(c.in);
  in.remove_prefix(consumed);
  auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (in.size() > kMaxHeaderBytes) fatal = true;
    return false;
  }
  std::string_view head = in.substr(0, end);
  auto line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  auto sp1 = request_line.find(' ');
  auto sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    fatal = true;
    return false;
  }
  req.method = std::string(request_line.substr(0, sp1));
  req.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view version = request_line.substr(sp2 + 1);
  req.keep_alive = version == "HTTP/1.1";
  std::size_t content_length = 0;
  bool chunked = false;
  std::string_view rest =
      line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!rest.empty()) {
    auto eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      if (!parse_number(value, content_length)) {
        fatal = true;
        return false;
      }
    } else if (iequals(name, "transfer-encoding")) {
      chunked = !iequals(value, "identity");
    } else if (iequals(name, "connection")) {
      if (iequals(value, "close"))
        req.keep_alive = false;
      else if (iequals(value, "keep-alive"))
        req.keep_alive = true;
    } else if (iequals(name, "content-type")) {
      req.content_type = std::string(value);
    } else if (iequals(name, "x-test")) {
      req.x_test = std::string(value);
    } else if (iequals(name, "traceparent")) {
      req.traceparent = std::string(value);
    } else if (iequals(name, "tracestate")) {
      req.tracestate = std::string(value);
    }
  }
  if (chunked || content_length > kMaxBodyBytes) {  // not supported by this stub
    fatal = true;
    return false;
  }
  std::size_t total = end + 4 + content_length;
  if (in.size() < total) return false;
  req.body = std::string(in.substr(end + 4, content_length));
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? std::string() : req.target.substr(q + 1);
  consumed += total;
  return true;
}

void Server::process(Conn& c) {
  int fd = c.fd;
  std::uint64_t serial = c.serial;
  std::size_t consumed = 0;
  while (!c.blocked && !c.close_after_write) {
    Request req;
    bool fatal = false;
    if (!parse_one(c, consumed, req, fatal)) {
      if (fatal) {
        ++stats_.bad_request;
        Request r;
        r.keep_alive = false;
        respond(c, r, 400, "Bad Request", "application/json",
                R"({"error":"bad_request","message":"malformed or unsupported request"})");
      }
      break;
    }
    handle(c, std::move(req));
    if (!conns_[fd] || conns_[fd]->serial != serial) return;  // closed by the mode
  }
  c.in.erase(0, consumed);
  flush(c);
}

void Server::handle(Conn& c, Request req) {
  if (req.path == "/__control") {
    control(c, req);
    return;
  }
  if (req.path == "/__stats") {
    respond(c, req, 200, "OK", "application/json", stats_json());
    return;
  }
  ++stats_.requests;
  if (!req.traceparent.empty()) {
    stats_.last_traceparent = req.traceparent;
    stats_.last_tracestate = req.tracestate;
  }
  if (flaky_ > 0) {
    --flaky_;
    ++stats_.served_flaky;
    respond(c, req, 503, "Service Unavailable", "application/json",
            R"({"error":"unavailable","message":"stub is flaky"})");
    return;
  }
  switch (mode_) {
    case Mode::healthy:
      route(c, req);
      return;
    case Mode::slow:
      c.blocked = true;
      c.deferred = std::move(req);
      timers_.push(Timer{Clock::now() + std::chrono::milliseconds(delay_ms_), c.fd, c.serial});
      return;
    case Mode::hang:
      ++stats_.hung;
      c.blocked = true;  // never answered; the connection stays open until the peer leaves
      return;
    case Mode::error:
      ++stats_.served_error;
      respond(c, req, 500, "Internal Server Error", "application/json",
              R"({"error":"internal","message":"stub error mode"})");
      return;
    case Mode::garbage:
      ++stats_.served_ok;
      respond(c, req, 200, "OK", "application/json", "<html><body>this is not JSON {{{</body>");
      return;
    case Mode::redirect:
      ++stats_.redirects;
      respond(c, req, 302, "Found", "text/plain", "", fmt::format("Location: {}\r\n", req.target));
      return;
    case Mode::big: {
      if (!big_) {
        std::string body = "{\"padding\":\"";
        body.append(kBigBodyBytes - body.size() - 2, 'x');
        body += "\"}";
        big_ = std::make_shared<const std::string>(std::move(body));
      }
      ++stats_.served_ok;
      respond(c, req, 200, "OK", "application/json", {}, {}, big_);
      return;
    }
    case Mode::close: {
      ++stats_.closed_by_mode;
      int fd = c.fd;
      flush(c);  // answers to earlier pipelined requests, as far as they go (may close c)
      if (conns_[fd].get() == &c) close_conn(c);
      return;
    }
  }
}

// Targets arrive percent-encoded, but a raw quote, backslash or control byte must not break
// the JSON of /echo-path.
static std::string json_escape(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      out += fmt::format("\\u{:04x}", ch);
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

void Server::route(Conn& c, const Request& req) {
  std::string_view path(req.path);
  constexpr std::string_view kUsers = "/users/";
  constexpr std::string_view kSummary = "/summary";
  if (path.starts_with(kUsers) && path.ends_with(kSummary) &&
      path.size() > kUsers.size() + kSummary.size()) {
    if (req.method != "GET" && req.method != "HEAD") {
      respond(c, req, 405, "Method Not Allowed", "application/json",
              R"({"error":"method_not_allowed"})", "Allow: GET, HEAD\r\n");
      return;
    }
    std::string_view id_text =
        path.substr(kUsers.size(), path.size() - kUsers.size() - kSummary.size());
    std::uint64_t id = 0;
    if (!parse_number(id_text, id)) {
      ++stats_.bad_request;
      respond(c, req, 400, "Bad Request", "application/json",
              R"({"error":"bad_request","message":"user id must be a number"})");
      return;
    }
    ++stats_.summary;
    ++stats_.served_ok;
    respond(c, req, 200, "OK", "application/json", summary_json(id),
            fmt::format("X-User-Id: {}\r\n", id));
    return;
  }
  if (path == "/echo") {
    ++stats_.echo;
    ++stats_.served_ok;
    std::string extra =
        fmt::format("X-Echo-Method: {}\r\nX-Echo-Length: {}\r\n", req.method, req.body.size());
    if (!req.x_test.empty()) extra += fmt::format("X-Echo-Test: {}\r\n", req.x_test);
    respond(c, req, 200, "OK",
            req.content_type.empty() ? "application/octet-stream" : req.content_type, req.body,
            extra);
    return;
  }
  if (path.starts_with("/echo-path/")) {
    // The request target exactly as received, so tests can check how a client encoded a URL.
    ++stats_.echo;
    ++stats_.served_ok;
    respond(c, req, 200, "OK", "application/json",
            fmt::format(R"({{"path":"{}","query":"{}"}})", json_escape(req.path),
                        json_escape(req.query)));
    return;
  }
  if (path == "/health") {
    ++stats_.served_ok;
    respond(c, req, 200, "OK", "application/json", R"({"status":"ok"})");
    return;
  }
  ++stats_.not_found;
  respond(c, req, 404, "Not Found", "application/json", R"({"error":"not_found"})");
}

void Server::control(Conn& c, const Request& req) {
  std::string_view q(req.query);
  std::optional<Mode> mode;
  std::optional<int> delay;
  std::optional<std::uint64_t> flaky;
  bool reset = false;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    auto eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    bool ok = true;
    if (key == "mode") {
      mode = parse_mode(value);
      ok = mode.has_value();
    } else if (key == "delay_ms") {
      int d = 0;
      ok = parse_number(value, d) && d >= 0;
      delay = d;
    } else if (key == "flaky") {
      std::uint64_t n = 0;
      ok = parse_number(value, n);
      flaky = n;
    } else if (key == "reset") {
      reset = value != "0";
    } else {
      ok = false;
    }
    if (!ok) {
      respond(
          c, req, 400, "Bad Request", "application/json",
          fmt::format(R"({{"error":"bad_request","message":"bad control parameter '{}'"}})", key));
      return;
    }
  }
  if (mode) mode_ = *mode;
  if (delay) delay_ms_ = *delay;
  if (flaky) flaky_ = *flaky;
  if (reset) stats_ = Stats{};
  respond(c, req, 200, "OK", "application/json",
          fmt::format(R"({{"ok":true,"mode":"{}","delay_ms":{},"flaky":{}}})", mode_name(mode_),
                      delay_ms_, flaky_));
}

std::string Server::stats_json() const {
  const Stats& s = stats_;
  return fmt::format(
      R"({{"requests":{},"summary":{},"echo":{},"not_found":{},"bad_request":{},"served_ok":{},)"
      R"("served_error":{},"served_flaky":{},"hung":{},"closed_by_mode":{},"redirects":{},)"
      R"("connections_accepted":{},"connections_open":{},"mode":"{}","delay_ms":{},"flaky":{},)"
      R"("last_traceparent":"{}","last_tracestate":"{}"}})",
      s.requests, s.summary, s.echo, s.not_found, s.bad_request, s.served_ok, s.served_error,
      s.served_flaky, s.hung, s.closed_by_mode, s.redirects, s.connections_accepted, open_,
      mode_name(mode_), delay_ms_, flaky_, json_escape(s.last_traceparent),
      json_escape(s.last_tracestate));
}

void Server::respond(Conn& c, const Request& req, int status, std::string_view reason,
                     std::string_view content_type, std::string body, std::string extra_headers,
                     std::shared_ptr<const std::string> shared_body) {
  std::size_t length = shared_body ? shared_body->size() : body.size();
  bool head_only = req.method == "HEAD";
  if (!req.keep_alive) c.close_after_write = true;
  std::string head = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nX-Stub: "
      "enrich-analytics-stub\r\n{}{}\r\n",
      status, reason, content_type, length, extra_headers,
      req.keep_alive ? "" : "Connection: close\r\n");
  if (c.out.empty() || c.out.back().shared) c.out.emplace_back();
  c.out.back().own += head;
  if (head_only) return;
  if (shared_body) {
    Chunk chunk;
    chunk.shared = std::move(shared_body);
    c.out.push_back(std::move(chunk));
  } else {
    c.out.back().own += body;
  }
}

void Server::flush(Conn& c) {
  while (!c.out.empty()) {
    Chunk& chunk = c.out.front();
    if (chunk.size() == 0) {
      c.out.pop_front();
      continue;
    }
    ssize_t n = send(c.fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      close_conn(c);
      return;
    }
    chunk.offset += static_cast<std::size_t>(n);
  }
  bool want_out = !c.out.empty();
  if (!want_out && c.close_after_write) {
    close_conn(c);
    return;
  }
  if (want_out != c.watching_out) {
    c.watching_out = want_out;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0u);
    ev.data.fd = c.fd;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
  }
}

void Server::run_timers() {
  auto now = Clock::now();
  while (!timers_.empty() && timers_.top().when <= now) {
    Timer t = timers_.top();
    timers_.pop();
    if (static_cast<std::size_t>(t.fd) >= conns_.size() || !conns_[t.fd]) continue;
    Conn& c = *conns_[t.fd];
    if (c.serial != t.serial || !c.deferred) continue;
    Request req = std::move(*c.deferred);
    c.deferred.reset();
    c.blocked = false;
    route(c, req);
    process(c);  // requests that queued up behind the slow one; flushes
  }
}

int usage(const char* argv0) {
  fmt::print(stderr, "usage: {} [--port P] [--host 127.0.0.1] [--mode M] [--delay-ms N]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  Mode mode = Mode::healthy;
  int delay_ms = 1000;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--port") {
      if (!parse_number(value(), port) || port < 0 || port > 65535) return usage(argv[0]);
    } else if (arg == "--host") {
      host = std::string(value());
    } else if (arg == "--mode") {
      auto m = parse_mode(value());
      if (!m) return usage(argv[0]);
      mode = *m;
    } else if (arg == "--delay-ms") {
      if (!parse_number(value(), delay_ms) || delay_ms < 0) return usage(argv[0]);
    } else {
      return usage(argv[0]);
    }
  }
  return Server().run(host, port, mode, delay_ms);
}
