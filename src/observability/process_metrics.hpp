#pragma once
// The series every process exports whatever roles it runs:
// signalink_build_info{version} = 1, the standard process_* metrics
// (process_collector.hpp) and the disk of the data directory
// (disk_collector.hpp). Call once at start-up, before serving /metrics;
// later calls do nothing.

#include <string>

namespace sl::obs {

void register_process_metrics(const std::string& version, const std::string& data_dir);

}  // namespace sl::obs
