#include "event_log_fixture.hpp"

#include <cstdlib>

#include "base/random.hpp"
#include "events/db_log.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace sl::test {

std::optional<std::string> kafka_test_bootstrap() {
  const char* v = std::getenv("SIGNALINK_TEST_KAFKA_BOOTSTRAP");  // NOLINT(concurrency-mt-unsafe): nothing sets it
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::vector<backend> kafka_if_configured() {
  if (kafka_test_bootstrap()) return {backend::kafka};
  return {};
}

std::string backend_name(const testing::TestParamInfo<backend>& info) {
  return info.param == backend::kafka ? "kafka" : "database";
}

void event_log_fixture::SetUp() {
  for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ctx_.run(); });
  if (GetParam() == backend::database) {
    dir_ = std::filesystem::temp_directory_path() / ("sl-event-log-" + random_hex(6));
    store_ = storage::sqlite::open({(dir_ / "log.db").string(), 2});
  }
  log_ = &open_log();
  if (GetParam() == backend::database) {
    events::relay_settings rs;
    rs.holder = "test";
    rs.idle_max = 20ms;
    relay_ = std::make_unique<events::outbox_relay>(ctx_.get_executor(), *store_, *log_, false, clock_, rs);
    relay_->start();
  }
}

void event_log_fixture::TearDown() {
  for (auto& [s, closed] : streams_) {
    if (closed) continue;
    try {
      await(s->close());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "close: " << e.what();
    }
  }
  streams_.clear();
  if (relay_) await(relay_->stop());
  for (auto& l : logs_) {
    try {
      await(l->stop());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "stop: " << e.what();
    }
  }
  logs_.clear();
  work_.reset();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!ctx_.stopped() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  if (!ctx_.stopped()) {
    ADD_FAILURE() << "the io_context still had work 10 s after every log stopped";
    ctx_.stop();
  }
  for (auto& t : threads_) t.join();
  relay_.reset();
  store_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

backend_traits event_log_fixture::traits() const {
  return backend_traits{.keeps_headers = GetParam() == backend::kafka};
}

events::kafka::kafka_settings event_log_fixture::kafka_settings() const {
  events::kafka::kafka_settings s;
  s.bootstrap = kafka_test_bootstrap().value_or("");
  s.client_id = "signalink-test";
  s.delivery_timeout = 10s;
  s.request_timeout = 5s;
  return s;
}

domain::event_log& event_log_fixture::open_log() {
  if (GetParam() == backend::kafka) return open_kafka_log(kafka_settings());
  logs_.push_back(std::make_unique<events::db_log>(*store_, clock_, events::db_log_settings{5ms}));
  return *logs_.back();
}

domain::event_log& event_log_fixture::open_kafka_log(events::kafka::kafka_settings s) {
  logs_.push_back(events::kafka::open_kafka_log(ctx_.get_executor(), std::move(s)));
  return *logs_.back();
}

std::string event_log_fixture::new_topic(domain::event_log* on) {
  auto topic = "test." + random_hex(6);
  await((on != nullptr ? *on : log()).ensure_topics({topic}));
  return topic;
}

std::string event_log_fixture::unique_group() { return "test-group-" + random_hex(6); }

domain::log_event make_event(const std::string& topic, const std::string& key, std::string payload, std::string type) {
  domain::log_event e;
  e.id = event_id::generate();
  e.topic = topic;
  e.key = key;
  e.event_type = std::move(type);
  e.payload = payload.empty() ? R"({"event_id":")" + e.id.str() + R"("})" : std::move(payload);
  e.created_at = std::chrono::floor<std::chrono::milliseconds>(system_clock().now());
  return e;
}

domain::event_stream& event_log_fixture::subscribe(const std::string& group, std::vector<std::string> topics) {
  streams_.emplace_back(await(log().subscribe(group, std::move(topics))), false);
  return *streams_.back().first;
}

void event_log_fixture::close(domain::event_stream& s) {
  for (auto& [owned, closed] : streams_) {
    if (owned.get() != &s) continue;
    await(s.close());
    closed = true;
  }
}

std::vector<domain::log_event> event_log_fixture::read(domain::event_stream& s, std::size_t n,
                                                       std::chrono::milliseconds timeout) {
  std::vector<domain::log_event> got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto batch = await(s.poll(n - got.size(), 500ms));
    for (auto& e : batch) got.push_back(std::move(e));
  }
  return got;
}

}  // namespace sl::test
