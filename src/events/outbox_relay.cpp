#include "events/outbox_relay.hpp"

#include <algorithm>
#include <csignal>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include "base/log.hpp"
#include "base/trace_context.hpp"
#include "events/metrics.hpp"

namespace sl::events {
namespace {

namespace asio = boost::asio;

// "Published message.created event for message <id>" (contract of the logs);
// other events name their key.
void log_published(const domain::log_event& e) {
  // Filtered out: no JSON parse or hex formatting per event.
  if (!log::enabled(log::level::info)) return;
  std::string subject = "key " + e.key;
  if (e.event_type.starts_with("message.")) {
    boost::json::error_code ec;
    auto v = boost::json::parse(e.payload, ec);
    if (!ec && v.is_object())
      if (auto* id = v.as_object().if_contains("message_id"); id && id->is_string())
        subject = "message " + std::string(id->as_string());
  }
  boost::json::object fields{{"event_id", e.id.str()}, {"topic", e.topic}, {"key", e.key}};
  // The line belongs to the write's trace, not to the relay's loop.
  if (const auto t = trace_context::parse(e.traceparent)) {
    fields["trace_id"] = t->trace_id_hex();
    fields["span_id"] = t->span_id_hex();
  }
  log::info("Published " + e.event_type + " event for " + subject, std::move(fields));
}

}  // namespace

outbox_relay::outbox_relay(asio::any_io_executor ex, domain::store& db, domain::event_log& log, bool ship,
                           const clock& clk, relay_settings s)
    : loop_(std::move(ex)), db_(db), log_(log), ship_(ship), clock_(clk), s_(std::move(s)) {
  metrics::register_relay();
}

void outbox_relay::start() {
  loop_.start([this] { return run(); }, "outbox relay");
}

void outbox_relay::nudge() {
  asio::post(loop_.executor(), [this] {
    nudged_ = true;
    loop_.wake();
  });
}

task<void> outbox_relay::stop() { co_await loop_.stop(); }

task<void> outbox_relay::run() {
  auto idle = s_.idle_min;
  auto retry = s_.retry_min;
  while (!loop_.stopping()) {
    std::string failure;
    try {
      // Every relay counts, leader or not: a stale count would outlive a lost lease.
      if (std::chrono::steady_clock::now() - last_backlog_ >= s_.backlog_every) co_await count_backlog();
      if (!co_await db_.hold_relay_lease(s_.holder, s_.lease_ttl)) {
        metrics::relay_leader().Set(0);
        co_await loop_.sleep(s_.lease_ttl / 3);
        continue;
      }
      metrics::relay_leader().Set(1);
      const bool busy = co_await relay_once();
      retry = s_.retry_min;
      if (std::chrono::steady_clock::now() - last_prune_ >= s_.prune_every) co_await prune();
      if (busy || nudged_) {
        idle = s_.idle_min;
        continue;
      }
      co_await loop_.sleep(idle);
      idle = std::min(idle * 2, s_.idle_max);
      continue;
    } catch (const std::exception& e) {
      failure = e.what();
    }
    // Kafka or the database is down: the rows wait in the outbox.
    metrics::relay_errors().Increment();
    log::warn("outbox relay: batch failed, will retry", {{"error", failure}, {"retry_ms", retry.count()}});
    co_await loop_.sleep(retry);
    retry = std::min(retry * 2, s_.retry_max);
  }
  co_await release();
}

task<void> outbox_relay::release() {
  try {
    co_await db_.release_relay_lease(s_.holder);
  } catch (const std::exception& e) {
    log::warn("outbox relay: could not release its lease", {{"error", e.what()}});
  }
  metrics::relay_leader().Set(0);
}

task<bool> outbox_relay::relay_once() {
  nudged_ = false;
  if (!topics_ready_) {
    co_await log_.ensure_topics(s_.topics);
    topics_ready_ = true;
  }
  auto rows = co_await db_.unpublished_outbox(s_.batch);
  if (rows.empty()) co_return false;
  std::vector<std::int64_t> ids;
  ids.reserve(rows.size());
  for (const auto& r : rows) ids.push_back(r.id);
  if (ship_) {
    std::vector<domain::log_event> events;
    events.reserve(rows.size());
    for (const auto& r : rows) events.push_back(r.event);
    co_await log_.sink().append(std::move(events));
    if (s_.crash_after_append) {
      log::warn("outbox relay: crashing after an append, as configured (tests)", {{"events", rows.size()}});
      ::raise(SIGKILL);
    }
  }
  try {
    co_await db_.mark_published(std::move(ids), clock_.now());
  } catch (const std::exception&) {
    // With the database log, marking published is producing.
    if (!ship_) metrics::events_produce_errors().Increment(static_cast<double>(rows.size()));
    throw;
  }
  const auto now = clock_.now();
  for (const auto& r : rows) {
    log_published(r.event);
    if (!ship_) metrics::events_produced(r.event.topic).Increment();
    metrics::relay_delay().Observe(std::chrono::duration<double>(now - r.event.created_at).count());
  }
  metrics::relay_published().Increment(static_cast<double>(rows.size()));
  co_return rows.size() == s_.batch;
}

task<void> outbox_relay::count_backlog() {
  last_backlog_ = std::chrono::steady_clock::now();
  // A metrics query must never hold up relaying: on failure the gauges keep
  // their last values and the count is tried again after backlog_every.
  try {
    const auto backlog = co_await db_.pending_outbox();
    metrics::outbox_pending().Set(static_cast<double>(backlog.events));
    const auto age = backlog.oldest ? std::chrono::duration<double>(clock_.now() - *backlog.oldest).count() : 0.0;
    metrics::outbox_oldest_age().Set(std::max(0.0, age));
  } catch (const std::exception& e) {
    log::warn("outbox relay: could not count the backlog", {{"error", e.what()}});
  }
}

task<void> outbox_relay::prune() {
  last_prune_ = std::chrono::steady_clock::now();
  const auto now = clock_.now();
  const auto outbox = co_await db_.prune_outbox(now - s_.retention);
  const auto processed = co_await db_.prune_processed(now - s_.processed_retention);
  if (outbox || processed) log::info("pruned the outbox", {{"published_rows", outbox}, {"processed_ids", processed}});
}

}  // namespace sl::events
