#pragma once
// What every benchmark run prints besides its numbers: the machine, the build
// and the commit, and CPU time of a process read from /proc.

#include <boost/json/object.hpp>
#include <string>

namespace sl::bench {

boost::json::object machine_info();
// User+system CPU seconds consumed so far by `pid` (0: this process); -1 if unknown.
double cpu_seconds(int pid);
std::string build_commit();

}  // namespace sl::bench
