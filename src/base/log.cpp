#include "base/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <utility>

#include "base/time.hpp"
#include "base/trace_context.hpp"

namespace sl::log {
namespace {

// Index i of `levels` is the level of component_names[i].
constexpr std::array<std::string_view, 15> component_names{
    "http", "gateway", "storage", "broker", "events",        "analytics", "notifier", "delivery",
    "app",  "base",    "net",     "domain", "observability", "security",  "other"};
constexpr std::size_t other_index = component_names.size() - 1;

constexpr std::size_t index_of(std::string_view component) noexcept {
  for (std::size_t i = 0; i < component_names.size(); ++i)
    if (component_names[i] == component) return i;
  return other_index;
}

template <std::size_t... I>
constexpr std::array<std::atomic<level>, sizeof...(I)> all_info(std::index_sequence<I...>) {
  return {((void)I, level::info)...};
}
// Constant-initialised, so a line written while other files' statics are
// built already finds the default levels.
constinit std::array<std::atomic<level>, component_names.size()> levels =
    all_info(std::make_index_sequence<component_names.size()>{});
// The lowest level of any component: below it nothing is enabled, which is
// all that most disabled debug lines have to find out.
constinit std::atomic<level> floor_level{level::info};

std::mutex spec_mu;
spec current = {};

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

std::string lower(std::string_view text) {
  std::string t;
  for (char c : text) t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return t;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<level> parse_level(std::string_view text) {
  const std::string t = lower(trim(text));
  if (t == "debug" || t == "trace") return level::debug;
  if (t == "info") return level::info;
  if (t == "warning" || t == "warn") return level::warn;
  if (t == "error" || t == "critical") return level::error;
  if (t == "off") return level::off;
  return std::nullopt;
}

const char* name(level l) noexcept {
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

std::optional<spec> parse_spec(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<spec> {
    if (why != nullptr) *why = std::move(reason);
    return std::nullopt;
  };
  spec s;
  bool have_base = false;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item = trim(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (item.empty()) return fail("empty item in the level spec");
    if (const auto eq = item.find('='); eq == std::string_view::npos) {
      if (have_base) return fail("more than one level without a component");
      const auto l = parse_level(item);
      if (!l) return fail("unknown level '" + std::string(item) + "'");
      s.base = *l;
      have_base = true;
    } else {
      const std::string comp = lower(trim(item.substr(0, eq)));
      const auto l = parse_level(item.substr(eq + 1));
      if (std::find(component_names.begin(), component_names.end(), comp) == component_names.end())
        return fail("unknown component '" + comp + "'");
      if (!l) return fail("unknown level '" + std::string(trim(item.substr(eq + 1))) + "'");
      auto it = std::find_if(s.components.begin(), s.components.end(), [&](auto& c) { return c.first == comp; });
      if (it != s.components.end())
        it->second = *l;
      else
        s.components.emplace_back(comp, *l);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return s;
}

std::string format_spec(const spec& s) {
  std::string out = name(s.base);
  for (const auto& [comp, l] : s.components) out.append(",").append(comp).append("=").append(name(l));
  return out;
}

void set_spec(const spec& s) {
  std::lock_guard lock(spec_mu);
  level lowest = s.base;
  for (std::size_t i = 0; i < component_names.size(); ++i) {
    level l = s.base;
    for (const auto& [comp, cl] : s.components)
      if (comp == component_names[i]) l = cl;
    levels[i].store(l, std::memory_order_relaxed);
    lowest = std::min(lowest, l);
  }
  floor_level.store(lowest, std::memory_order_relaxed);
  current = s;
}

spec current_spec() {
  std::lock_guard lock(spec_mu);
  return current;
}

namespace {

std::size_t component_index(std::string_view file) noexcept {
  // The last "src/" that starts a path segment: __FILE__ is absolute, or
  // relative to the build directory when ccache rewrites paths.
  std::size_t at = file.rfind("src/");
  while (at != std::string_view::npos && at != 0 && file[at - 1] != '/') at = file.rfind("src/", at - 1);
  if (at == std::string_view::npos) return other_index;
  std::string_view rest = file.substr(at + 4);
  const std::string_view dir = rest.substr(0, rest.find('/'));
  if (dir.size() == rest.size()) return other_index;  // a file directly in src/
  if (dir == "transport") {
    rest.remove_prefix(dir.size() + 1);
    const std::string_view sub = rest.substr(0, rest.find('/'));
    if (sub == "ws") return index_of("gateway");
    if (sub == "http") return index_of("http");
    return other_index;
  }
  if (dir == "notify") return index_of("notifier");
  return index_of(dir);
}

// The callers' files are __FILE__ literals, which never change, so their
// address is a key. Direct-mapped and per thread: no lock, and a collision
// only costs working the component out again.
struct cached_component {
  const char* file;
  std::size_t index;
};
constinit thread_local std::array<cached_component, 64> component_cache{};

std::size_t component_index_cached(const char* file) noexcept {
  const auto key = reinterpret_cast<std::uintptr_t>(file);
  auto& entry = component_cache[(key ^ (key >> 7)) % component_cache.size()];
  if (entry.file != file) entry = {file, component_index(file)};
  return entry.index;
}

constexpr std::size_t disabled = component_names.size();

// The component index of `file` when a line of level `l` from it is
// enabled, else `disabled`.
std::size_t enabled_component(level l, const char* file) noexcept {
  if (l == level::off || l < floor_level.load(std::memory_order_relaxed)) return disabled;
  const std::size_t i = component_index_cached(file);
  return l >= levels[i].load(std::memory_order_relaxed) ? i : disabled;
}

}  // namespace

std::string_view component_of(std::string_view file) noexcept { return component_names[component_index(file)]; }

const std::vector<std::string_view>& components() {
  static const std::vector<std::string_view> all(component_names.begin(), component_names.end());
  return all;
}

bool enabled(level l, const char* file) noexcept { return enabled_component(l, file) != disabled; }

void write(level l, std::string_view msg, boost::json::object fields, const char* file) {
  const std::size_t component = enabled_component(l, file);
  if (component == disabled) return;
  boost::json::object line;
  line["ts"] = format_iso(system_clock{}.now());
  line["level"] = name(l);
  line["component"] = component_names[component];
  line["msg"] = msg;
  if (const auto* t = current_trace()) {
    line["trace_id"] = t->trace_id_hex();
    line["span_id"] = t->span_id_hex();
  }
  // Given fields win: a line about an event names the event's trace.
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
