#include "events/kafka/kafka_log.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <set>
#include <stdexcept>
#include <utility>

#include "base/log.hpp"
#include "events/kafka/detail/client.hpp"
#include "events/kafka/detail/handles.hpp"
#include "events/kafka/detail/metrics.hpp"
#include "events/kafka/detail/producer.hpp"
#include "events/kafka/detail/queue_wakeup.hpp"
#include "events/kafka/detail/stream.hpp"
#include "net/offload.hpp"

namespace sl::events::kafka {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using detail::client;
using detail::producer;

// Past an admin request's own timeout, the time librdkafka may take to report it.
constexpr std::chrono::seconds admin_grace{1};

void validate(const kafka_settings& s) {
  auto positive = [](std::chrono::milliseconds d, const char* name) {
    if (d.count() <= 0) throw std::invalid_argument(std::string("kafka: ") + name + " must be positive");
  };
  if (s.bootstrap.empty()) throw std::invalid_argument("kafka: bootstrap is empty");
  if (s.partitions < 1) throw std::invalid_argument("kafka: partitions must be at least 1");
  if (s.replication_factor < 1) throw std::invalid_argument("kafka: replication_factor must be at least 1");
  if (s.max_queued_records < 1) throw std::invalid_argument("kafka: max_queued_records must be at least 1");
  if (s.linger.count() < 0) throw std::invalid_argument("kafka: linger must not be negative");
  positive(s.delivery_timeout, "delivery_timeout");
  positive(s.request_timeout, "request_timeout");
  if (s.delivery_timeout <= s.linger) throw std::invalid_argument("kafka: delivery_timeout must exceed linger");
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Each topic and its dead-letter twin, once each, in a stable order.
std::vector<std::string> with_dead_letters(const std::vector<std::string>& topics) {
  std::set<std::string> names;
  for (const auto& t : topics) {
    if (t.empty())
      throw kafka_error("kafka: ensure_topics: empty topic name", RD_KAFKA_RESP_ERR__INVALID_ARG, failure::permanent);
    names.insert(t);
    if (!ends_with(t, domain::dead_letter_suffix)) names.insert(t + std::string(domain::dead_letter_suffix));
  }
  return {names.begin(), names.end()};
}

// The next event on `q`, or null at `deadline`.
task<detail::event_ptr> next_event(detail::queue_wakeup& wakeup, rd_kafka_queue_t* q, clock::time_point deadline) {
  for (;;) {
    wakeup.clear();
    if (detail::event_ptr ev{rd_kafka_queue_poll(q, 0)}) co_return ev;
    if (clock::now() >= deadline || !co_await wakeup.wait_until(deadline))
      co_return detail::event_ptr(rd_kafka_queue_poll(q, 0));
  }
}

class kafka_log final : public domain::event_log, public domain::event_sink {
 public:
  kafka_log(asio::any_io_executor ex, kafka_settings s)
      : ex_(std::move(ex)), strand_(asio::make_strand(ex_)), settings_(std::move(s)) {
    detail::register_metrics();
    producer_ = producer::open(strand_, settings_);
    client_ = producer_->instance();
  }

  ~kafka_log() override {
    // Without stop(): the producer stops serving on its strand; its client is
    // destroyed on the blocking pool (records still queued are dropped).
    asio::post(strand_, [p = std::move(producer_)] { (void)p->close(); });
  }

  std::string_view name() const noexcept override { return "kafka"; }
  event_sink& sink() override { return *this; }

  task<void> append(std::vector<domain::log_event> events) override {
    co_await asio::co_spawn(strand_, append_on_strand(std::move(events)), asio::use_awaitable);
  }

  task<void> ensure_topics(std::vector<std::string> topics) override;
  task<std::unique_ptr<domain::event_stream>> subscribe(std::string group, std::vector<std::string> topics) override;
  task<bool> check() override;
  task<void> stop() override;

 private:
  std::shared_ptr<client> instance() const {
    std::lock_guard lock(mu_);
    return client_;
  }
  task<void> append_on_strand(std::vector<domain::log_event> events);
  task<std::shared_ptr<client>> stop_on_strand();

  asio::any_io_executor ex_;
  producer::strand_type strand_;
  kafka_settings settings_;
  std::shared_ptr<producer> producer_;  // on the strand
  bool stopped_ = false;                // on the strand
  mutable std::mutex mu_;
  std::shared_ptr<client> client_;  // the producer's, for admin and metadata; null once stopped
};

task<void> kafka_log::append_on_strand(std::vector<domain::log_event> events) {
  if (stopped_) throw kafka_error("kafka: append after stop()", RD_KAFKA_RESP_ERR__DESTROY);
  auto p = producer_;
  co_await p->append(std::move(events));
}

task<void> kafka_log::ensure_topics(std::vector<std::string> topics) {
  const auto names = with_dead_letters(topics);
  if (names.empty()) co_return;
  const auto c = instance();
  if (!c) throw kafka_error("kafka: ensure_topics after stop()", RD_KAFKA_RESP_ERR__DESTROY);
  rd_kafka_t* rk = c->get();
  const auto timeout_ms = static_cast<int>(settings_.request_timeout.count());
  std::array<char, 512> err{};

  std::vector<detail::new_topic_ptr> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const auto& n : names) {
    detail::new_topic_ptr t(
        rd_kafka_NewTopic_new(n.c_str(), settings_.partitions, settings_.replication_factor, err.data(), err.size()));
    if (!t)
      throw kafka_error("kafka: topic " + n + ": " + err.data(), RD_KAFKA_RESP_ERR__INVALID_ARG, failure::permanent);
    raw.push_back(t.get());
    owned.push_back(std::move(t));
  }
  const detail::admin_options_ptr options(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  // The broker answers once the topics exist (or after the operation timeout).
  if (rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, err.data(), err.size()) ||
      rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, err.data(), err.size()))
    throw kafka_error(std::string("kafka: admin options: ") + err.data(), RD_KAFKA_RESP_ERR__INVALID_ARG,
                      failure::permanent);

  // A queue of its own for the result; librdkafka keeps it alive if we give up first.
  const detail::queue_ptr queue(rd_kafka_queue_new(rk));
  detail::queue_wakeup wakeup(co_await asio::this_coro::executor, queue.get());
  rd_kafka_CreateTopics(rk, raw.data(), raw.size(), options.get(), queue.get());
  const auto ev = co_await next_event(wakeup, queue.get(), clock::now() + settings_.request_timeout + admin_grace);
  if (!ev) throw kafka_error("kafka: creating topics: no answer in time", RD_KAFKA_RESP_ERR__TIMED_OUT);
  if (const auto e = rd_kafka_event_error(ev.get()))
    throw kafka_error(std::string("kafka: creating topics: ") + rd_kafka_event_error_string(ev.get()), e);
  const auto* result = rd_kafka_event_CreateTopics_result(ev.get());
  if (result == nullptr) throw kafka_error("kafka: creating topics: unexpected answer", RD_KAFKA_RESP_ERR__FAIL);
  std::size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
  std::string failures;
  auto first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (std::size_t i = 0; i < n; ++i) {
    const auto e = rd_kafka_topic_result_error(results[i]);
    const char* topic = rd_kafka_topic_result_name(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::info("kafka topic created", {{"topic", topic}, {"partitions", settings_.partitions}});
    } else if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      if (first_error == RD_KAFKA_RESP_ERR_NO_ERROR) first_error = e;
      const char* why = rd_kafka_topic_result_error_string(results[i]);
      failures += std::string(failures.empty() ? "" : "; ") + topic + ": " + (why != nullptr ? why : "");
    }
  }
  if (!failures.empty()) throw kafka_error("kafka: creating topics: " + failures, first_error);
}

task<std::unique_ptr<domain::event_stream>> kafka_log::subscribe(std::string group, std::vector<std::string> topics) {
  auto c = instance();
  if (!c) throw kafka_error("kafka: subscribe after stop()", RD_KAFKA_RESP_ERR__DESTROY);
  if (group.empty() || topics.empty())
    throw kafka_error("kafka: subscribe needs a group and topics", RD_KAFKA_RESP_ERR__INVALID_ARG, failure::permanent);
  co_return std::make_unique<detail::kafka_stream>(ex_, settings_, std::move(group), std::move(topics), std::move(c));
}

task<bool> kafka_log::check() {
  auto c = instance();
  if (!c) co_return false;
  const auto timeout_ms = static_cast<int>(settings_.request_timeout.count());
  // rd_kafka_metadata blocks until the broker answers: on the pool.
  const auto err = co_await net::offload(detail::blocking_pool().get_executor(), [c = std::move(c), timeout_ms] {
    const rd_kafka_metadata_t* raw = nullptr;
    const auto e = rd_kafka_metadata(c->get(), 0, nullptr, &raw, timeout_ms);
    const detail::metadata_ptr md(raw);
    return e;
  });
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) log::debug("kafka check failed", {{"error", rd_kafka_err2str(err)}});
  co_return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

task<std::shared_ptr<client>> kafka_log::stop_on_strand() {
  if (stopped_) co_return nullptr;
  stopped_ = true;
  auto p = producer_;
  if (!co_await p->drain(clock::now() + settings_.delivery_timeout))
    log::warn("kafka: stopping with appends still in flight; they fail");
  co_return p->close();
}

task<void> kafka_log::stop() {
  auto c = co_await asio::co_spawn(strand_, stop_on_strand(), asio::use_awaitable);
  {
    std::lock_guard lock(mu_);
    client_.reset();
  }
  // Destroying the producer blocks (librdkafka's threads end): on the pool.
  // An admin call still running holds its own reference; then it goes later.
  if (c) co_await net::offload(detail::blocking_pool().get_executor(), [c = std::move(c)]() mutable { c.reset(); });
}

}  // namespace

std::unique_ptr<domain::event_log> open_kafka_log(asio::any_io_executor ex, kafka_settings s) {
  validate(s);
  return std::make_unique<kafka_log>(std::move(ex), std::move(s));
}

}  // namespace sl::events::kafka
