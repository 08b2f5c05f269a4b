#include "ws_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace sl::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

ws_url ws_url::parse(const std::string& url) {
  auto rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  ws_url u;
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    u.path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  const auto colon = rest.rfind(':');
  u.host = colon == std::string::npos ? rest : rest.substr(0, colon);
  u.port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  return u;
}

struct ws_client::impl {
  explicit impl(asio::any_io_executor ex) : ws(std::move(ex)) {}
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buf;
};

ws_client::ws_client(asio::any_io_executor ex) : impl_(std::make_unique<impl>(std::move(ex))) {}
ws_client::~ws_client() = default;

task<void> ws_client::connect(const ws_url& url, const std::string& token, const std::string& source) {
  auto& m = *impl_;
  auto& sock = beast::get_lowest_layer(m.ws).socket();
  const tcp::endpoint server(asio::ip::make_address(url.host == "localhost" ? "127.0.0.1" : url.host),
                             static_cast<unsigned short>(std::stoi(url.port)));
  sock.open(server.protocol());
  if (!source.empty()) sock.bind(tcp::endpoint(asio::ip::make_address(source), 0));
  beast::get_lowest_layer(m.ws).expires_after(std::chrono::seconds(30));
  co_await sock.async_connect(server, asio::use_awaitable);
  sock.set_option(tcp::no_delay(true));
  co_await m.ws.async_handshake(url.host + ":" + url.port, url.path + "?token=" + token, asio::use_awaitable);
  beast::get_lowest_layer(m.ws).expires_never();
  // The server pings idle sockets; Beast answers them while a read is pending.
  m.ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(30), websocket::stream_base::none(), false});
  m.ws.text(true);
}

task<void> ws_client::send(std::string_view text) {
  co_await impl_->ws.async_write(asio::buffer(text.data(), text.size()), asio::use_awaitable);
}

task<std::string_view> ws_client::read() {
  auto& m = *impl_;
  m.buf.clear();
  co_await m.ws.async_read(m.buf, asio::use_awaitable);
  const auto d = m.buf.cdata();
  co_return std::string_view(static_cast<const char*>(d.data()), d.size());
}

void ws_client::drop() noexcept {
  beast::error_code ignored;
  auto& sock = beast::get_lowest_layer(impl_->ws).socket();
  sock.set_option(asio::socket_base::linger(true, 0), ignored);  // RST: no lingering close
  sock.close(ignored);
}

bool ws_client::is_open() const noexcept { return impl_->ws.is_open(); }

}  // namespace sl::bench
