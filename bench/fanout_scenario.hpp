#pragma once
// `fanout`: C channels x S subscriber sockets, P publisher sockets sending
// `message.send` at a fixed total rate (open loop: on schedule, whatever the
// server's pace). Each message carries its scheduled send time; every
// receiver takes its latency against it. Reports deliveries/s of the messages
// published in the measured window, latency percentiles, and messages lost or
// duplicated (by `seq`, per subscriber).

#include <string>

namespace sl::bench {

struct fanout_options {
  std::string api = "http://127.0.0.1:8000";
  std::string ws = "ws://127.0.0.1:8001/ws";  // comma-separated: sockets spread over the nodes
  int channels = 1;
  int subscribers = 100;  // per channel
  int publishers = 0;     // 0: min(channels, 16)
  double rate = 1000;     // messages per second, all publishers together
  double duration_s = 10;
  double warmup_s = 2;
  double drain_s = 5;  // after the window: how long to wait for the last deliveries
  int content_bytes = 100;
  unsigned threads = 1;
  int sockets_per_user = 50;
  int sources = 8;  // loopback source addresses of the subscribers (0: any)
  int connect_concurrency = 256;
  std::string server_pids;
  std::string label;
};

int run_fanout(const fanout_options& o);

}  // namespace sl::bench
