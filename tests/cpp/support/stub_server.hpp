#pragma once
// The analytics stub (examples/stub, built as enrich-analytics-stub) as a child process of a test:
// started on a free port, switched between modes through its control endpoint, killed at the
// end. Its path comes from the build (ENRICH_ANALYTICS_STUB).

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifndef ENRICH_ANALYTICS_STUB
#error "ENRICH_ANALYTICS_STUB (path of enrich-analytics-stub) must be defined by the build"
#endif

extern char** environ;

namespace enrich::test {

using namespace std::chrono_literals;

inline std::size_t stub_collect(char* data, std::size_t size, std::size_t n, void* userp) {
  static_cast<std::string*>(userp)->append(data, size * n);
  return size * n;
}

/// Extracts "key":<integer> from a flat JSON object; -1 if missing.
inline long long json_int(const std::string& json, const std::string& key) {
  auto pos = json.find("\"" + key + "\":");
  if (pos == std::string::npos) return -1;
  return std::atoll(json.c_str() + pos + key.size() + 3);
}

class StubServer {
 public:
  ~StubServer() { stop(); }

  /// Spawns the stub on port 0 and reads `LISTENING <port>` from its stdout.
  ::testing::AssertionResult start() {
    static std::once_flag curl_once;
    std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return ::testing::AssertionFailure() << "pipe2 failed";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    const char* path = ENRICH_ANALYTICS_STUB;
    std::vector<char*> argv = {const_cast<char*>(path), const_cast<char*>("--port"),
                               const_cast<char*>("0"), nullptr};
    int rc = posix_spawn(&pid_, path, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      pid_ = -1;
      return ::testing::AssertionFailure() << "could not start " << path << ": " << rc;
    }
    std::string line;
    auto until = std::chrono::steady_clock::now() + 10s;
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < until) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[128];
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    if (line.rfind("LISTENING ", 0) != 0)
      return ::testing::AssertionFailure() << "stub did not report its port: '" << line << "'";
    port_ = std::atoi(line.c_str() + 10);
    return ::testing::AssertionSuccess();
  }

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path) const { return base() + path; }

  /// A blocking request with its own curl easy handle (independent of the code under test).
  std::string call(const std::string& method, const std::string& path) const {
    std::string body;
    CURL* e = curl_easy_init();
    std::string u = url(path);
    curl_easy_setopt(e, CURLOPT_URL, u.c_str());
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST") curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &stub_collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    EXPECT_EQ(rc, CURLE_OK) << method << " " << path << ": " << curl_easy_strerror(rc);
    return body;
  }
  void control(const std::string& query) const {
    std::string r = call("POST", "/__control?" + query);
    EXPECT_NE(r.find("\"ok\":true"), std::string::npos) << query << " -> " << r;
  }
  long long stat(const std::string& key) const { return json_int(call("GET", "/__stats"), key); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

/// A port on which nothing listens.
inline int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace enrich::test
