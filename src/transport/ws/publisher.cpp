#include "transport/ws/publisher.hpp"

#include "transport/ws/codec.hpp"
#include "transport/ws/services.hpp"

namespace sl::ws {

void publisher::message_changed(domain::message_change kind, const domain::message& m, std::string_view author_name,
                                const user_id& actor) {
  using k = domain::broker_event_kind;
  domain::broker_event e;
  e.kind = kind == domain::message_change::created   ? k::message_created
           : kind == domain::message_change::updated ? k::message_updated
                                                     : k::message_deleted;
  e.channel = m.channel;
  e.seq = m.seq;
  e.actor = actor;
  e.frame = make_frame(message_frame(clock_.now(), kind, m, author_name));
  broker_.publish(std::move(e));
}

void publisher::membership_started(const channel_id& c, const user_id& who) {
  publish_control(domain::broker_event_kind::membership_started, c, who, {});
  // The new member's own sockets learn it wherever they are, subscribed to the channel or not:
  // a private channel they were added to can show up at once.
  domain::broker_event e;
  e.kind = domain::broker_event_kind::notification;
  e.actor = who;
  e.frame = make_frame(joined_frame(clock_.now(), c));
  broker_.publish(std::move(e));
}

void publisher::membership_ended(const channel_id& c, const user_id& who) {
  publish_control(domain::broker_event_kind::membership_ended, c, who, "removed");
}

void publisher::channel_deleted(const channel_id& c, const user_id& actor) {
  publish_control(domain::broker_event_kind::channel_deleted, c, actor, {});
}

// Membership events carry no frame: each hub renders its own.
void publisher::publish_control(domain::broker_event_kind kind, const channel_id& c, const user_id& actor,
                                std::string reason) {
  domain::broker_event e;
  e.kind = kind;
  e.channel = c;
  e.actor = actor;
  e.reason = std::move(reason);
  broker_.publish(std::move(e));
}

}  // namespace sl::ws
