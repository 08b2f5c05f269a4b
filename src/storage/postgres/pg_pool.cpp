#include "storage/postgres/pg_pool.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "storage/postgres/detail/metrics.hpp"

namespace sl::storage::postgres {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
constexpr auto idle = detail::pool_state::idle;
constexpr auto busy = detail::pool_state::busy;

pg_pool::lease& pg_pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::move(other.pool_);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

pg_pool::lease::~lease() { release(); }

void pg_pool::lease::release() noexcept {
  if (!conn_) return;
  auto pool = std::move(pool_);
  asio::post(pool->strand_, [pool, conn = std::move(conn_)]() mutable { pool->give_back(std::move(conn)); });
}

std::shared_ptr<pg_pool> pg_pool::create(const asio::any_io_executor& ex, pool_options o) {
  return std::shared_ptr<pg_pool>(new pg_pool(ex, std::move(o)));
}

pg_pool::pg_pool(const asio::any_io_executor& ex, pool_options o)
    : ex_(ex),
      strand_(asio::make_strand(ex)),
      url_(std::move(o.url)),
      size_(std::max(1u, o.size)),
      connect_timeout_(o.connect_timeout) {
  detail::pool_max_add(size_);
}

pg_pool::~pg_pool() {
  detail::pool_max_add(-static_cast<double>(size_));
  // Leases hold the pool, so every live connection is idle by now.
  detail::pool_gauge_add(idle, -static_cast<double>(idle_.size()));
  detail::pool_gauge_add(busy, -static_cast<double>(live_ - idle_.size()));
}

task<pg_pool::lease> pg_pool::checkout(std::chrono::steady_clock::duration timeout) {
  auto self = shared_from_this();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto conn = co_await asio::co_spawn(strand_, checkout_on_strand(self, deadline), asio::use_awaitable);
  co_return lease(std::move(self), std::move(conn));
}

task<void> pg_pool::fill() {
  std::vector<lease> leases;
  for (unsigned i = 0; i < size_; ++i) leases.push_back(co_await checkout(connect_timeout_));
}

task<std::unique_ptr<pg_connection>> pg_pool::checkout_on_strand(std::shared_ptr<pg_pool> self,
                                                                 std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (!self->idle_.empty()) {
      auto conn = std::move(self->idle_.back());
      self->idle_.pop_back();
      detail::pool_gauge_add(idle, -1);
      detail::pool_gauge_add(busy, 1);
      co_return conn;
    }
    if (self->live_ < self->size_) {
      ++self->live_;
      detail::pool_gauge_add(busy, 1);
      std::exception_ptr failure;
      try {
        // Never past the caller's deadline.
        const auto budget = std::min<steady::duration>(self->connect_timeout_, deadline - steady::now());
        co_return co_await pg_connection::connect(self->ex_, self->url_,
                                                  std::chrono::ceil<std::chrono::milliseconds>(budget));
      } catch (const std::exception&) {
        failure = std::current_exception();
      }
      --self->live_;
      detail::pool_gauge_add(busy, -1);
      self->wake_one(nullptr);  // the slot is free again for someone else to try
      std::rethrow_exception(failure);
    }
    if (std::chrono::steady_clock::now() >= deadline) throw pg_error("postgres: no free connection in time");
    waiter w{asio::steady_timer(self->strand_, deadline), nullptr, false};
    self->waiters_.push_back(&w);
    co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!w.woken) std::erase(self->waiters_, &w);
    if (w.conn) co_return std::move(w.conn);
    // Woken without a connection: a slot was freed; loop to take it.
  }
}

void pg_pool::wake_one(std::unique_ptr<pg_connection> conn) {
  if (waiters_.empty()) return;
  waiter* w = waiters_.front();
  waiters_.pop_front();
  w->woken = true;
  w->conn = std::move(conn);
  w->timer.cancel();
}

void pg_pool::give_back(std::unique_ptr<pg_connection> conn) {
  if (!conn->reusable()) {
    conn.reset();
    --live_;
    detail::pool_gauge_add(busy, -1);
    wake_one(nullptr);
    return;
  }
  if (!waiters_.empty()) {
    wake_one(std::move(conn));
    return;
  }
  idle_.push_back(std::move(conn));
  detail::pool_gauge_add(busy, -1);
  detail::pool_gauge_add(idle, 1);
}

}  // namespace sl::storage::postgres
