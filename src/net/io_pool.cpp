#include "net/io_pool.hpp"

namespace sl::net {
namespace {
thread_local const io_pool* current_pool = nullptr;
thread_local std::size_t current_index = 0;
}  // namespace

io_pool::io_pool(unsigned threads) {
  const unsigned n = threads ? threads : 1;
  for (unsigned i = 0; i < n; ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

io_pool::~io_pool() {
  stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

boost::asio::io_context& io_pool::next() noexcept {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

std::size_t io_pool::current() const noexcept { return current_pool == this ? current_index : contexts_.size(); }

void io_pool::run() {
  auto body = [this](std::size_t i) {
    current_pool = this;
    current_index = i;
    contexts_[i]->run();
  };
  for (std::size_t i = 1; i < contexts_.size(); ++i) threads_.emplace_back(body, i);
  body(0);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void io_pool::stop() {
  guards_.clear();
  for (auto& c : contexts_) c->stop();
}

}  // namespace sl::net
