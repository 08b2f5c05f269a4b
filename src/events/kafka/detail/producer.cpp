#include "events/kafka/detail/producer.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <string>

#include "base/log.hpp"
#include "events/kafka/detail/metrics.hpp"
#include "events/kafka/detail/records.hpp"
#include "events/metrics.hpp"

namespace sl::events::kafka::detail {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Past message.timeout.ms, the time librdkafka may take to report the expiry.
constexpr std::chrono::seconds report_grace{1};

conf_ptr producer_conf(const kafka_settings& s) {
  auto conf = make_conf({
      {"bootstrap.servers", s.bootstrap},
      {"client.id", s.client_id + "-producer"},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      // The idempotent producer keeps order per partition with up to 5 in flight.
      {"max.in.flight.requests.per.connection", "5"},
      {"compression.codec", s.compression},
      {"linger.ms", std::to_string(s.linger.count())},
      {"message.timeout.ms", std::to_string(s.delivery_timeout.count())},
      {"queue.buffering.max.messages", std::to_string(s.max_queued_records)},
      {"log.connection.close", "false"},
  });
  // Reports and errors as events on the main queue, served by the strand.
  rd_kafka_conf_set_events(conf.get(), RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR);
  return conf;
}

}  // namespace

struct producer::batch {
  explicit batch(const strand_type& s) : done(s, clock::time_point::max()) {}
  asio::steady_timer done;  // cancelled when the last report is in
  std::size_t pending = 0;  // records produced, not reported yet
  bool producing = true;    // the append is still handing records over
  std::size_t failed = 0;
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
};

std::shared_ptr<producer> producer::open(strand_type strand, const kafka_settings& s) {
  auto c = make_shared_client(RD_KAFKA_PRODUCER, producer_conf(s), s.client_id + "-producer");
  std::shared_ptr<producer> p(new producer(std::move(strand), std::move(c), s));
  asio::dispatch(p->strand_, [p] {
    p->serve();
    p->arm();
  });
  return p;
}

producer::producer(strand_type strand, std::shared_ptr<client> c, const kafka_settings& s)
    : strand_(std::move(strand)),
      client_(std::move(c)),
      main_queue_(rd_kafka_queue_get_main(client_->get())),
      wakeup_(std::make_unique<queue_wakeup>(strand_, main_queue_.get())),
      delivery_timeout_(s.delivery_timeout),
      room_(strand_, clock::time_point::max()),
      idle_(strand_, clock::time_point::max()) {}

producer::~producer() {
  wakeup_.reset();
  main_queue_.reset();
}

void producer::arm() {
  if (closed_) return;
  wakeup_->async_wait(asio::bind_executor(strand_, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    self->serve();
    self->arm();
  }));
}

void producer::serve() {
  wakeup_->clear();
  bool reported = false;
  while (event_ptr ev{rd_kafka_queue_poll(main_queue_.get(), 0)}) {
    switch (rd_kafka_event_type(ev.get())) {
      case RD_KAFKA_EVENT_DR:
        on_delivery(ev.get());
        reported = true;
        break;
      case RD_KAFKA_EVENT_ERROR:
        on_error(ev.get());
        break;
      default:
        break;
    }
  }
  if (reported) room_.cancel();
}

void producer::on_delivery(rd_kafka_event_t* ev) {
  std::size_t errors = 0;
  auto first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  while (const rd_kafka_message_t* m = rd_kafka_event_message_next(ev)) {
    auto* b = static_cast<batch*>(m->_private);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (errors++ == 0) first_error = m->err;
      if (b->failed++ == 0) b->first_error = m->err;
    } else {
      events::metrics::events_produced(rd_kafka_topic_name(m->rkt)).Increment();
    }
    --b->pending;
    finish_if_done(*b);
  }
  if (errors > 0) {
    events::metrics::events_produce_errors().Increment(static_cast<double>(errors));
    log_client_error(client_->context(), first_error, std::to_string(errors) + " records not delivered",
                     failure::transient);
  }
}

void producer::on_error(rd_kafka_event_t* ev) {
  const bool fatal = rd_kafka_event_error_is_fatal(ev) != 0;
  auto err = rd_kafka_event_error(ev);
  std::string reason = rd_kafka_event_error_string(ev);
  if (fatal) {
    std::array<char, 512> why{};
    err = rd_kafka_fatal_error(client_->get(), why.data(), why.size());
    reason = why.data();
    fatal_ = reason;
  }
  log_client_error(client_->context(), err, reason, fatal ? failure::permanent : failure::transient);
}

void producer::finish_if_done(batch& b) {
  if (b.pending != 0 || b.producing) return;
  b.done.cancel();
  in_flight_.erase(&b);  // the append, if still waiting, holds its own reference
  if (in_flight_.empty()) idle_.cancel();
}

rd_kafka_resp_err_t producer::produce(const domain::log_event& e, batch* b) {
  auto headers = make_headers(e);
  std::array<rd_kafka_vu_t, 7> vu{};
  vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vu[0].u.cstr = e.topic.c_str();
  vu[1].vtype = RD_KAFKA_VTYPE_KEY;
  vu[1].u.mem = {const_cast<char*>(e.key.data()), e.key.size()};  // copied (RD_KAFKA_MSG_F_COPY)
  vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
  vu[2].u.mem = {const_cast<char*>(e.payload.data()), e.payload.size()};
  vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vu[3].u.i = RD_KAFKA_MSG_F_COPY;
  vu[4].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
  vu[4].u.i64 = to_record_timestamp(e.created_at);
  vu[5].vtype = RD_KAFKA_VTYPE_HEADERS;
  vu[5].u.headers = headers.get();
  vu[6].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vu[6].u.ptr = b;
  const error_ptr err(rd_kafka_produceva(client_->get(), vu.data(), vu.size()));
  if (!err) {
    (void)headers.release();  // the record owns them now
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  return rd_kafka_error_code(err.get());
}

task<bool> producer::wait_for_room(clock::time_point deadline) {
  asio::steady_timer timer(strand_, deadline);
  const auto r = co_await (room_.async_wait(use_tuple) || timer.async_wait(use_tuple));
  co_return r.index() == 0 && !closed_;
}

task<void> producer::append(std::vector<domain::log_event> events) {
  auto self = shared_from_this();
  if (closed_) throw kafka_error("kafka: append after stop()", RD_KAFKA_RESP_ERR__DESTROY);
  if (!fatal_.empty())
    throw kafka_error("kafka: the producer failed: " + fatal_, RD_KAFKA_RESP_ERR__FATAL, failure::permanent);
  if (events.empty()) co_return;
  const auto deadline = clock::now() + delivery_timeout_ + report_grace;
  auto b = std::make_shared<batch>(strand_);
  in_flight_.emplace(b.get(), b);

  std::optional<kafka_error> refused;
  std::size_t i = 0;
  while (i < events.size() && !refused) {
    const auto err = produce(events[i], b.get());
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++b->pending;
      ++i;
    } else if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Reports free room; they arrive through serve() on this strand.
      count_producer_wait();
      if (!co_await wait_for_room(deadline))
        refused = closed_ ? kafka_error("kafka: append: the log stopped", RD_KAFKA_RESP_ERR__DESTROY)
                          : make_error("kafka: append: no room in the producer queue before the deadline", err);
    } else {
      refused = make_error("kafka: append to " + events[i].topic, err);
    }
  }
  b->producing = false;
  finish_if_done(*b);
  if (refused) {
    events::metrics::events_produce_errors().Increment(static_cast<double>(events.size() - i));
    throw *refused;
  }

  if (b->pending > 0 && !closed_) {
    b->done.expires_at(deadline);
    co_await b->done.async_wait(use_tuple);
  }
  if (b->pending > 0) {
    const auto what = std::to_string(b->pending) + " of " + std::to_string(events.size()) + " events";
    if (closed_)
      throw kafka_error("kafka: append: the log stopped before " + what + " were acknowledged",
                        RD_KAFKA_RESP_ERR__DESTROY);
    throw kafka_error("kafka: append: " + what + " not acknowledged within the delivery timeout",
                      RD_KAFKA_RESP_ERR__TIMED_OUT);
  }
  if (b->failed > 0)
    throw make_error("kafka: append: " + std::to_string(b->failed) + " of " + std::to_string(events.size()) +
                         " events not delivered",
                     b->first_error);
}

task<bool> producer::drain(clock::time_point deadline) {
  auto self = shared_from_this();
  asio::steady_timer timer(strand_, deadline);
  while (!in_flight_.empty() && !closed_) {
    const auto r = co_await (idle_.async_wait(use_tuple) || timer.async_wait(use_tuple));
    if (r.index() == 1) break;
  }
  co_return in_flight_.empty();
}

std::shared_ptr<client> producer::close() {
  if (closed_) return nullptr;
  closed_ = true;
  // The pending wait completes (aborted) and lets go of this producer.
  wakeup_.reset();
  main_queue_.reset();
  for (auto& [raw, b] : in_flight_) b->done.cancel();
  room_.cancel();
  idle_.cancel();
  return std::move(client_);
}

}  // namespace sl::events::kafka::detail
