#include "loops.hpp"

#include <boost/asio/post.hpp>

namespace sl::bench {

namespace asio = boost::asio;

loops::loops(unsigned n) {
  for (unsigned i = 0; i < std::max(1u, n); ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
  for (auto& c : contexts_) threads_.emplace_back([ctx = c.get()] { ctx->run(); });
}

loops::~loops() {
  guards_.clear();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) t.join();
}

void loops::for_each(std::size_t n, int concurrency, const std::function<task<void>(std::size_t)>& fn) {
  const auto k = size();
  const auto per_context = std::max<std::size_t>(1, (static_cast<std::size_t>(std::max(1, concurrency)) + k - 1) / k);
  // Context c serves indices c, c + k, c + 2k...; its workers share a cursor
  // touched only on its thread.
  std::vector<std::size_t> cursor(k, 0);
  std::vector<std::future<void>> done;
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t w = 0; w < per_context; ++w)
      done.push_back(asio::co_spawn(
          at(c),
          [&, c]() -> task<void> {
            for (;;) {
              const auto i = c + k * cursor[c]++;
              if (i >= n) co_return;
              co_await fn(i);
            }
          },
          asio::use_future));
  std::exception_ptr failure;
  for (auto& f : done) try {
      f.get();
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  if (failure) std::rethrow_exception(failure);
}

std::vector<std::future<void>> loops::spawn_each(std::size_t n, const std::function<task<void>(std::size_t)>& fn) {
  // The coroutines outlive this call: they keep the function alive.
  auto shared = std::make_shared<std::function<task<void>(std::size_t)>>(fn);
  std::vector<std::future<void>> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(asio::co_spawn(
        at(i), [shared, i]() -> task<void> { co_await (*shared)(i); }, asio::use_future));
  return out;
}

void loops::apply(std::size_t n, const std::function<void(std::size_t)>& fn) {
  std::vector<std::promise<void>> done(size());
  for (std::size_t c = 0; c < size(); ++c)
    asio::post(at(c), [&, c] {
      for (std::size_t i = c; i < n; i += size()) fn(i);
      done[c].set_value();
    });
  for (auto& d : done) d.get_future().get();
}

void loops::on(std::size_t i, std::function<void()> f) {
  std::promise<void> p;
  asio::post(at(i), [&] {
    f();
    p.set_value();
  });
  p.get_future().get();
}

}  // namespace sl::bench
