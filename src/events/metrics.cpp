#include "events/metrics.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <unordered_map>

#include "observability/metrics.hpp"

namespace sl::events::metrics {
namespace {

prometheus::Family<prometheus::Counter>& produced_family() {
  static auto& f = obs::counter_family("signalink_events_produced_total",
                                       "Events appended to the event log and acknowledged, by topic");
  return f;
}

prometheus::Family<prometheus::Counter>& consumed_family() {
  static auto& f = obs::counter_family("signalink_events_consumed_total", "Events read from the event log, by topic");
  return f;
}

prometheus::Family<prometheus::Counter>& consumer_events_family() {
  static auto& f =
      obs::counter_family("signalink_consumer_events_total",
                          "Events seen by consumer groups, by outcome (processed, duplicate, dead_lettered)");
  return f;
}

prometheus::Family<prometheus::Counter>& retries_family() {
  static auto& f =
      obs::counter_family("signalink_consumer_retries_total", "Handler attempts that failed and were retried");
  return f;
}

prometheus::Family<prometheus::Gauge>& lag_family() {
  static auto& f =
      obs::gauge_family("signalink_consumer_lag_events", "Events of a consumer group's topics not yet committed by it");
  return f;
}

// Looked up by string_view: topic names outgrow the small-string buffer, and
// building a std::string per event would allocate.
struct topic_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using topic_map = std::unordered_map<std::string, prometheus::Counter*, topic_hash, std::equal_to<>>;

prometheus::Counter& per_topic(prometheus::Family<prometheus::Counter>& family, std::string_view topic) {
  // Family::Add locks and hashes a label map: each thread remembers its series.
  thread_local std::unordered_map<const void*, topic_map> cache;
  auto& mine = cache[&family];
  auto it = mine.find(topic);
  if (it == mine.end()) it = mine.emplace(std::string(topic), &family.Add({{"topic", std::string(topic)}})).first;
  return *it->second;
}

}  // namespace

void register_relay() {
  relay_published();
  relay_errors();
  relay_leader();
  relay_delay();
  outbox_pending();
  outbox_oldest_age();
  produced_family();
  events_produce_errors();
}

void register_log_counters() {
  produced_family();
  events_produce_errors();
  consumed_family();
}

void register_consumer(const std::string& group) {
  consumed_family();
  for (const char* outcome : {"processed", "duplicate", "dead_lettered"}) consumer_events(group, outcome);
  consumer_retries(group);
  consumer_lag(group);
}

prometheus::Counter& relay_published() {
  static auto& c =
      obs::counter_family("signalink_outbox_published_total", "Outbox events published to the event log by the relay")
          .Add({});
  return c;
}

prometheus::Counter& relay_errors() {
  static auto& c = obs::counter_family("signalink_outbox_relay_errors_total",
                                       "Relay batches that failed (event log or database unavailable) and were retried")
                       .Add({});
  return c;
}

prometheus::Gauge& relay_leader() {
  static auto& g =
      obs::gauge_family("signalink_outbox_relay_leader", "1 while this process holds the relay lease").Add({});
  return g;
}

prometheus::Histogram& relay_delay() {
  static auto& h = obs::histogram_family("signalink_outbox_publish_delay_seconds",
                                         "From a write to its event's publication by the relay")
                       .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                                        2.5, 5, 10, 30, 60});
  return h;
}

prometheus::Gauge& outbox_pending() {
  static auto& g = obs::gauge_family("signalink_outbox_pending_events",
                                     "Outbox rows not yet published, up to 1000000 (as last counted by the relay)")
                       .Add({});
  return g;
}

prometheus::Gauge& outbox_oldest_age() {
  static auto& g = obs::gauge_family("signalink_outbox_oldest_pending_age_seconds",
                                     "Age of the oldest unpublished outbox row when last counted (0 when none)")
                       .Add({});
  return g;
}

prometheus::Counter& events_produced(std::string_view topic) { return per_topic(produced_family(), topic); }

prometheus::Counter& events_produce_errors() {
  static auto& c = obs::counter_family("signalink_events_produce_errors_total",
                                       "Events the event log failed to take (the relay retries them)")
                       .Add({});
  return c;
}

prometheus::Counter& events_consumed(std::string_view topic) { return per_topic(consumed_family(), topic); }

prometheus::Counter& consumer_events(const std::string& group, const std::string& outcome) {
  return consumer_events_family().Add({{"group", group}, {"outcome", outcome}});
}

prometheus::Counter& consumer_retries(const std::string& group) { return retries_family().Add({{"group", group}}); }

prometheus::Gauge& consumer_lag(const std::string& group) { return lag_family().Add({{"group", group}}); }

}  // namespace sl::events::metrics
