#pragma once
// An outbox record as the event log hands it to consumers.

#include "domain/event_log.hpp"
#include "domain/events.hpp"

namespace sl::test {

inline domain::log_event as_log_event(const domain::events::record& r) {
  domain::log_event e;
  e.id = r.id;
  e.topic = r.topic;
  e.key = r.key;
  e.event_type = r.event_type;
  e.payload = r.payload;
  e.created_at = r.created_at;
  return e;
}

}  // namespace sl::test
