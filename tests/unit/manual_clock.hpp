#pragma once
// A clock the test moves by hand. Not thread-safe: the tests that use it run
// their io_context on the test thread.

#include <chrono>

#include "base/time.hpp"

namespace sl::test {

class manual_clock final : public clock {
 public:
  explicit manual_clock(timestamp t) : now_(t) {}
  timestamp now() const override { return now_; }
  void set(timestamp t) { now_ = t; }
  void advance(std::chrono::microseconds d) { now_ += d; }

 private:
  timestamp now_;
};

}  // namespace sl::test
