#include "fixture.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "base/random.hpp"

namespace sl::bench {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

std::string field(const std::string& body, const char* name) {
  return std::string(json::parse(body).as_object().at(name).as_string());
}

void expect(const http_reply& r, int status, const char* what) {
  if (r.status != status)
    throw std::runtime_error(std::string(what) + " failed: HTTP " + std::to_string(r.status) + " " + r.body);
}

}  // namespace

task<void> fixture::parallel(std::size_t n, std::function<task<void>(http_client&, std::size_t)> fn) {
  auto ex = co_await asio::this_coro::executor;
  std::size_t next = 0;
  std::exception_ptr failure;
  std::size_t running = 0;
  asio::steady_timer done(ex, asio::steady_timer::time_point::max());
  const auto workers = std::min<std::size_t>(n, static_cast<std::size_t>(std::max(1, concurrency_)));
  for (std::size_t w = 0; w < workers; ++w) {
    ++running;
    asio::co_spawn(
        ex,
        [&]() -> task<void> {
          http_client http(ex, api_);
          while (next < n && !failure) co_await fn(http, next++);
        },
        [&](const std::exception_ptr& e) {
          if (e && !failure) failure = e;
          if (--running == 0) done.cancel();
        });
  }
  if (running) {
    boost::system::error_code ec;
    co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (failure) std::rethrow_exception(failure);
}

task<std::vector<bench_user>> fixture::users(int n) {
  if (tag_.empty()) tag_ = random_hex(4);
  std::vector<bench_user> out(static_cast<std::size_t>(n));
  const auto first = next_user_;
  next_user_ += out.size();
  co_await parallel(out.size(), [&](http_client& http, std::size_t i) -> task<void> {
    const auto name = "b" + tag_ + "_" + std::to_string(first + i);
    json::object reg{{"username", name}, {"email", name + "@bench.test"}, {"password", "benchpass123"}};
    auto r = co_await http.request("POST", "/api/v1/users/register", json::serialize(reg));
    expect(r, 201, "register");
    out[i].id = field(r.body, "id");
    auto l = co_await http.request("POST", "/api/v1/users/login",
                                   json::serialize(json::object{{"username", name}, {"password", "benchpass123"}}));
    expect(l, 200, "login");
    out[i].token = field(l.body, "access_token");
  });
  co_return out;
}

task<std::vector<std::string>> fixture::channels(const std::vector<bench_user>& owners, int n) {
  if (tag_.empty()) tag_ = random_hex(4);
  std::vector<std::string> out(static_cast<std::size_t>(n));
  co_await parallel(out.size(), [&](http_client& http, std::size_t i) -> task<void> {
    json::object ch{{"name", "bench-" + tag_ + "-" + std::to_string(i)}};
    auto r = co_await http.request("POST", "/api/v1/channels/", json::serialize(ch), owners[i % owners.size()].token);
    expect(r, 201, "create channel");
    out[i] = field(r.body, "id");
  });
  co_return out;
}

task<void> fixture::join(const std::vector<const bench_user*>& users, const std::vector<std::string>& channels) {
  co_await parallel(users.size(), [&](http_client& http, std::size_t i) -> task<void> {
    auto r = co_await http.request("POST", "/api/v1/channels/" + channels[i] + "/join", "", users[i]->token);
    expect(r, 201, "join");
  });
}

}  // namespace sl::bench
