#pragma once
// What every benchmark run prints besides its numbers: the machine, the build
// and the commit, and CPU time of a process read from /proc.

#include <boost/json/object.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace sl::bench {

boost::json::object machine_info();
// User+system CPU seconds consumed so far by `pid` (0: this process); -1 if unknown.
double cpu_seconds(int pid);
std::string build_commit();
// Resident memory of `pid` in bytes (VmRSS); 0 if unknown.
std::size_t rss_bytes(int pid);

// The server processes a run measures: the pids given on the command line
// ("123,456"), or else every process named `signalink` on this host.
std::vector<int> server_pids(const std::string& given);
double cpu_seconds(const std::vector<int>& pids);
std::size_t rss_bytes(const std::vector<int>& pids);

using clock_type = std::chrono::steady_clock;
// Steady-clock nanoseconds: comparable between processes of this host
// (CLOCK_MONOTONIC), so a stamp taken by one process is read by another.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}
inline clock_type::duration seconds(double s) {
  return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
}

}  // namespace sl::bench
