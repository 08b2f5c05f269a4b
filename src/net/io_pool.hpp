#pragma once
// The I/O threads: one io_context run by N threads. Connections get their own
// strand, so handlers of one connection never run concurrently.

#include <boost/asio/io_context.hpp>
#include <thread>
#include <vector>

namespace sl::net {

class io_pool {
 public:
  explicit io_pool(unsigned threads);
  ~io_pool();
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  boost::asio::io_context& context() noexcept { return ctx_; }
  // Starts threads-1 extra threads and runs the context on the caller until stop().
  void run();
  void stop();

 private:
  boost::asio::io_context ctx_;
  unsigned threads_;
  std::vector<std::thread> extra_;
};

}  // namespace sl::net
