#include "broker_fixture.hpp"

#include <cstdlib>

#include "base/random.hpp"
#include "broker/local/local_broker.hpp"
#include "redis_server.hpp"

namespace sl::test {

std::optional<std::string> redis_test_url() {
  const char* v = std::getenv("SIGNALINK_TEST_REDIS_URL");  // NOLINT(concurrency-mt-unsafe): nothing sets it
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::vector<backend> redis_if_configured() {
  if (redis_test_url()) return {backend::redis};
  return {};
}

std::string backend_name(const testing::TestParamInfo<backend>& info) {
  return info.param == backend::in_process ? "in_process" : "redis";
}

void recorder::on_event(const domain::broker_event& e) {
  {
    std::lock_guard lock(mu_);
    events_.push_back(e);
  }
  cv_.notify_all();
}

void recorder::on_reconnect() {
  {
    std::lock_guard lock(mu_);
    ++reconnects_;
  }
  cv_.notify_all();
}

bool recorder::wait_for(const std::function<bool(const events&)>& pred, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return pred(events_); });
}

bool recorder::wait_reconnects(int n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return reconnects_ >= n; });
}

recorder::events recorder::snapshot() const {
  std::lock_guard lock(mu_);
  return events_;
}

int recorder::reconnects() const {
  std::lock_guard lock(mu_);
  return reconnects_;
}

std::size_t count_presence(const recorder::events& es, const user_id& u, domain::presence_status s) {
  std::size_t n = 0;
  for (const auto& e : es)
    if (e.kind == domain::broker_event_kind::presence && e.actor == u && e.status == s) ++n;
  return n;
}

std::size_t count_seq(const recorder::events& es, const channel_id& c, std::int64_t seq) {
  std::size_t n = 0;
  for (const auto& e : es)
    if (e.kind != domain::broker_event_kind::presence && e.channel == c && e.seq == seq) ++n;
  return n;
}

void broker_fixture::SetUp() {
  prefix_ = "signalink-test-" + random_hex(6) + ":";
  for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ctx_.run(); });
}

void broker_fixture::TearDown() {
  for (auto& n : nodes_) {
    if (!n->broker) continue;
    try {
      await(n->broker->stop());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "stop: " << e.what();
    }
    n->broker.reset();
  }
  nodes_.clear();
  work_.reset();
  // The brokers' last handlers drain, then run() returns on both threads.
  if (!wait_until([this] { return ctx_.stopped(); }, 10s)) {
    ADD_FAILURE() << "the io_context still had work 10 s after every broker stopped";
    ctx_.stop();
  }
  for (auto& t : threads_) t.join();
  if (GetParam() == backend::redis) redis_delete_prefix(*redis_test_url(), prefix_);
}

broker::redis::redis_settings broker_fixture::settings(std::string url) const {
  broker::redis::redis_settings s;
  s.url = url.empty() ? redis_test_url().value_or("") : std::move(url);
  s.prefix = prefix_;
  s.heartbeat_interval = 200ms;
  s.heartbeat_ttl = 1000ms;
  s.command_timeout = 1000ms;
  s.reconnect_min = 50ms;
  s.reconnect_max = 400ms;
  return s;
}

node& broker_fixture::add_node() {
  if (GetParam() == backend::redis) return add_node(settings());
  auto n = std::make_unique<node>();
  n->broker = std::make_unique<broker::local_broker>();
  n->broker->start(handlers_for(n->seen));
  nodes_.push_back(std::move(n));
  return *nodes_.back();
}

node& broker_fixture::add_node(broker::redis::redis_settings s, bool wait_connected) {
  auto n = std::make_unique<node>();
  n->broker = broker::redis::open_redis_broker(ctx_.get_executor(), std::move(s));
  n->broker->start(handlers_for(n->seen));
  auto* b = n->broker.get();
  nodes_.push_back(std::move(n));
  if (wait_connected && !wait_until([b] { return b->connected(); }, 10s))
    throw std::runtime_error("the Redis broker did not connect within 10 s");
  return *nodes_.back();
}

void broker_fixture::crash(node& n) { n.broker.reset(); }

bool broker_fixture::wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);  // polling step, bounded by the deadline
  }
}

domain::broker_event broker_fixture::message_event(const channel_id& c, std::int64_t seq, std::string frame) const {
  domain::broker_event e;
  e.kind = domain::broker_event_kind::message_created;
  e.channel = c;
  e.seq = seq;
  e.actor = user_id::generate();
  e.frame = std::make_shared<const std::string>(std::move(frame));
  return e;
}

domain::broker_handlers handlers_for(const std::shared_ptr<recorder>& r) {
  domain::broker_handlers h;
  h.on_event = [r](const domain::broker_event& e) { r->on_event(e); };
  h.on_reconnect = [r] { r->on_reconnect(); };
  return h;
}

}  // namespace sl::test
