#include "transport/ws/hub.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "transport/ws/codec.hpp"
#include "transport/ws/metrics.hpp"

namespace sl::ws {
namespace {

namespace asio = boost::asio;
constexpr std::int64_t sync_page = 200;

void log_failure(const char* what, const std::exception_ptr& ep) {
  if (ep) log::warn(what, {{"error", log::describe(ep)}});
}

}  // namespace

hub::hub(asio::any_io_executor ex, services& sv) : ex_(std::move(ex)), sv_(sv) {}

void hub::attach(const std::shared_ptr<subscriber>& s) {
  if (sessions_.emplace(s.get(), s).second) by_user_[s->who().id].push_back(s.get());
}

void hub::start_sweep(std::chrono::milliseconds every) {
  sweep_every_ = every;
  sweep_ = std::make_unique<asio::steady_timer>(ex_);
  arm_sweep();
}

void hub::arm_sweep() {
  sweep_->expires_after(sweep_every_);
  sweep_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // the hub is going away
    const auto now = std::chrono::steady_clock::now();
    for (const auto& s : sessions()) s->idle_check(now);
    arm_sweep();
  });
}

void hub::detach(subscriber& s) {
  std::vector<channel_id> mine;
  for (const auto& [c, st] : channels_)
    if (st->subs.contains(&s)) mine.push_back(c);
  for (const auto& c : mine) remove(s, c);
  if (sessions_.erase(&s) == 0) return;
  auto it = by_user_.find(s.who().id);
  if (it == by_user_.end()) return;
  std::erase(it->second, &s);
  if (it->second.empty()) by_user_.erase(it);
}

std::vector<std::shared_ptr<subscriber>> hub::sessions() const {
  std::vector<std::shared_ptr<subscriber>> out;
  out.reserve(sessions_.size());
  for (const auto& [p, s] : sessions_) out.push_back(s);
  return out;
}

std::int64_t hub::delivered_through(const channel_id& c, std::int64_t baseline) {
  auto& st = channels_[c];
  if (!st) {
    st = std::make_shared<channel_state>();
    st->id = c;
    st->next = baseline + 1;
    // Whatever committed between `baseline` and the broker subscription.
    asio::co_spawn(ex_, sync(st), [](const std::exception_ptr& ep) { log_failure("channel sync failed", ep); });
  }
  return st->next - 1;
}

void hub::add(const std::shared_ptr<subscriber>& s, const channel_id& c, std::int64_t last, bool replaying,
              bool presence, bool viewing) {
  auto& st = channels_.at(c);
  auto [it, started] = st->subs.try_emplace(s.get());
  auto& sub = it->second;
  sub.s = s;
  sub.last = last;
  sub.replaying = replaying;
  sub.presence = presence;
  if (started) metrics::subscriptions().Increment();
  // A subscription renewed in place stays one viewer, or stops or starts being one.
  const bool was_viewing = !started && sub.viewing;
  sub.viewing = viewing;
  if (viewing && !was_viewing) sv_.broker.viewer_added(c, s->who().id);
  if (!viewing && was_viewing) sv_.broker.viewer_removed(c, s->who().id);
}

void hub::end_replay(subscriber& s, const channel_id& c) {
  auto it = channels_.find(c);
  if (it == channels_.end()) return;
  auto sit = it->second->subs.find(&s);
  if (sit == it->second->subs.end()) return;
  auto& sub = sit->second;
  sub.replaying = false;
  auto pending = std::move(sub.pending);
  sub.pending_bytes = 0;
  for (auto& p : pending) give(sub, p.seq, p.frame);
}

bool hub::remove(subscriber& s, const channel_id& c) {
  auto it = channels_.find(c);
  if (it == channels_.end()) return false;
  auto st = it->second;
  auto sit = st->subs.find(&s);
  if (sit == st->subs.end()) return false;
  const bool viewing = sit->second.viewing;
  st->subs.erase(sit);
  metrics::subscriptions().Decrement();
  if (viewing) sv_.broker.viewer_removed(c, s.who().id);
  sv_.interests.release(c);
  drop_if_empty(st);
  return true;
}

bool hub::subscribed(subscriber& s, const channel_id& c) const {
  auto it = channels_.find(c);
  return it != channels_.end() && it->second->subs.contains(&s);
}

void hub::drop_if_empty(const state_ptr& st) {
  if (!st->subs.empty()) return;
  st->closed = true;
  channels_.erase(st->id);
}

void hub::on_event(const domain::broker_event& e) {
  using kind = domain::broker_event_kind;
  if (e.kind == kind::presence) return on_presence(e);
  if (e.kind == kind::notification) return on_notification(e);
  auto it = channels_.find(e.channel);
  if (it == channels_.end()) return;
  auto st = it->second;
  switch (e.kind) {
    case kind::message_created:
      if (e.frame) on_message(st, e.seq, e.frame);
      break;
    case kind::message_updated:
    case kind::message_deleted:
      // Changes of messages already delivered; they carry no new seq.
      if (e.frame) broadcast(*st, e.frame, nullptr);
      break;
    case kind::typing:
      if (e.frame && sv_.interests.subscriptions(e.channel) <= sv_.settings.typing_max_subscribers)
        broadcast(*st, e.frame, &e.actor);
      break;
    case kind::membership_started:
      on_member_joined(st, e.actor);
      break;
    case kind::membership_ended:
      end_channel(st, e.reason.empty() ? "removed" : e.reason, &e.actor);
      break;
    case kind::channel_deleted:
      end_channel(st, "deleted", nullptr);
      break;
    case kind::presence:
    case kind::notification:
      break;  // not about a channel: handled above
  }
}

void hub::on_notification(const domain::broker_event& e) {
  if (!e.frame) return;
  auto it = by_user_.find(e.actor);
  if (it == by_user_.end()) return;
  // Held for the loop: a send that closes a slow socket must not unlist it under us.
  std::vector<std::shared_ptr<subscriber>> targets;
  targets.reserve(it->second.size());
  for (auto* s : it->second) targets.push_back(sessions_.at(s));
  for (const auto& s : targets) s->send(e.frame);
}

void hub::on_message(const state_ptr& st, std::int64_t seq, const frame_ptr& f) {
  if (seq < st->next) {
    metrics::duplicates_dropped().Increment();
    return;
  }
  if (seq > st->next) {
    st->held.emplace(seq, f);
    ++st->held_generation;
    arm_gap_timer(st);
    return;
  }
  deliver(*st, seq, f);
  drain_held(*st);
}

void hub::deliver(channel_state& st, std::int64_t seq, const frame_ptr& f) {
  st.next = seq + 1;
  bool live = false;
  for (auto& [p, sub] : st.subs) {
    live = live || !sub.replaying;
    give(sub, seq, f);
  }
  // Once per message and hub (one hub per I/O thread), not per socket: every
  // subscriber shares the frame, and the last one queued it bounds the others.
  // Subscribers still replaying get it later, from their pending frames.
  if (!live) return;
  if (const auto created = message_created_at(*f))
    metrics::fanout_latency().Observe(std::max(0.0, std::chrono::duration<double>(sv_.clk.now() - *created).count()));
}

void hub::give(subscription& sub, std::int64_t seq, const frame_ptr& f) {
  if (sub.replaying) {
    sub.pending.push_back(pending_frame{seq, f});
    sub.pending_bytes += f->size();
    if (sub.pending_bytes > sv_.settings.send_queue_bytes) sub.s->close(4008, "slow consumer");
    return;
  }
  if (seq > 0) {
    if (seq <= sub.last) return;
    sub.last = seq;
  }
  sub.s->send(f);
}

void hub::drain_held(channel_state& st) {
  while (!st.held.empty() && st.held.begin()->first <= st.next) {
    auto node = st.held.extract(st.held.begin());
    if (node.key() == st.next) deliver(st, node.key(), node.mapped());
  }
}

void hub::broadcast(channel_state& st, const frame_ptr& f, const user_id* skip_user) {
  for (auto& [p, sub] : st.subs) {
    if (skip_user && sub.s->who().id == *skip_user) continue;
    give(sub, 0, f);
  }
}

void hub::end_channel(const state_ptr& st, std::string_view reason, const user_id* only) {
  auto frame = make_frame(unsubscribed_frame(sv_.clk.now(), st->id, reason));
  std::vector<std::shared_ptr<subscriber>> ended;
  for (auto& [p, sub] : st->subs)
    if (!only || sub.s->who().id == *only) ended.push_back(sub.s);
  for (auto& s : ended) {
    remove(*s, st->id);
    s->removed(st->id, frame);
  }
}

bool hub::watched(const channel_state& st) {
  for (const auto& [p, sub] : st.subs)
    if (sub.presence) return true;
  return false;
}

void hub::give_watchers(channel_state& st, const frame_ptr& f) {
  for (auto& [p, sub] : st.subs)
    if (sub.presence) give(sub, 0, f);
}

void hub::on_presence(const domain::broker_event& e) {
  frame_ptr frame;
  std::vector<state_ptr> stale;
  for (auto& [c, st] : channels_) {
    if (!watched(*st)) continue;
    if (st->members_loaded + sv_.settings.presence_members_ttl < sv_.clk.now()) stale.push_back(st);
    if (!st->members.contains(e.actor)) continue;
    if (!frame) frame = make_frame(presence_frame(sv_.clk.now(), e.actor, e.status));
    give_watchers(*st, frame);
  }
  for (auto& st : stale)
    asio::co_spawn(ex_, refresh_members(st),
                   [](const std::exception_ptr& ep) { log_failure("members refresh failed", ep); });
}

// A member who joins while online would otherwise stay unseen by the
// channel's presence watchers until their next connect or disconnect.
void hub::on_member_joined(const state_ptr& st, const user_id& who) {
  st->members.insert(who);
  if (!watched(*st)) return;
  asio::co_spawn(ex_, announce_if_online(st, who),
                 [](const std::exception_ptr& ep) { log_failure("presence of a new member failed", ep); });
}

task<void> hub::announce_if_online(state_ptr st, user_id who) {
  auto online = co_await sv_.broker.online_among({who});
  if (online.empty() || st->closed) co_return;
  give_watchers(*st, make_frame(presence_frame(sv_.clk.now(), who, domain::presence_status::online)));
}

task<void> hub::refresh_members(state_ptr st) {
  auto list = co_await sv_.db.list_members(st->id);
  st->members.clear();
  for (auto& m : list) st->members.insert(m.user);
  st->members_loaded = sv_.clk.now();
}

task<std::vector<user_id>> hub::members(channel_id c) {
  auto it = channels_.find(c);
  if (it == channels_.end()) co_return std::vector<user_id>{};
  auto st = it->second;
  if (st->members_loaded + sv_.settings.presence_members_ttl < sv_.clk.now()) co_await refresh_members(st);
  co_return std::vector<user_id>(st->members.begin(), st->members.end());
}

void hub::resync() {
  for (auto& [c, st] : channels_)
    asio::co_spawn(ex_, sync(st), [](const std::exception_ptr& ep) { log_failure("channel sync failed", ep); });
}

void hub::arm_gap_timer(const state_ptr& st) {
  if (st->gap_timer_running || st->syncing) return;
  st->gap_timer_running = true;
  asio::co_spawn(ex_, gap_timer(st), [](const std::exception_ptr& ep) { log_failure("gap timer failed", ep); });
}

task<void> hub::gap_timer(state_ptr st) {
  asio::steady_timer t(ex_, sv_.settings.gap_wait);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  st->gap_timer_running = false;
  if (st->closed || st->held.empty()) co_return;
  metrics::gap_fills().Increment();
  co_await sync(st);
}

// Reads what follows `next` from the store until the held events connect.
// A seq absent from a read that began after the last hold is a deleted
// message: sends commit in seq order per channel, so anything before a held
// seq had committed by then.
task<void> hub::sync(state_ptr st) {
  if (st->syncing) co_return;
  st->syncing = true;
  try {
    while (!st->closed) {
      const auto generation = st->held_generation;
      domain::history_query q{0, sync_page, std::nullopt, st->next - 1};
      auto page = co_await sv_.db.list_messages(st->id, q);
      if (st->closed) break;
      const auto now = sv_.clk.now();
      for (const auto& m : page) {
        if (m.seq < st->next) continue;
        if (auto h = st->held.find(m.seq); h != st->held.end()) {
          auto f = h->second;
          st->held.erase(h);
          deliver(*st, m.seq, f);
        } else {
          deliver(*st, m.seq,
                  make_frame(message_frame(now, domain::message_change::created, m,
                                           m.author_profile ? m.author_profile->username : "")));
        }
        drain_held(*st);
      }
      if (static_cast<std::int64_t>(page.size()) == sync_page) continue;
      if (st->held.empty()) break;
      if (generation == st->held_generation) {
        // Everything between `next` and the first held seq is deleted.
        st->next = st->held.begin()->first;
        drain_held(*st);
        if (st->held.empty()) break;
      }
    }
  } catch (...) {
    st->syncing = false;
    if (!st->held.empty()) arm_gap_timer(st);
    throw;
  }
  st->syncing = false;
  if (!st->held.empty() && !st->closed) arm_gap_timer(st);
}

}  // namespace sl::ws
