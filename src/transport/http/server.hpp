#pragma once
// An HTTP/1.1 server (Beast) feeding a pipeline. One coroutine per
// connection, on its own strand; keep-alive; every wait has a deadline:
// a complete header within `header_timeout`, a body within `body_timeout`,
// the next request on an idle connection within `idle_timeout`.
// A body over `max_body_bytes` gets 413 as soon as its Content-Length shows
// it; the rest is read and discarded (up to `discard_limit` bytes or 2 s) so
// that a client that sends its whole body first still reads the 413.
//
// Connections are spread over the contexts of the io_pool, one context each
// for their whole life.
//
// Lifetime: the server, the pipeline, the upgrade handler and the io_pool must
// outlive every session; stop() closes the listener and returns at once.

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "net/io_pool.hpp"
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

using beast_request = boost::beast::http::request<boost::beast::http::string_body>;

// Takes over connections whose request asks for a WebSocket upgrade. Runs as
// its own coroutine on the connection's context: the HTTP connection's state
// (its read buffer, parser, coroutine frame) is gone by then, so a
// long-lived socket keeps none of it. The handler owns the stream and answers
// a refusal (HTTP) itself. `parsed` is the same request as given to pipelines
// (path, query, authorization...). Must not throw.
class upgrade_handler {
 public:
  virtual ~upgrade_handler() = default;
  virtual task<void> upgrade(boost::beast::tcp_stream stream, beast_request req, request parsed) = 0;
};

class server {
 public:
  // `upgrades` may be null: upgrade requests are then answered by the pipeline
  // like any other request.
  server(net::io_pool& pool, server_settings s, const pipeline& p, upgrade_handler* upgrades = nullptr);
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
