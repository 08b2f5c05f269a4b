#pragma once
// Gateway limits and timings (contract.md section 3), all configurable so
// that tests run in seconds.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sl::ws {

struct gateway_settings {
  std::size_t max_frame_bytes = std::size_t{64} * 1024;     // larger client frames: close 1009
  std::size_t send_queue_bytes = std::size_t{1024} * 1024;  // unsent bytes per socket before close 4008
  std::size_t max_batch_bytes = std::size_t{256} * 1024;    // frames gathered into one write
  std::chrono::seconds idle_timeout{60};                    // protocol ping at half of it, close at it
  std::chrono::seconds handshake_timeout{10};               // upgrade and close handshakes
  std::chrono::milliseconds close_timeout{5000};            // a closing socket is dropped after it
  int max_sockets_per_user = 100;                           // per node; more: HTTP 429
  std::size_t max_subscriptions_per_socket = 100;
  std::int64_t replay_max_messages = 1000;       // since_seq replays at least this many...
  std::chrono::seconds replay_max_age{86400};    // ...or all of the last day...
  std::int64_t replay_hard_limit = 100000;       // ...but never more than this
  std::size_t typing_max_subscribers = 1000;     // busier channels get no typing frames
  int rate_limit_close_after = 10;               // rate_limited errors in a row before 4029
  std::chrono::milliseconds gap_wait{100};       // out-of-order wait before reading the store
  std::chrono::seconds presence_members_ttl{5};  // member lists cached for presence
  std::string app_name = "Signalink";
  std::string version;
  std::string environment = "development";
};

}  // namespace sl::ws
