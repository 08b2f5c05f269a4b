#pragma once
// Topic names of a deployment (KAFKA_TOPIC_MESSAGES|NOTIFICATIONS|ANALYTICS|
// PRESENCE, contract.md section 1): an event_log that stores Signalink's
// topics under other names. The code above it keeps the contract's names
// (signalink.messages...); only the log underneath sees the configured ones.
// A topic's dead-letter twin follows it (`<name>.dlq`).
//
// Threads and failures: those of the wrapped log.

#include <map>
#include <memory>
#include <string>

#include "domain/event_log.hpp"

namespace sl::events {

// Logical name -> name in the log; topics not listed keep their name.
using topic_names = std::map<std::string, std::string>;

// `inner` under `names`; returns `inner` itself when no name changes.
std::unique_ptr<domain::event_log> rename_topics(std::unique_ptr<domain::event_log> inner, const topic_names& names);

}  // namespace sl::events
