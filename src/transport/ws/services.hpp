#pragma once
// What hubs and sessions of the gateway use, owned by the gateway (which
// outlives them all).

#include <memory>
#include <string>

#include "base/time.hpp"
#include "domain/auth_service.hpp"
#include "domain/broker.hpp"
#include "domain/message_service.hpp"
#include "domain/store.hpp"
#include "transport/ws/interest.hpp"
#include "transport/ws/settings.hpp"

namespace sl::ws {

// A server frame, serialized once and shared by every socket it is written to.
using frame_ptr = std::shared_ptr<const std::string>;

inline frame_ptr make_frame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

struct services {
  domain::store& db;
  domain::auth_service& auth;
  domain::message_service& messages;
  domain::broker& broker;
  const clock& clk;
  const gateway_settings& settings;
  interest& interests;
};

}  // namespace sl::ws
