#pragma once
// The notifier role's engine (docs/notifications.md).
//
// Consumes signalink.messages as group `notifications-consumers`. For each
// message.created it works out who should hear about it (domain::notify::
// decide: mentions, @channel/@here, direct conversations, thread replies,
// preferences and mutes), drops recipients with a socket subscribed to the
// channel, and stores one notification per (event, recipient) with its
// receipt (so a redelivered event changes nothing). Recipients with no socket
// anywhere are also owed external deliveries (webhooks, email), due once the
// coalescing window has passed so that one delivery covers a burst. Created
// and grown notifications reach the recipient's sockets as notification.new.
//
// A delivery loop claims due deliveries with a lease and sends them on a
// small thread pool (the sends block), at most `concurrency` at a time and
// each independent of the others; a failure is retried with exponential
// backoff and jitter, and after `max_attempts` it is appended to
// signalink.notifications.dlq.
//
// Threads: the consumer and the delivery loop are coroutines on `ex`;
// start()/stop() from any thread. Failures: an event whose handling throws is
// retried by the consumer framework (then dead-lettered); a delivery pass
// that fails (database down) is retried on the next tick.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/task.hpp"
#include "base/time.hpp"
#include "domain/broker.hpp"
#include "domain/event_log.hpp"
#include "domain/store.hpp"
#include "events/background_loop.hpp"
#include "events/consumer.hpp"

namespace sl::notify {

inline constexpr const char* consumer_group = "notifications-consumers";
inline constexpr const char* dead_letter_topic = "signalink.notifications.dlq";

struct send_outcome {
  bool delivered = false;
  std::string error;  // why not
};
// Sends one delivery (a webhook call or an email); blocking, called on the
// notifier's pool threads, never concurrently for the same delivery.
using courier = std::function<send_outcome(const domain::notify::delivery&)>;

struct notifier_settings {
  events::consumer_settings consumer;         // group and topics filled by default()
  std::chrono::milliseconds coalesce{10000};  // NOTIFY_COALESCE_MS; also the delivery delay
  bool email_enabled = false;                 // SMTP_URL is set
  int max_attempts = 5;                       // DELIVERY_MAX_ATTEMPTS
  std::chrono::milliseconds backoff{1000};    // DELIVERY_BACKOFF_MS, doubled per attempt
  std::chrono::milliseconds backoff_max{60000};
  std::chrono::milliseconds poll_every{500};  // DELIVERY_POLL_MS
  std::chrono::milliseconds lease{60000};     // longer than any send (its timeout)
  std::size_t concurrency = 4;                // DELIVERY_CONCURRENCY
};

notifier_settings default_notifier_settings();

class notifier {
 public:
  notifier(const boost::asio::any_io_executor& ex, domain::event_log& log, domain::store& db, domain::broker& broker,
           const clock& clk, notifier_settings s, courier send);
  ~notifier();

  void start();
  // Stops consuming (what was handled is committed), then the delivery loop
  // (sends in flight finish first).
  task<void> stop();

  // Handles one event (the consumer calls it; tests may too).
  task<void> handle(const domain::log_event& e);
  // Claims and sends the deliveries due now, waiting for them; returns how
  // many were claimed. The delivery loop calls it; tests may too.
  task<std::size_t> deliver_due();

 private:
  task<void> run_deliveries();
  task<void> send_one(domain::notify::delivery d);
  task<std::optional<domain::notify::channel_info>> channel_info(channel_id c);
  void announce(const domain::notify::notification& n);
  task<void> dead_letter(const domain::notify::delivery& d, const std::string& error, int attempts);

  const boost::asio::any_io_executor ex_;
  domain::event_log& log_;
  domain::store& db_;
  domain::broker& broker_;
  const clock& clock_;
  notifier_settings s_;
  courier send_;
  boost::asio::thread_pool pool_;
  events::consumer consumer_;
  events::background_loop deliveries_;
  std::size_t in_flight_ = 0;  // sends under way (on the strand)
  bool dead_letters_ready_ = false;
  // Direct-ness and privacy never change; names may (a short TTL).
  struct cached_info {
    domain::notify::channel_info info;
    timestamp loaded{};
  };
  std::unordered_map<channel_id, cached_info, uuid_hash> channels_;
};

}  // namespace sl::notify
