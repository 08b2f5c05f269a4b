#pragma once
// `write`: persisted messages per second and latency of POST /api/v1/messages/
// from N keep-alive clients (closed loop: each sends its next message when the
// previous one is acknowledged).

#include <string>

namespace sl::bench {

struct write_options {
  std::string api = "http://127.0.0.1:8000";
  int clients = 64;
  int channels = 8;
  double duration_s = 10;
  double warmup_s = 2;
  int content_bytes = 100;
  unsigned threads = 1;
  int server_pid = 0;
  std::string label;
};

int run_write(const write_options& o);

}  // namespace sl::bench
