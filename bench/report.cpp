#include "report.hpp"

#include "bench_commit.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace sl::bench {

boost::json::object machine_info() {
  std::string model;
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);)
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  long mem_kb = 0;
  std::ifstream mem("/proc/meminfo");
  for (std::string line; std::getline(mem, line);)
    if (line.rfind("MemTotal:", 0) == 0) {
      std::istringstream(line.substr(9)) >> mem_kb;
      break;
    }
  return boost::json::object{{"cores", std::thread::hardware_concurrency()},
                             {"cpu", model},
                             {"memory_gb", static_cast<double>(mem_kb) / 1024.0 / 1024.0}};
}

double cpu_seconds(int pid) {
  std::ifstream stat(pid ? "/proc/" + std::to_string(pid) + "/stat" : std::string("/proc/self/stat"));
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = content.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(content.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string build_commit() { return SL_BENCH_COMMIT; }

std::size_t rss_bytes(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) {
      std::size_t kb = 0;
      std::istringstream(line.substr(6)) >> kb;
      return kb * 1024;
    }
  return 0;
}

std::vector<int> server_pids(const std::string& given) {
  std::vector<int> pids;
  if (!given.empty()) {
    std::istringstream in(given);
    for (std::string p; std::getline(in, p, ',');)
      if (!p.empty()) pids.push_back(std::stoi(p));
    return pids;
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(e.path() / "comm");
    std::string c;
    std::getline(comm, c);
    if (c == "signalink") pids.push_back(std::stoi(name));
  }
  return pids;
}

double cpu_seconds(const std::vector<int>& pids) {
  double sum = 0;
  for (int p : pids) sum += std::max(0.0, cpu_seconds(p));
  return sum;
}

std::size_t rss_bytes(const std::vector<int>& pids) {
  std::size_t sum = 0;
  for (int p : pids) sum += rss_bytes(p);
  return sum;
}

}  // namespace sl::bench
