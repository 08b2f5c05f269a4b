#include "events/kafka/detail/stream.hpp"

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <cstring>
#include <map>
#include <utility>

#include "base/log.hpp"
#include "events/kafka/detail/metrics.hpp"
#include "events/kafka/detail/records.hpp"
#include "events/metrics.hpp"
#include "net/offload.hpp"

namespace sl::events::kafka::detail {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

// While leaving the group, how often to look whether it is done (librdkafka
// does not always put something on the queue when it is).
constexpr std::chrono::milliseconds close_recheck{100};

void apply_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  const char* protocol = rd_kafka_rebalance_protocol(rk);
  const bool cooperative = protocol != nullptr && std::strcmp(protocol, "COOPERATIVE") == 0;
  const bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
  if (cooperative) {
    const error_ptr e(assign ? rd_kafka_incremental_assign(rk, parts) : rd_kafka_incremental_unassign(rk, parts));
  } else {
    rd_kafka_assign(rk, assign ? parts : nullptr);
  }
}

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
  apply_rebalance(rk, err, parts);
  const auto* ctx = static_cast<const client_context*>(opaque);
  if (log::enabled(log::level::debug) && ctx != nullptr)
    log::debug(err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "kafka partitions assigned" : "kafka partitions revoked",
               {{"client", ctx->name}, {"partitions", parts != nullptr ? parts->cnt : 0}});
}

void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* ctx = static_cast<client_context*>(opaque);
  if (ctx != nullptr)
    log_client_error(*ctx, static_cast<rd_kafka_resp_err_t>(err), reason,
                     err == RD_KAFKA_RESP_ERR__FATAL ? failure::permanent : failure::transient);
}

conf_ptr consumer_conf(const kafka_settings& s, const std::string& group) {
  auto conf = make_conf({
      {"bootstrap.servers", s.bootstrap},
      {"client.id", s.client_id + "-" + group},
      {"group.id", group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"session.timeout.ms", std::to_string(s.session_timeout.count())},
      {"heartbeat.interval.ms", std::to_string(std::max<std::int64_t>(100, s.session_timeout.count() / 3))},
      // Prefetch up to 8 MB per partition instead of 64: a process may hold many streams.
      {"queued.max.messages.kbytes", "8192"},
      {"log.connection.close", "false"},
  });
  rd_kafka_conf_set_rebalance_cb(conf.get(), &on_rebalance);
  rd_kafka_conf_set_error_cb(conf.get(), &on_error);
  return conf;
}

// Milliseconds left until `deadline`, at least 1 (0 would mean "no wait" or "forever" to some calls).
int remaining_ms(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return static_cast<int>(std::clamp<std::int64_t>(left, 1, 3'600'000));
}

}  // namespace

kafka_stream::kafka_stream(const asio::any_io_executor& ex, const kafka_settings& s, std::string group,
                           std::vector<std::string> topics, std::shared_ptr<client> other)
    : client_(make_shared_client(RD_KAFKA_CONSUMER, consumer_conf(s, group), s.client_id + "-" + group)),
      other_(std::move(other)),
      group_(std::move(group)),
      topics_(std::move(topics)),
      request_timeout_(s.request_timeout) {
  rd_kafka_t* rk = client_->get();
  // Errors and other main-queue events arrive with the records.
  if (const auto err = rd_kafka_poll_set_consumer(rk)) throw make_error("kafka: " + group_ + ": consumer queue", err);
  consumer_queue_.reset(rd_kafka_queue_get_consumer(rk));
  consumer_wakeup_ = std::make_unique<queue_wakeup>(ex, consumer_queue_.get());
  reply_queue_.reset(rd_kafka_queue_new(rk));
  reply_wakeup_ = std::make_unique<queue_wakeup>(ex, reply_queue_.get());

  partitions_ptr subscription(rd_kafka_topic_partition_list_new(static_cast<int>(topics_.size())));
  for (const auto& t : topics_) rd_kafka_topic_partition_list_add(subscription.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (const auto err = rd_kafka_subscribe(rk, subscription.get()))
    throw make_error("kafka: " + group_ + ": subscribe", err, failure::permanent);
}

kafka_stream::~kafka_stream() { release_queues(); }

void kafka_stream::release_queues() noexcept {
  // Wakeups first: each detaches from its queue while the queue still exists.
  consumer_wakeup_.reset();
  reply_wakeup_.reset();
  consumer_queue_.reset();
  reply_queue_.reset();
}

void kafka_stream::take(std::vector<domain::log_event>& out, std::size_t max) {
  while (out.size() < max) {
    const message_ptr m(rd_kafka_consumer_poll(client_->get(), 0));
    if (!m) return;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      const auto kind = m->err == RD_KAFKA_RESP_ERR__FATAL ? failure::permanent : failure::transient;
      log_client_error(client_->context(), m->err, rd_kafka_message_errstr(m.get()), kind);
      if (kind == failure::permanent)
        throw make_error("kafka: " + group_ + ": consumer failed", m->err, failure::permanent);
      continue;
    }
    out.push_back(to_event(view_of(*m)));
    events::metrics::events_consumed(out.back().topic).Increment();
  }
}

task<std::vector<domain::log_event>> kafka_stream::poll(std::size_t max, std::chrono::milliseconds wait) {
  if (closed_) throw kafka_error("kafka: poll on a closed stream", RD_KAFKA_RESP_ERR__STATE, failure::permanent);
  std::vector<domain::log_event> out;
  if (max == 0) co_return out;
  const auto deadline = clock::now() + wait;
  for (;;) {
    consumer_wakeup_->clear();
    take(out, max);
    if (!out.empty() || clock::now() >= deadline) break;
    if (!co_await consumer_wakeup_->wait_until(deadline)) {
      take(out, max);
      break;
    }
  }
  co_return out;
}

task<void> kafka_stream::commit(const std::vector<domain::log_event>& handled) {
  if (closed_) throw kafka_error("kafka: commit on a closed stream", RD_KAFKA_RESP_ERR__STATE, failure::permanent);
  // Everything is read from `handled` before the first suspension.
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next;
  for (const auto& e : handled) {
    auto& offset = next[{e.topic, e.partition}];
    offset = std::max(offset, e.offset + 1);
  }
  if (next.empty()) co_return;
  partitions_ptr offsets(rd_kafka_topic_partition_list_new(static_cast<int>(next.size())));
  for (const auto& [where, offset] : next)
    rd_kafka_topic_partition_list_add(offsets.get(), where.first.c_str(), where.second)->offset = offset;

  const auto tag = ++commits_;
  void* opaque = reinterpret_cast<void*>(tag);  // NOLINT(performance-no-int-to-ptr): a tag, never dereferenced
  reply_wakeup_->clear();
  if (const auto err = rd_kafka_commit_queue(client_->get(), offsets.get(), reply_queue_.get(), nullptr, opaque))
    throw make_error("kafka: " + group_ + ": commit", err);
  const auto deadline = clock::now() + request_timeout_;
  for (;;) {
    while (const event_ptr ev{rd_kafka_queue_poll(reply_queue_.get(), 0)}) {
      if (rd_kafka_event_type(ev.get()) != RD_KAFKA_EVENT_OFFSET_COMMIT || rd_kafka_event_opaque(ev.get()) != opaque)
        continue;  // a late answer to a commit that timed out
      if (const auto err = rd_kafka_event_error(ev.get())) throw make_error("kafka: " + group_ + ": commit", err);
      if (const auto* parts = rd_kafka_event_topic_partition_list(ev.get())) {
        for (int i = 0; i < parts->cnt; ++i) {
          const auto& p = parts->elems[i];
          if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR)
            throw make_error("kafka: " + group_ + ": commit " + p.topic + "[" + std::to_string(p.partition) + "]",
                             p.err);
        }
      }
      count_commit();
      co_return;
    }
    if (clock::now() >= deadline || !co_await reply_wakeup_->wait_until(deadline))
      throw kafka_error(
          "kafka: " + group_ + ": commit not confirmed within " + std::to_string(request_timeout_.count()) + " ms",
          RD_KAFKA_RESP_ERR__TIMED_OUT);
    reply_wakeup_->clear();
  }
}

task<std::int64_t> kafka_stream::lag() {
  if (closed_) throw kafka_error("kafka: lag on a closed stream", RD_KAFKA_RESP_ERR__STATE, failure::permanent);
  const auto deadline = clock::now() + request_timeout_;
  co_return co_await net::offload(blocking_pool().get_executor(),
                                  [c = client_, other = other_, topics = topics_, deadline] {
                                    return group_lag(c->get(), other->get(), topics, deadline);
                                  });
}

task<void> kafka_stream::close() {
  if (closed_) co_return;
  closed_ = true;
  rd_kafka_t* rk = client_->get();
  const auto deadline = clock::now() + request_timeout_;
  // Leaves the group in librdkafka's threads; what it needs served arrives on the reply queue.
  if (error_ptr err{rd_kafka_consumer_close_queue(rk, reply_queue_.get())}) {
    log_client_error(client_->context(), rd_kafka_error_code(err.get()), rd_kafka_error_string(err.get()),
                     failure::transient);
  } else {
    while (rd_kafka_consumer_closed(rk) == 0) {
      reply_wakeup_->clear();
      while (const event_ptr ev{rd_kafka_queue_poll(reply_queue_.get(), 0)}) {
        if (rd_kafka_event_type(ev.get()) == RD_KAFKA_EVENT_REBALANCE)
          apply_rebalance(rk, rd_kafka_event_error(ev.get()), rd_kafka_event_topic_partition_list(ev.get()));
      }
      if (rd_kafka_consumer_closed(rk) != 0) break;
      if (clock::now() >= deadline) {
        log::warn("kafka stream did not leave its group in time", {{"client", client_->name()}});
        break;
      }
      co_await reply_wakeup_->wait_until(std::min(deadline, clock::now() + close_recheck));
    }
  }
  release_queues();
  other_.reset();
  // The last reference, dropped on the pool: destroying the consumer blocks.
  co_await net::offload(blocking_pool().get_executor(), [c = std::move(client_)]() mutable { c.reset(); });
}

std::int64_t group_lag(rd_kafka_t* consumer, rd_kafka_t* other, const std::vector<std::string>& topics,
                       clock::time_point deadline) {
  partitions_ptr parts(rd_kafka_topic_partition_list_new(0));
  for (const auto& t : topics) {
    const topic_ptr rkt(rd_kafka_topic_new(other, t.c_str(), nullptr));
    if (!rkt) throw kafka_error("kafka: lag: topic " + t, RD_KAFKA_RESP_ERR__INVALID_ARG, failure::permanent);
    const rd_kafka_metadata_t* raw = nullptr;
    const auto err = rd_kafka_metadata(other, 0, rkt.get(), &raw, remaining_ms(deadline));
    const metadata_ptr md(raw);
    if (err) throw make_error("kafka: lag: metadata of " + t, err);
    for (int i = 0; i < md->topic_cnt; ++i) {
      const auto& mt = md->topics[i];
      if (mt.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // a topic that does not exist lags by nothing
      for (int p = 0; p < mt.partition_cnt; ++p)
        rd_kafka_topic_partition_list_add(parts.get(), mt.topic, mt.partitions[p].id);
    }
  }
  if (parts->cnt == 0) return 0;
  if (const auto err = rd_kafka_committed(consumer, parts.get(), remaining_ms(deadline)))
    throw make_error("kafka: lag: committed offsets", err);
  std::int64_t lag = 0;
  for (int i = 0; i < parts->cnt; ++i) {
    const auto& p = parts->elems[i];
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (const auto err =
            rd_kafka_query_watermark_offsets(other, p.topic, p.partition, &low, &high, remaining_ms(deadline)))
      throw make_error("kafka: lag: watermarks of " + std::string(p.topic), err);
    const std::int64_t from = p.offset >= 0 ? p.offset : low;
    lag += std::max<std::int64_t>(0, high - from);
  }
  return lag;
}

}  // namespace sl::events::kafka::detail
