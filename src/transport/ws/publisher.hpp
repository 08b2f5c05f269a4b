#pragma once
// The real-time port over the broker: renders each change once into its
// frame and publishes it to every gateway node (this one included). Used by
// every role that writes (API and gateway). Thread-safe; never blocks.

#include "base/time.hpp"
#include "domain/broker.hpp"
#include "domain/realtime.hpp"

namespace sl::ws {

class publisher final : public domain::realtime_sink {
 public:
  publisher(domain::broker& b, const clock& clk) : broker_(b), clock_(clk) {}

  void message_changed(domain::message_change kind, const domain::message& m, std::string_view author_name,
                       const user_id& actor) override;
  void membership_started(const channel_id& c, const user_id& who) override;
  void membership_ended(const channel_id& c, const user_id& who) override;
  void channel_deleted(const channel_id& c, const user_id& actor) override;

 private:
  void publish_control(domain::broker_event_kind kind, const channel_id& c, const user_id& actor, std::string reason);

  domain::broker& broker_;
  const clock& clock_;
};

}  // namespace sl::ws
