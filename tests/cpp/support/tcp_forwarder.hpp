#pragma once
// A TCP forwarder on 127.0.0.1 for tests: a server that can be taken away and brought back
// without touching the real one (the shared replica of scripts/pg). `up()` listens on a fixed
// port and forwards each connection to `target_port`; `down()` closes the listener and every
// forwarded connection, as a crashed server or a dropped network would.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace enrich::test {

class TcpForwarder {
 public:
  /// Forwards `port` (0: pick a free one, fixed from then on) to 127.0.0.1:`target_port`.
  TcpForwarder(int target_port, int port = 0) : target_port_(target_port), port_(port) {}
  ~TcpForwarder() { down(); }
  TcpForwarder(const TcpForwarder&) = delete;
  TcpForwarder& operator=(const TcpForwarder&) = delete;

  int port() const { return port_; }

  /// Starts listening (on the same port as before, if it was up once). False if it cannot bind.
  bool up() {
    down();
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr = loopback(port_);
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd, 64) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      return false;
    }
    port_ = ntohs(addr.sin_port);
    listener_ = fd;
    stop_ = false;
    thread_ = std::thread([this] { run(); });
    return true;
  }

  /// Closes the listener and every forwarded connection.
  void down() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    ::close(listener_);
    listener_ = -1;
    for (auto& [a, b] : pairs_) {
      ::shutdown(a, SHUT_RDWR);
      ::close(a);
      ::close(b);
    }
    pairs_.clear();
  }

  std::size_t connections_accepted() const { return accepted_.load(); }

 private:
  static sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    return addr;
  }

  void run() {
    std::vector<char> buf(64 * 1024);
    while (!stop_) {
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (auto& [a, b] : pairs_) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      // Only the pairs that were polled (an accepted one joins them on the next turn).
      std::size_t polled = pairs_.size();
      std::vector<std::size_t> dead;
      for (std::size_t i = 0; i < polled; ++i) {
        auto [a, b] = pairs_[i];
        for (int side = 0; side < 2; ++side) {
          const pollfd& p = fds[1 + 2 * i + static_cast<std::size_t>(side)];
          if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
          int from = side == 0 ? a : b, to = side == 0 ? b : a;
          ssize_t n = ::recv(from, buf.data(), buf.size(), 0);
          if (n <= 0 || !send_all(to, buf.data(), static_cast<std::size_t>(n))) {
            dead.push_back(i);
            break;
          }
        }
      }
      for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
        ::close(pairs_[*it].first);
        ::close(pairs_[*it].second);
        pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(*it));
      }
      if (fds[0].revents & POLLIN) accept_one();
    }
  }

  void accept_one() {
    int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) return;
    int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = loopback(target_port_);
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(client);
      if (server >= 0) ::close(server);
      return;
    }
    ++accepted_;
    pairs_.emplace_back(client, server);
  }

  static bool send_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      data += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  int target_port_;
  int port_;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> accepted_{0};
  std::thread thread_;
  std::vector<std::pair<int, int>> pairs_;  // (client, server); forwarding thread only
};

}  // namespace enrich::test
