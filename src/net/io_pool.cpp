#include "net/io_pool.hpp"

namespace sl::net {

io_pool::io_pool(unsigned threads) : ctx_(static_cast<int>(threads ? threads : 1)), threads_(threads ? threads : 1) {}

io_pool::~io_pool() {
  stop();
  for (auto& t : extra_)
    if (t.joinable()) t.join();
}

void io_pool::run() {
  for (unsigned i = 1; i < threads_; ++i) extra_.emplace_back([this] { ctx_.run(); });
  ctx_.run();
  for (auto& t : extra_)
    if (t.joinable()) t.join();
  extra_.clear();
}

void io_pool::stop() { ctx_.stop(); }

}  // namespace sl::net
