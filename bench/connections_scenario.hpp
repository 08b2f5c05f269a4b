#pragma once
// `connections`: opens N authenticated idle WebSockets from several loopback
// source addresses (127.0.0.x: each address has its own ~28k ephemeral
// ports), optionally from several generator processes (each process may hold
// at most `ulimit -n` files). Reports the connect rate (TCP + upgrade + token
// check), the server's RSS per socket (from /proc, minus the server before
// the run) and how many sockets still answer a ping after the hold.

#include <string>

namespace sl::bench {

struct connections_options {
  std::string api = "http://127.0.0.1:8000";
  std::string ws = "ws://127.0.0.1:8001/ws";  // comma-separated: sockets spread over the nodes
  int connections = 1000;
  int sources = 8;        // 127.0.0.2 ... 127.0.0.(1 + sources)
  int concurrency = 512;  // upgrades in flight, per process
  int sockets_per_user = 50;
  double hold_s = 3;  // idle time before RSS is read
  int procs = 1;
  unsigned threads = 1;
  std::string server_pids;
  std::string label;
  // Set by the parent when it runs a share of the sockets in a child process.
  int shard = -1;
  std::string plan;
};

int run_connections(const connections_options& o);

}  // namespace sl::bench
