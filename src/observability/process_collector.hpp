#pragma once
// The standard process metrics (the unprefixed names every Prometheus client
// exports: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds), read from /proc at scrape time:
// prometheus-cpp has no process collector. Linux only.
//
// Collect() is thread-safe (it only reads /proc); a value that cannot be read
// is left out of that scrape rather than reported as 0.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <optional>
#include <string_view>
#include <vector>

namespace sl::obs {

// What /proc/self/stat says, in base units.
struct proc_stat {
  double cpu_seconds = 0;     // utime + stime
  double start_seconds = 0;   // since boot
  double virtual_bytes = 0;   // vsize
  double resident_bytes = 0;  // rss pages x page size
};

// Parses one /proc/<pid>/stat line; nullopt when it is not one. The command
// name (field 2) may hold spaces and parentheses: fields are counted from
// the last ')'.
std::optional<proc_stat> parse_proc_stat(std::string_view line, long ticks_per_second, long page_bytes);
// The `btime` line of /proc/stat: the boot time in seconds since the epoch.
std::optional<double> parse_boot_time(std::string_view proc_stat_file);

class process_collector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace sl::obs
