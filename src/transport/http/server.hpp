#pragma once
// An HTTP/1.1 server (Beast) feeding a pipeline. One coroutine per
// connection, on its own strand; keep-alive; every wait has a deadline:
// a complete header within `header_timeout`, a body within `body_timeout`,
// the next request on an idle connection within `idle_timeout`.
// A body over `max_body_bytes` gets 413 as soon as its Content-Length shows
// it; the rest is read and discarded (up to `discard_limit` bytes or 2 s) so
// that a client that sends its whole body first still reads the 413.
//
// Lifetime: the server, the pipeline and the io_context must outlive every
// session; stop() closes the listener and returns at once.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "transport/http/pipeline.hpp"

namespace sl::http {

struct server_settings {
  std::string host = "0.0.0.0";
  unsigned short port = 8000;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t discard_limit = 8 << 20;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
};

class server {
 public:
  server(boost::asio::io_context& ctx, server_settings s, const pipeline& p);
  ~server();

  // Binds and starts accepting; throws if the address is taken.
  void start();
  void stop();
  // The bound port (useful when the configured one was 0).
  unsigned short port() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sl::http
