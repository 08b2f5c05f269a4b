#include "transport/http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

#include "base/log.hpp"
#include "net/traced_executor.hpp"
#include "transport/http/replies.hpp"

namespace sl::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Fills the handler-facing request from Beast's; false when the target is not
// a valid origin-form URL.
bool translate(const bhttp::request<bhttp::string_body>& in, request& out) {
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  auto url = boost::urls::parse_origin_form(in.target());
  if (!url) return false;
  out.path = url->path();
  if (out.path.empty()) out.path = "/";
  for (auto p : url->params()) out.query.emplace_back(p.key, p.value);
  out.body = in.body();
  auto header = [&](auto field) {
    auto it = in.find(field);
    return it == in.end() ? std::string() : std::string(it->value());
  };
  out.authorization = header(bhttp::field::authorization);
  out.content_type = header(bhttp::field::content_type);
  out.origin = header(bhttp::field::origin);
  out.user_agent = header(bhttp::field::user_agent);
  out.if_none_match = header(bhttp::field::if_none_match);
  out.accept_encoding = header(bhttp::field::accept_encoding);
  out.request_id = std::string(in["X-Request-ID"]);
  out.traceparent = std::string(in["traceparent"]);
  out.via_proxy =
      in.count(bhttp::field::forwarded) != 0 || in.count("X-Forwarded-For") != 0 || in.count("X-Real-IP") != 0;
  return true;
}

bhttp::response<bhttp::string_body> to_beast(response&& r, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(r.status), version};
  out.set(bhttp::field::server, "signalink");
  if (!r.content_type.empty()) out.set(bhttp::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) out.insert(k, v);
  out.body() = std::move(r.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

}  // namespace

struct server::impl {
  net::io_pool& pool;
  server_settings s;
  const pipeline& pipe;
  upgrade_handler* upgrades;
  tcp::acceptor acceptor;

  impl(net::io_pool& io, server_settings st, const pipeline& p, upgrade_handler* u)
      : pool(io), s(std::move(st)), pipe(p), upgrades(u), acceptor(io.context()) {}

  task<void> accept_loop();
  task<void> session(tcp::socket socket);
  task<void> reject_oversized(beast::tcp_stream& stream, beast::flat_buffer& buf, unsigned version,
                              std::string request_id);
};

task<void> server::impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(pool.next(), use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: keep serving the connections we have.
      log::warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await t.async_wait(use_tuple);
      continue;
    }
    socket.set_option(tcp::no_delay(true));
    // Traced: each request's span (begun by the pipeline) stays current
    // across the connection coroutine's co_awaits.
    auto ex = net::traced(socket.get_executor());
    asio::co_spawn(ex, session(std::move(socket)), [](const std::exception_ptr& ep) {
      if (ep) log::error("http session failed", {{"error", log::describe(ep)}});
    });
  }
}

task<void> server::impl::reject_oversized(beast::tcp_stream& stream, beast::flat_buffer& buf, unsigned version,
                                          std::string request_id) {
  request req;
  req.request_id = std::move(request_id);
  auto res = detail(413, "Request body too large");
  res.header("X-Request-ID", req.request_id.empty() ? "-" : req.request_id);
  auto out = to_beast(std::move(res), version, false);
  stream.expires_after(std::chrono::seconds(2));
  co_await bhttp::async_write(stream, out, use_tuple);
  // Drain what the client is still sending, so closing does not reset the
  // connection before it reads our answer.
  std::size_t drained = buf.size();
  buf.consume(buf.size());
  while (drained < s.discard_limit) {
    auto [ec, n] = co_await stream.async_read_some(buf.prepare(std::size_t{64} * 1024), use_tuple);
    if (ec) break;
    buf.consume(n);
    drained += n;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

task<void> server::impl::session(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buf;
  std::string peer;
  {
    beast::error_code ec;
    auto ep = stream.socket().remote_endpoint(ec);
    if (!ec) peer = ep.address().to_string();
  }
  bool first = true;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);
    // Beast would refuse an oversized Content-Length while parsing the header,
    // with no way left to answer; the limit is checked below instead.
    parser.body_limit(boost::none);
    stream.expires_after(first ? s.header_timeout : s.idle_timeout);
    first = false;
    auto [ec, n] = co_await bhttp::async_read_header(stream, buf, parser, use_tuple);
    if (ec) break;  // closed, timed out or garbage: nothing useful to answer
    const auto& hdr = parser.get();
    const unsigned version = hdr.version();
    if (auto len = parser.content_length(); len && *len > s.max_body_bytes) {
      co_await reject_oversized(stream, buf, version, std::string(hdr["X-Request-ID"]));
      co_return;
    }
    parser.body_limit(s.max_body_bytes);
    if (hdr[bhttp::field::expect] == "100-continue") {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
      co_await bhttp::async_write(stream, cont, use_tuple);
    }
    stream.expires_after(s.body_timeout);
    if (!parser.is_done()) {
      auto [bec, bn] = co_await bhttp::async_read(stream, buf, parser, use_tuple);
      if (bec == bhttp::error::body_limit) {
        co_await reject_oversized(stream, buf, version, std::string(hdr["X-Request-ID"]));
        co_return;
      }
      if (bec) break;
    }
    auto in = parser.release();
    const bool keep_alive = in.keep_alive();
    request req;
    response res;
    if (upgrades && beast::websocket::is_upgrade(in) && translate(in, req)) {
      req.client_address = peer;
      stream.expires_never();
      // Spawned, not awaited: this frame and its buffers go now.
      auto ex = net::traced(stream.get_executor());
      asio::co_spawn(ex, upgrades->upgrade(std::move(stream), std::move(in), std::move(req)),
                     [](const std::exception_ptr& ep) {
                       if (ep) log::error("websocket upgrade failed", {{"error", log::describe(ep)}});
                     });
      co_return;
    }
    if (!translate(in, req)) {
      res = detail(400, "Invalid request target");
    } else {
      req.client_address = peer;
      res = co_await pipe.handle(req);
    }
    const bool head = in.method() == bhttp::verb::head;
    auto out = to_beast(std::move(res), version, keep_alive);
    if (head) out.body().clear();
    stream.expires_after(s.body_timeout);
    auto [wec, wn] = co_await bhttp::async_write(stream, out, use_tuple);
    if (wec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

server::server(net::io_pool& pool, server_settings s, const pipeline& p, upgrade_handler* upgrades)
    : impl_(std::make_unique<impl>(pool, std::move(s), p, upgrades)) {}

server::~server() { stop(); }

void server::start() {
  auto& a = impl_->acceptor;
  const tcp::endpoint ep(asio::ip::make_address(impl_->s.host), impl_->s.port);
  a.open(ep.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(ep);
  a.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(a.get_executor(), impl_->accept_loop(), asio::detached);
}

void server::stop() {
  if (!impl_) return;
  asio::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
}

unsigned short server::port() const noexcept {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace sl::http
