#pragma once
// A generator process started by this one (`signalink-bench` itself, running
// a share of a scenario), talked to line by line over its stdin and stdout.
// Its stderr is ours. Destruction closes its stdin and waits for it.

#include <sys/types.h>

#include <cstdio>
#include <string>
#include <vector>

namespace sl::bench {

class child_process {
 public:
  // Runs this executable (/proc/self/exe) with `args`; throws on failure.
  explicit child_process(const std::vector<std::string>& args);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  void send_line(const std::string& line);
  // The next line it prints; throws if it exited first.
  std::string read_line();

 private:
  pid_t pid_ = -1;
  std::FILE* in_ = nullptr;   // its stdin
  std::FILE* out_ = nullptr;  // its stdout
};

}  // namespace sl::bench
