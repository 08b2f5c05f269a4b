#pragma once
// A WebSocket client connection of the load generator (Beast), authenticated
// with a token in the query string like any client of contract.md section 3.
//
// Threads: one connection lives on one executor; at most one read and one
// write in flight at a time (Beast's rule). Failures throw
// boost::system::system_error.

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "base/task.hpp"

namespace sl::bench {

// "ws://host:port/path" split into its parts.
struct ws_url {
  std::string host;
  std::string port;
  std::string path = "/ws";
  static ws_url parse(const std::string& url);
};

class ws_client {
 public:
  explicit ws_client(boost::asio::any_io_executor ex);
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  // Connects from `source` (an IPv4 address of this host; empty: any) and
  // upgrades with `?token=`. Throws when the upgrade is refused.
  task<void> connect(const ws_url& url, const std::string& token, const std::string& source = {});
  task<void> send(std::string_view text);
  // The next frame's text, valid until the next read.
  task<std::string_view> read();
  // Drops the TCP connection without a close handshake (a crash, a lost network).
  void drop() noexcept;
  bool is_open() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sl::bench
