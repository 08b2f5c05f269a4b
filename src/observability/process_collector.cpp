#include "observability/process_collector.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace sl::obs {
namespace {

std::optional<double> number(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::string> slurp(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

std::optional<double> open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  if (ec) return std::nullopt;
  return n - 1;  // the iterator's own descriptor
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view line, long ticks_per_second, long page_bytes) {
  const auto close = line.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  line.remove_prefix(close + 1);
  // Fields from 3 (state) on; field N is fields[N - 3].
  std::vector<std::string_view> fields;
  while (!line.empty()) {
    const auto start = line.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    const auto end = line.find_first_of(" \n");
    fields.push_back(line.substr(0, end));
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
  }
  if (fields.size() < 22) return std::nullopt;
  const auto utime = number(fields[14 - 3]), stime = number(fields[15 - 3]), start = number(fields[22 - 3]),
             vsize = number(fields[23 - 3]), rss = number(fields[24 - 3]);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  const auto ticks = static_cast<double>(ticks_per_second);
  return proc_stat{(*utime + *stime) / ticks, *start / ticks, *vsize, *rss * static_cast<double>(page_bytes)};
}

std::optional<double> parse_boot_time(std::string_view text) {
  constexpr std::string_view key = "btime ";
  for (std::size_t pos = 0; pos < text.size();) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    auto row = text.substr(pos, eol - pos);
    if (row.starts_with(key)) return number(row.substr(key.size()));
    pos = eol + 1;
  }
  return std::nullopt;
}

std::vector<prometheus::MetricFamily> process_collector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const auto stat_line = slurp("/proc/self/stat");
  const auto stat =
      stat_line ? parse_proc_stat(*stat_line, ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE)) : std::nullopt;
  if (stat) {
    out.push_back(family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                         MetricType::Counter, stat->cpu_seconds));
    out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
                         stat->resident_bytes));
    out.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
                         stat->virtual_bytes));
    const auto system_stat = slurp("/proc/stat");
    if (const auto boot = system_stat ? parse_boot_time(*system_stat) : std::nullopt)
      out.push_back(family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                           MetricType::Gauge, *boot + stat->start_seconds));
  }
  if (const auto fds = open_fds())
    out.push_back(family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, *fds));
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0)
    out.push_back(family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
                         lim.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(lim.rlim_cur)));
  return out;
}

}  // namespace sl::obs
