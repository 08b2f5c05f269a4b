#include "notify/notifier.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "base/log.hpp"
#include "base/random.hpp"
#include "domain/events.hpp"
#include "domain/notifications.hpp"
#include "net/offload.hpp"
#include "notify/metrics.hpp"

namespace sl::notify {
namespace {

namespace asio = boost::asio;
namespace dn = domain::notify;

constexpr auto channel_info_ttl = std::chrono::seconds(30);
constexpr std::size_t channel_cache_max = 10000;

std::string string_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_string()) throw std::invalid_argument("message.created without " + std::string(key));
  return std::string(v->as_string());
}

template <typename Id>
Id id_at(const boost::json::object& o, std::string_view key) {
  auto id = Id::parse(string_at(o, key));
  if (!id) throw std::invalid_argument("message.created with a bad " + std::string(key));
  return *id;
}

// The parts of a message.created envelope the notifier needs.
struct created_event {
  message_id message;
  channel_id channel;
  user_id author;
  std::string content;
  std::optional<message_id> parent;
  std::vector<user_id> mentions;
  bool mentions_channel = false;
  bool mentions_here = false;
};

created_event parse_created(const domain::log_event& e) {
  boost::json::error_code ec;
  auto v = boost::json::parse(e.payload, ec);
  if (ec || !v.is_object()) throw std::invalid_argument("message.created that is not a JSON object");
  const auto& o = v.as_object();
  created_event c;
  c.message = id_at<message_id>(o, "message_id");
  c.channel = id_at<channel_id>(o, "channel_id");
  c.author = id_at<user_id>(o, "user_id");
  c.content = string_at(o, "content");
  if (const auto* p = o.if_contains("parent_id"); p && p->is_string()) c.parent = id_at<message_id>(o, "parent_id");
  if (const auto* ids = o.if_contains("mention_ids"); ids && ids->is_array())
    for (const auto& x : ids->as_array())
      if (x.is_string())
        if (auto u = user_id::parse(x.as_string())) c.mentions.push_back(*u);
  if (const auto* names = o.if_contains("mentions"); names && names->is_array())
    for (const auto& x : names->as_array()) {
      if (!x.is_string()) continue;
      c.mentions_channel |= x.as_string() == "channel";
      c.mentions_here |= x.as_string() == "here";
    }
  return c;
}

std::string frame_of(const dn::notification& n, timestamp now) {
  return boost::json::serialize(boost::json::object{
      {"type", "notification.new"}, {"timestamp", format_iso(now)}, {"notification", dn::to_json(n)}});
}

std::string outcome_name(dn::record_outcome o) {
  switch (o) {
    case dn::record_outcome::created:
      return "created";
    case dn::record_outcome::folded:
      return "folded";
    case dn::record_outcome::duplicate:
      return "duplicate";
  }
  return "created";
}

}  // namespace

notifier_settings default_notifier_settings() {
  notifier_settings s;
  s.consumer.group = consumer_group;
  s.consumer.topics = {domain::events::messages_topic};
  return s;
}

notifier::notifier(const asio::any_io_executor& ex, domain::event_log& log, domain::store& db, domain::broker& broker,
                   const clock& clk, notifier_settings s, courier send)
    : ex_(asio::make_strand(ex)),
      log_(log),
      db_(db),
      broker_(broker),
      clock_(clk),
      s_(std::move(s)),
      send_(std::move(send)),
      pool_(std::max<std::size_t>(1, s_.concurrency)),
      consumer_(ex_, log, db, clk, s_.consumer, [this](const domain::log_event& e) { return handle(e); }),
      deliveries_(ex_) {}

notifier::~notifier() {
  pool_.stop();
  pool_.join();
}

void notifier::start() {
  metrics::register_metrics();
  consumer_.start();
  deliveries_.start([this] { return run_deliveries(); }, "notification delivery loop");
}

task<void> notifier::stop() {
  co_await consumer_.stop();
  co_await deliveries_.stop();
}

task<std::optional<dn::channel_info>> notifier::channel_info(channel_id c) {
  const auto now = clock_.now();
  if (auto it = channels_.find(c); it != channels_.end() && now - it->second.loaded < channel_info_ttl)
    co_return it->second.info;
  auto info = co_await db_.notifications().channel_info(c);
  if (channels_.size() >= channel_cache_max) channels_.clear();
  if (info) channels_[c] = cached_info{*info, now};
  co_return info;
}

task<void> notifier::handle(const domain::log_event& e) {
  if (e.event_type != "message.created") co_return;
  const auto ev = parse_created(e);
  auto info = co_await channel_info(ev.channel);
  if (!info) co_return;  // the channel is gone: nobody to tell
  auto& store = db_.notifications();

  std::vector<user_id> thread;
  if (ev.parent) thread = co_await store.thread_participants(*ev.parent);
  const bool everyone = info->is_direct || ev.mentions_channel || ev.mentions_here;
  if (!everyone && ev.mentions.empty() && thread.empty()) co_return;

  std::optional<std::vector<user_id>> only;
  if (!everyone) {
    only.emplace(ev.mentions);
    only->insert(only->end(), thread.begin(), thread.end());
    only->push_back(ev.author);
  }
  const auto members = co_await store.audience(ev.channel, std::move(only));

  dn::message_facts facts{
      *info, ev.author, domain::role::member, ev.mentions, ev.mentions_channel, ev.mentions_here, std::move(thread)};
  for (const auto& m : members)
    if (m.user == ev.author) facts.author_role = m.member_role;
  std::vector<user_id> online;
  if (ev.mentions_here) {
    std::vector<user_id> all;
    for (const auto& m : members) all.push_back(m.user);
    online = co_await broker_.online_among(std::move(all));
  }
  auto decisions = dn::decide(facts, members, online);
  if (decisions.empty()) co_return;

  // Someone looking at the channel sees the message itself: nothing more.
  std::vector<user_id> recipients;
  for (const auto& d : decisions) recipients.push_back(d.recipient);
  const auto viewing = co_await broker_.viewing_among(ev.channel, recipients);
  std::erase_if(decisions, [&](const dn::decision& d) {
    return std::find(viewing.begin(), viewing.end(), d.recipient) != viewing.end();
  });
  if (decisions.empty()) co_return;
  recipients.clear();
  for (const auto& d : decisions) recipients.push_back(d.recipient);
  const auto connected = co_await broker_.online_among(recipients);

  std::vector<dn::new_notification> ns;
  const auto text = dn::preview(ev.content);
  for (const auto& d : decisions) {
    const auto& m = *std::find_if(members.begin(), members.end(), [&](const auto& x) { return x.user == d.recipient; });
    const bool offline = std::find(connected.begin(), connected.end(), d.recipient) == connected.end();
    ns.push_back(dn::new_notification{notification_id::generate(), d.recipient, d.type, ev.channel, ev.message,
                                      ev.author, text, offline && m.prefs.push,
                                      offline && m.prefs.email && s_.email_enabled});
  }
  const auto stored = co_await store.record_notifications(e.id, std::move(ns), s_.coalesce, s_.coalesce, clock_.now());
  for (const auto& r : stored) {
    metrics::notifications(std::string(dn::to_string(r.n.type)), outcome_name(r.outcome)).Increment();
    if (r.outcome != dn::record_outcome::duplicate) announce(r.n);
  }
}

void notifier::announce(const dn::notification& n) {
  domain::broker_event be;
  be.kind = domain::broker_event_kind::notification;
  be.actor = n.recipient;
  be.frame = std::make_shared<const std::string>(frame_of(n, clock_.now()));
  broker_.publish(std::move(be));
}

task<std::size_t> notifier::deliver_due() {
  const auto free = s_.concurrency > in_flight_ ? s_.concurrency - in_flight_ : 0;
  if (free == 0) co_return 0;
  const auto now = clock_.now();
  auto due = co_await db_.notifications().claim_deliveries(now, now + s_.lease, free);
  for (auto& d : due) {
    ++in_flight_;
    asio::co_spawn(ex_, send_one(std::move(d)), asio::detached);
  }
  co_return due.size();
}

task<void> notifier::send_one(dn::delivery d) {
  const std::string channel(dn::to_string(d.channel));
  try {
    auto outcome = co_await net::offload(pool_.get_executor(), [this, &d] { return send_(d); });
    auto& store = db_.notifications();
    const auto attempts = d.attempts + 1;
    if (outcome.delivered) {
      co_await store.delivery_sent(d.id, clock_.now());
      metrics::deliveries(channel, "sent").Increment();
      log::info("notification delivered", {{"delivery_id", d.id.str()},
                                           {"notification_id", d.n.id.str()},
                                           {"channel", channel},
                                           {"attempt", attempts}});
    } else if (attempts < s_.max_attempts) {
      // Exponential backoff with "equal jitter": half fixed, half random.
      auto delay = s_.backoff;
      for (int i = 1; i < attempts && delay < s_.backoff_max; ++i) delay *= 2;
      delay = std::min(delay, s_.backoff_max);
      const auto half = delay / 2;
      const auto jitter = std::chrono::milliseconds(
          half.count() > 0 ? static_cast<std::int64_t>(fast_random_u64() % static_cast<std::uint64_t>(half.count() + 1))
                           : 0);
      co_await store.delivery_retry(d.id, clock_.now() + half + jitter, outcome.error);
      metrics::deliveries(channel, "retried").Increment();
      log::info("notification delivery failed, will retry",
                {{"delivery_id", d.id.str()}, {"channel", channel}, {"attempt", attempts}, {"error", outcome.error}});
    } else {
      co_await dead_letter(d, outcome.error, attempts);
      co_await store.delivery_failed(d.id, outcome.error, clock_.now());
      metrics::deliveries(channel, "failed").Increment();
      log::warn("notification delivery failed for good",
                {{"delivery_id", d.id.str()}, {"channel", channel}, {"attempts", attempts}, {"error", outcome.error}});
    }
  } catch (const std::exception& ex) {
    // The lease runs out and another pass takes the delivery again.
    log::warn("notification delivery not recorded", {{"delivery_id", d.id.str()}, {"error", ex.what()}});
  }
  --in_flight_;
  deliveries_.wake();
}

task<void> notifier::dead_letter(const dn::delivery& d, const std::string& error, int attempts) {
  const auto now = clock_.now();
  const auto id = event_id::generate();
  boost::json::object o{{"event_id", id.str()},
                        {"event_type", "notification.delivery_failed"},
                        {"timestamp", format_iso(now)},
                        {"user_id", d.n.recipient.str()},
                        {"delivery_id", d.id.str()},
                        {"notification_id", d.n.id.str()},
                        {"channel", dn::to_string(d.channel)},
                        {"target", d.target},
                        {"attempts", attempts},
                        {"error", error}};
  domain::log_event e;
  e.id = id;
  e.topic = dead_letter_topic;
  e.key = d.n.recipient.str();
  e.event_type = "notification.delivery_failed";
  e.payload = boost::json::serialize(o);
  e.created_at = now;
  if (!dead_letters_ready_) {
    // A notifier alone (no relay in its process) may be the first to write there.
    co_await log_.ensure_topics({domain::events::notifications_topic});
    dead_letters_ready_ = true;
  }
  co_await log_.sink().append({std::move(e)});
}

task<void> notifier::run_deliveries() {
  while (!deliveries_.stopping()) {
    try {
      co_await deliver_due();
    } catch (const std::exception& e) {
      log::warn("notification deliveries not claimed, will retry", {{"error", e.what()}});
    }
    co_await deliveries_.sleep(s_.poll_every);
  }
  asio::steady_timer t(ex_);
  while (in_flight_ > 0) {
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace sl::notify
