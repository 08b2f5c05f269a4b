#pragma once
// Structured logging: one JSON object per line on stderr with `ts`, `level`,
// `component`, `msg`, the current span's `trace_id` and `span_id` (when the
// code runs in a traced coroutine, see trace_context.hpp) and the given
// fields (request_id, user_id, channel_id...). Thread-safe.
//
// Levels are set per component: the part of the code base a line comes from,
// named by the source directory of the call (src/transport/http → http,
// src/transport/ws → gateway, src/notify → notifier, src/storage/... →
// storage, otherwise the directory under src/). The calls below take the
// caller's file as a defaulted argument; nobody passes it by hand. A `file`
// given by hand must be a string literal: its address keys a cache.

#include <boost/json/object.hpp>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sl::log {

enum class level { debug, info, warn, error, off };

// Parses "debug", "info", "warning"/"warn", "error", "off" (any case; "trace"
// and "critical" too); nullopt otherwise.
std::optional<level> parse_level(std::string_view text);
const char* name(level l) noexcept;

// A level for everything plus levels for some components, as written in
// LOG_LEVEL and on /admin/log-level: "warning,gateway=debug,events=info".
struct spec {
  level base = level::info;
  std::vector<std::pair<std::string, level>> components;
};
// nullopt with `why` set when a level or a component name is unknown.
std::optional<spec> parse_spec(std::string_view text, std::string* why = nullptr);
std::string format_spec(const spec& s);

// Takes effect at once on every thread.
void set_spec(const spec& s);
spec current_spec();

// The component a source file belongs to ("http", "gateway", "storage"...);
// `file` may be absolute or relative, as __FILE__ gives it.
std::string_view component_of(std::string_view file) noexcept;
// The components parse_spec accepts.
const std::vector<std::string_view>& components();

// Whether a line of level `l` from `file` would be written. One relaxed
// atomic load when `l` is below every component's level (the usual fate of
// a debug line); otherwise a per-thread cache finds the file's component.
bool enabled(level l, const char* file = __builtin_FILE()) noexcept;

// Writes the line when enabled(l, file). The arguments are built before the
// call: guard a line whose fields cost something with enabled().
void write(level l, std::string_view msg, boost::json::object fields = {}, const char* file = __builtin_FILE());
inline void debug(std::string_view m, boost::json::object f = {}, const char* file = __builtin_FILE()) {
  write(level::debug, m, std::move(f), file);
}
inline void info(std::string_view m, boost::json::object f = {}, const char* file = __builtin_FILE()) {
  write(level::info, m, std::move(f), file);
}
inline void warn(std::string_view m, boost::json::object f = {}, const char* file = __builtin_FILE()) {
  write(level::warn, m, std::move(f), file);
}
inline void error(std::string_view m, boost::json::object f = {}, const char* file = __builtin_FILE()) {
  write(level::error, m, std::move(f), file);
}

// What a failure says: what() of the exception in `ep`, for the "error" field
// of a log line written where a coroutine's failure arrives.
std::string describe(const std::exception_ptr& ep);

}  // namespace sl::log
