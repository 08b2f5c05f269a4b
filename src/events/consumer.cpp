#include "events/consumer.hpp"

#include <boost/json/parse.hpp>
#include <unordered_set>

#include "base/log.hpp"
#include "base/trace_context.hpp"
#include "events/metrics.hpp"

namespace sl::events {
namespace {

namespace asio = boost::asio;

std::string field_of(const boost::json::object& o, std::string_view name) {
  auto* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string("-");
}

}  // namespace

std::string describe_processing(const domain::log_event& e) {
  boost::json::error_code ec;
  auto v = boost::json::parse(e.payload, ec);
  std::string out = "Processing " + (e.event_type.empty() ? std::string("unknown") : e.event_type) + " event: ";
  if (ec || !v.is_object()) return out + "unreadable payload";
  const auto& o = v.as_object();
  if (e.event_type.starts_with("message."))
    return out + "message_id=" + field_of(o, "message_id") + ", channel_id=" + field_of(o, "channel_id");
  if (o.contains("channel_id"))
    return out + "channel_id=" + field_of(o, "channel_id") + ", user_id=" + field_of(o, "user_id");
  return out + "user_id=" + field_of(o, "user_id");
}

consumer::consumer(asio::any_io_executor ex, domain::event_log& log, domain::outbox_store& db, const clock& clk,
                   consumer_settings s, event_handler handler)
    : loop_(std::move(ex)), log_(log), db_(db), clock_(clk), s_(std::move(s)), handler_(std::move(handler)) {
  metrics::register_consumer(s_.group);
}

consumer::consumer(asio::any_io_executor ex, domain::event_log& log, domain::outbox_store& db, const clock& clk,
                   consumer_settings s, batch_handler handler)
    : loop_(std::move(ex)), log_(log), db_(db), clock_(clk), s_(std::move(s)), batch_handler_(std::move(handler)) {
  metrics::register_consumer(s_.group);
}

void consumer::start() {
  loop_.start([this] { return run(); }, "consumer " + s_.group);
}

task<void> consumer::stop() { co_await loop_.stop(); }

task<void> consumer::run() {
  auto retry = s_.backoff_min;
  while (!loop_.stopping()) {
    std::unique_ptr<domain::event_stream> stream;
    try {
      co_await log_.ensure_topics(s_.topics);
      stream = co_await log_.subscribe(s_.group, s_.topics);
      log::info("consumer joined its group", {{"group", s_.group}, {"log", std::string(log_.name())}});
      retry = s_.backoff_min;
      co_await consume(*stream);
    } catch (const std::exception& e) {
      // The log or the database is down: join again after a while.
      log::warn("consumer failed, will retry", {{"group", s_.group}, {"error", e.what()}});
    }
    if (stream) {
      try {
        co_await stream->close();
      } catch (const std::exception& e) {
        log::warn("consumer could not leave its group", {{"group", s_.group}, {"error", e.what()}});
      }
    }
    if (loop_.stopping()) break;
    co_await loop_.sleep(retry);
    retry = std::min(retry * 2, s_.backoff_max);
  }
}

task<void> consumer::consume(domain::event_stream& stream) {
  bool idle = true;
  while (!loop_.stopping()) {
    // Measuring lag costs Kafka round trips: done while idle, or now and then
    // under load, so that it rarely delays events.
    const auto since = std::chrono::steady_clock::now() - last_lag_;
    if ((idle && since >= s_.lag_every) || since >= 6 * s_.lag_every) {
      last_lag_ = std::chrono::steady_clock::now();
      // Only a measurement: when it fails (Kafka rebalancing), consumption goes on.
      try {
        metrics::consumer_lag(s_.group).Set(static_cast<double>(co_await stream.lag()));
      } catch (const std::exception& e) {
        log::warn("consumer lag not measured", {{"group", s_.group}, {"error", e.what()}});
      }
    }
    auto batch = co_await stream.poll(s_.batch, s_.poll_wait);
    idle = batch.empty();
    if (batch.empty()) continue;
    if (batch_handler_) {
      co_await handle_batch(batch);
      co_await stream.commit(batch);
      continue;
    }
    std::vector<event_id> ids;
    for (const auto& e : batch)
      if (e.id != event_id{}) ids.push_back(e.id);
    const auto seen = co_await db_.processed_among(s_.group, ids);
    std::unordered_set<std::string> done;
    for (const auto& id : seen) done.insert(id.str());
    std::vector<event_id> handled;
    for (const auto& e : batch) {
      if (e.id != event_id{} && done.contains(e.id.str())) {
        metrics::consumer_events(s_.group, "duplicate").Increment();
        continue;
      }
      co_await handle(e);
      if (e.id != event_id{}) {
        handled.push_back(e.id);
        done.insert(e.id.str());  // a duplicate inside one batch
      }
    }
    end_span();
    co_await db_.record_processed(s_.group, std::move(handled), clock_.now());
    co_await stream.commit(batch);
  }
}

task<void> consumer::handle(const domain::log_event& e) {
  // The event's work is a span of the trace that wrote it: the handler's log
  // lines and the events it writes carry it.
  begin_span(continue_trace(e.traceparent));
  log::info(describe_processing(e), {{"group", s_.group}, {"event_id", e.id.str()}, {"topic", e.topic}});
  auto backoff = s_.backoff_min;
  std::string error;
  for (int attempt = 1; attempt <= s_.max_attempts; ++attempt) {
    try {
      if (e.id == event_id{}) throw std::runtime_error("the event has no event_id");
      co_await handler_(e);
      metrics::consumer_events(s_.group, "processed").Increment();
      co_return;
    } catch (const std::exception& ex) {
      error = ex.what();
    }
    if (attempt == s_.max_attempts) break;
    metrics::consumer_retries(s_.group).Increment();
    log::warn("event handler failed, will retry",
              {{"group", s_.group}, {"event_id", e.id.str()}, {"attempt", attempt}, {"error", error}});
    co_await loop_.sleep(backoff);
    backoff = std::min(backoff * 2, s_.backoff_max);
  }
  co_await dead_letter(e, error, s_.max_attempts);
}

task<void> consumer::handle_batch(const std::vector<domain::log_event>& batch) {
  for (const auto& e : batch) {
    begin_span(continue_trace(e.traceparent));
    log::info(describe_processing(e), {{"group", s_.group}, {"event_id", e.id.str()}, {"topic", e.topic}});
  }
  // What follows serves the whole batch, no one event's trace.
  end_span();
  auto backoff = s_.backoff_min;
  for (int attempt = 1;; ++attempt) {
    std::string error;
    try {
      const auto refused = co_await batch_handler_(batch);
      for (const auto& r : refused) co_await dead_letter(batch.at(r.index), r.reason, 1);
      metrics::consumer_events(s_.group, "processed").Increment(static_cast<double>(batch.size() - refused.size()));
      co_return;
    } catch (const std::exception& ex) {
      error = ex.what();
    }
    if (loop_.stopping()) throw std::runtime_error("stopped before the batch was handled: " + error);
    metrics::consumer_retries(s_.group).Increment();
    log::warn("batch handler failed, will retry", {{"group", s_.group},
                                                   {"events", static_cast<std::int64_t>(batch.size())},
                                                   {"attempt", attempt},
                                                   {"error", error}});
    co_await loop_.sleep(backoff);
    backoff = std::min(backoff * 2, s_.backoff_max);
  }
}

task<void> consumer::dead_letter(const domain::log_event& e, const std::string& error, int attempts) {
  auto dead = e;
  dead.topic = e.topic + std::string(domain::dead_letter_suffix);
  if (dead.id == event_id{}) dead.id = event_id::generate();  // the database log needs one
  dead.headers.emplace_back("error", error);
  dead.headers.emplace_back("attempts", std::to_string(attempts));
  dead.headers.emplace_back("consumer_group", s_.group);
  dead.headers.emplace_back("original_topic", e.topic);
  // A dead letter must not be lost: retry until the log takes it.
  auto backoff = s_.backoff_min;
  for (;;) {
    try {
      co_await log_.sink().append({dead});
      break;
    } catch (const std::exception& ex) {
      log::warn("dead letter not stored, will retry", {{"group", s_.group}, {"error", ex.what()}});
    }
    co_await loop_.sleep(backoff);
    backoff = std::min(backoff * 2, s_.backoff_max);
  }
  metrics::consumer_events(s_.group, "dead_lettered").Increment();
  log::error("event dead-lettered after its retries",
             {{"group", s_.group}, {"event_id", e.id.str()}, {"topic", dead.topic}, {"error", error}});
}

}  // namespace sl::events
