#pragma once
// Redis helpers for the tests, blocking, test thread only.
//
// redis_server: a private redis-server child process on a free loopback port
// (no persistence), for the outage tests: kill it, freeze it, start it again
// on the same port. Requires redis-server on PATH (available()).

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sl::test {

class redis_server {
 public:
  static bool available();

  // Starts on a free port and waits until it answers PING (throws after 10 s).
  redis_server();
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  // Starts again on the same port (after kill()).
  void start();
  // SIGKILL, as a crash: connections drop, every key is lost.
  void kill();
  // SIGSTOP / SIGCONT: connections stay open but nothing answers.
  void freeze();
  void thaw();

  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

 private:
  std::uint16_t port_ = 0;
  std::string dir_;
  pid_t pid_ = -1;
};

// Runs one command on a fresh connection to `url`; returns the reply as text
// (integers in decimal, arrays as their elements joined by '\n'). Throws on failure.
std::string redis_sync_command(const std::string& url, const std::vector<std::string>& args);
// Deletes every key whose name starts with `prefix`.
void redis_delete_prefix(const std::string& url, const std::string& prefix);

}  // namespace sl::test
