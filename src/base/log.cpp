#include "base/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <chrono>

#include "base/time.hpp"

namespace sl::log {
namespace {

std::atomic<level> current{level::info};

spdlog::logger& sink() {
  static auto logger = [] {
    auto l = spdlog::stderr_logger_mt("signalink");
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

const char* name(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warning";
    case level::error:
      return "error";
    case level::off:
      return "off";
  }
  return "info";
}

}  // namespace

level parse_level(std::string_view text) {
  std::string t;
  for (char c : text) t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (t == "debug" || t == "trace") return level::debug;
  if (t == "warning" || t == "warn") return level::warn;
  if (t == "error" || t == "critical") return level::error;
  if (t == "off") return level::off;
  return level::info;
}

void set_level(level l) { current.store(l); }
bool enabled(level l) { return l >= current.load(std::memory_order_relaxed) && l != level::off; }

void write(level l, std::string_view msg, boost::json::object fields) {
  if (!enabled(l)) return;
  boost::json::object line;
  line["ts"] = format_iso(system_clock{}.now());
  line["level"] = name(l);
  line["msg"] = msg;
  for (auto& kv : fields) line[kv.key()] = std::move(kv.value());
  sink().info(boost::json::serialize(line));
}

std::string describe(const std::exception_ptr& ep) {
  if (!ep) return "no error";
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

}  // namespace sl::log
