#include "http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sl::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

endpoint endpoint::parse(const std::string& url) {
  auto rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) return {rest, "80"};
  return {rest.substr(0, colon), rest.substr(colon + 1)};
}

struct http_client::impl {
  asio::any_io_executor ex;
  endpoint ep;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buf;

  task<void> connect() {
    asio::ip::tcp::resolver resolver(ex);
    auto results = co_await resolver.async_resolve(ep.host, ep.port, asio::use_awaitable);
    stream.emplace(ex);
    co_await stream->async_connect(results, asio::use_awaitable);
    stream->socket().set_option(asio::ip::tcp::no_delay(true));
    buf.clear();
  }
};

http_client::http_client(asio::any_io_executor ex, endpoint ep) : impl_(std::make_unique<impl>()) {
  impl_->ex = std::move(ex);
  impl_->ep = std::move(ep);
}

http_client::~http_client() = default;

task<http_reply> http_client::request(std::string method, std::string target, std::string body, std::string token) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, impl_->ep.host);
  req.set(bhttp::field::content_type, "application/json");
  if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
  req.body() = std::move(body);
  req.keep_alive(true);
  req.prepare_payload();
  for (int attempt = 0;; ++attempt) {
    try {
      if (!impl_->stream) co_await impl_->connect();
      impl_->stream->expires_after(std::chrono::seconds(30));
      co_await bhttp::async_write(*impl_->stream, req, asio::use_awaitable);
      bhttp::response<bhttp::string_body> res;
      co_await bhttp::async_read(*impl_->stream, impl_->buf, res, asio::use_awaitable);
      if (!res.keep_alive()) impl_->stream.reset();
      co_return http_reply{static_cast<int>(res.result_int()), std::move(res.body())};
    } catch (const boost::system::system_error&) {
      impl_->stream.reset();
      if (attempt >= 1) throw;
    }
  }
}

}  // namespace sl::bench
