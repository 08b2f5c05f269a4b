#pragma once
// Timestamps with microsecond precision, their ISO-8601 wire form, and the
// clock port (injected so that tests control time).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sl {

using timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// "2026-11-28T10:05:03.123456Z"
std::string format_iso(timestamp t);
// Accepts the form above, with or without fraction or 'Z', and "+00:00".
std::optional<timestamp> parse_iso(std::string_view text);
std::int64_t to_unix_micros(timestamp t);
timestamp from_unix_micros(std::int64_t us);

class clock {
 public:
  virtual ~clock() = default;
  virtual timestamp now() const = 0;
};

class system_clock final : public clock {
 public:
  timestamp now() const override {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  }
};

}  // namespace sl
