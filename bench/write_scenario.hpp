#pragma once
// `write`: persisted messages per second and latency from N clients, each
// one user on one connection: REST (POST /api/v1/messages/ on keep-alive
// connections, 201 means committed) or WebSocket (`message.send`, the
// `message.ack` means committed). Closed loop: each client keeps `pipeline`
// messages in flight (REST: 1) and sends the next when one is acknowledged.

#include <string>

namespace sl::bench {

struct write_options {
  std::string api = "http://127.0.0.1:8000";
  std::string transport = "rest";  // or "ws"
  std::string ws = "ws://127.0.0.1:8001/ws";
  int pipeline = 1;
  int clients = 64;
  int channels = 8;
  double duration_s = 10;
  double warmup_s = 2;
  int content_bytes = 100;
  unsigned threads = 1;
  std::string server_pids;
  std::string label;
};

int run_write(const write_options& o);

}  // namespace sl::bench
