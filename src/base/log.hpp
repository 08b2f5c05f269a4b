#pragma once
// Structured logging: one JSON object per line on stderr with `ts`, `level`,
// `msg` and the given fields (request_id, user_id, channel_id...). Thread-safe.

#include <boost/json/object.hpp>
#include <exception>
#include <string>
#include <string_view>

namespace sl::log {

enum class level { debug, info, warn, error, off };

// Parses "debug", "info", "warning"/"warn", "error", "off" (any case); info otherwise.
level parse_level(std::string_view text);
void set_level(level l);
bool enabled(level l);

void write(level l, std::string_view msg, boost::json::object fields = {});
inline void debug(std::string_view m, boost::json::object f = {}) {
  if (enabled(level::debug)) write(level::debug, m, std::move(f));
}
inline void info(std::string_view m, boost::json::object f = {}) { write(level::info, m, std::move(f)); }
inline void warn(std::string_view m, boost::json::object f = {}) { write(level::warn, m, std::move(f)); }
inline void error(std::string_view m, boost::json::object f = {}) { write(level::error, m, std::move(f)); }

// What a failure says: what() of the exception in `ep`, for the "error" field
// of a log line written where a coroutine's failure arrives.
std::string describe(const std::exception_ptr& ep);

}  // namespace sl::log
