#pragma once
// What a hub needs of a connection: a sink of frames with an identity. The
// gateway's sessions implement it; tests use recording ones.
// Threads: called on the hub's context only.

#include <chrono>
#include <cstdint>
#include <string>

#include "domain/model.hpp"
#include "transport/ws/services.hpp"

namespace sl::ws {

class subscriber {
 public:
  virtual ~subscriber() = default;
  virtual const domain::principal& who() const noexcept = 0;
  // Queues a frame (never blocks; a connection over its byte limit closes itself).
  virtual void send(const frame_ptr& f) = 0;
  // The hub ended the subscription to `c` and `f` says why (channel.unsubscribed).
  virtual void removed(const channel_id& c, const frame_ptr& f) = 0;
  virtual void close(std::uint16_t code, std::string reason) = 0;
  // The hub's periodic sweep: a connection pings its peer when it has been
  // silent for half the idle timeout and drops it when silent for all of it.
  virtual void idle_check(std::chrono::steady_clock::time_point) {}
};

}  // namespace sl::ws
