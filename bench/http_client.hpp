#pragma once
// A keep-alive HTTP/1.1 client connection for the load generator (Beast).
// One coroutine uses one connection at a time; reconnects on demand.

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "base/task.hpp"

namespace sl::bench {

struct http_reply {
  int status = 0;
  std::string body;
};

// Splits "http://host:port" into host and port.
struct endpoint {
  std::string host;
  std::string port;
  static endpoint parse(const std::string& url);
};

class http_client {
 public:
  http_client(boost::asio::any_io_executor ex, endpoint ep);
  ~http_client();
  // Throws on network failure (after one reconnect attempt).
  task<http_reply> request(std::string method, std::string target, std::string body, std::string token = {});

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sl::bench
