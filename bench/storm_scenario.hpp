#pragma once
// `storm`: N subscribed clients; while publishers keep sending, every client
// loses its connection at the same moment (TCP reset) and reconnects with
// `since_seq` = the last seq it saw. Reports the time until every client has
// received, gap-free, everything acknowledged before the drop (per client and
// in total), how many were told `recovered:false`, and any message lost or
// duplicated over the whole run.

#include <string>

namespace sl::bench {

struct storm_options {
  std::string api = "http://127.0.0.1:8000";
  std::string ws = "ws://127.0.0.1:8001/ws";
  int clients = 1000;
  int channels = 100;
  int publishers = 0;   // 0: min(channels, 16)
  double rate = 500;    // messages/s published throughout
  double before_s = 3;  // publishing before the drop
  double after_s = 2;   // publishing after everyone recovered
  double timeout_s = 60;
  int concurrency = 1000;  // reconnects in flight per process
  int content_bytes = 100;
  unsigned threads = 1;
  int sockets_per_user = 50;
  int sources = 8;  // loopback source addresses (0: any)
  std::string server_pids;
  std::string label;
};

int run_storm(const storm_options& o);

}  // namespace sl::bench
