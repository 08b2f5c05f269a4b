#include "storage/postgres/message_writer.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <optional>

#include "base/log.hpp"
#include "domain/events.hpp"
#include "domain/texts.hpp"
#include "storage/postgres/detail/rows.hpp"
#include "storage/postgres/detail/sql.hpp"

namespace sl::storage::postgres {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

struct message_writer::item {
  enum class state { queued, leading, in_flight, done };

  domain::new_message msg;
  asio::steady_timer timer;
  state st = state::queued;
  std::optional<result<domain::created_message>> outcome;
  std::exception_ptr error;
};

namespace {

// The seq is assigned by the database, inside the statement: the event is
// built with this stand-in and split around it, and the statement joins the
// two halves with the real seq.
constexpr std::int64_t seq_stand_in = -7305931786405712601;

pg_statement make_statement(const domain::new_message& m) {
  domain::message draft;
  draft.id = m.id;
  draft.channel = m.channel;
  draft.author = m.author;
  draft.content = m.content;
  draft.type = m.type;
  draft.metadata = m.metadata;
  draft.created_at = m.now;
  draft.updated_at = m.now;
  draft.seq = seq_stand_in;
  draft.parent = m.parent;
  draft.client_msg_id = m.client_msg_id;
  const auto ev = domain::events::message_event("message.created", draft, m.author, m.now);
  const std::string key = "\"seq\":";
  const std::string marker = key + std::to_string(seq_stand_in);
  // The last occurrence: user metadata comes before the envelope's seq.
  const auto at = ev.payload.rfind(marker);
  if (at == std::string::npos) throw std::logic_error("message event without its seq");

  pg_statement s(sql::create_message, "create_message");
  s.id(m.id).id(m.channel).id(m.author).text(m.content).text(domain::to_string(m.type));
  if (m.metadata.is_null())
    s.null();
  else
    s.text(boost::json::serialize(m.metadata));
  s.id_or_null(m.parent).text_or_null(m.client_msg_id).time(m.now);
  s.id(ev.id).text(ev.topic).text(ev.key).text(ev.event_type);
  s.text(std::string_view(ev.payload).substr(0, at + key.size()));
  s.text(std::string_view(ev.payload).substr(at + marker.size()));
  return s;
}

// Stores the outcome of one message's statement in its item.
void take(std::optional<result<domain::created_message>>& outcome, std::exception_ptr& error, const pg_result& r) {
  if (!r.ok()) {
    error = std::make_exception_ptr(pg_error("postgres: create_message: " + r.error_message(), r.sqlstate()));
    return;
  }
  if (r.rows() != 1) {
    error = std::make_exception_ptr(pg_error("postgres: create_message: no status row"));
    return;
  }
  detail::row_cursor c(r, 0);
  const auto status = c.text();
  if (status == "created" || status == "duplicate")
    outcome.emplace(domain::created_message{detail::read_message(c), status == "duplicate"});
  else if (status == "no_channel")
    outcome.emplace(fail(error_kind::not_found, domain::text::channel_not_found));
  else if (status == "not_member")
    outcome.emplace(fail(error_kind::forbidden, domain::text::send_denied));
  else
    outcome.emplace(fail(error_kind::bad_request, domain::text::parent_not_found));
}

std::string first_error(const std::vector<pg_result>& results) {
  for (const auto& r : results)
    if (!r.ok() && !r.aborted()) return r.sqlstate() + " " + r.error_message();
  return "unknown";
}

}  // namespace

std::shared_ptr<message_writer> message_writer::create(std::shared_ptr<pg_pool> pool, writer_options o) {
  return std::shared_ptr<message_writer>(new message_writer(std::move(pool), o));
}

message_writer::message_writer(std::shared_ptr<pg_pool> pool, writer_options o)
    : pool_(std::move(pool)), options_(o), strand_(asio::make_strand(pool_->executor())) {
  options_.max_batch = std::max<std::size_t>(1, options_.max_batch);
  options_.parallel_batches = std::max<std::size_t>(1, options_.parallel_batches);
}

task<result<domain::created_message>> message_writer::submit(domain::new_message m) {
  // co_spawn needs a default-constructible value: the outcome travels boxed.
  auto boxed = co_await asio::co_spawn(strand_, enqueue(shared_from_this(), std::move(m)), asio::use_awaitable);
  co_return std::move(*boxed);
}

task<std::optional<result<domain::created_message>>> message_writer::enqueue(std::shared_ptr<message_writer> self,
                                                                             domain::new_message m) {
  item it{std::move(m), asio::steady_timer(self->strand_)};
  self->queue_.push_back(&it);
  if (self->leaders_ < self->options_.parallel_batches) {
    ++self->leaders_;
    it.st = item::state::leading;
  }
  const auto deadline = steady::now() + self->options_.queue_timeout;
  while (it.st != item::state::done) {
    if (it.st == item::state::leading) {
      co_await self->lead();
      continue;
    }
    // In flight, the batch's own deadline bounds the wait.
    it.timer.expires_at(it.st == item::state::queued ? deadline : steady::time_point::max());
    co_await it.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (it.st == item::state::queued && steady::now() >= deadline) {
      std::erase(self->queue_, &it);
      throw pg_error("postgres: timed out waiting to write the message");
    }
  }
  if (it.error) std::rethrow_exception(it.error);
  co_return std::move(it.outcome);
}

task<void> message_writer::lead() {
  std::vector<item*> batch;
  while (!queue_.empty() && batch.size() < options_.max_batch) {
    batch.push_back(queue_.front());
    queue_.pop_front();
    batch.back()->st = item::state::in_flight;
  }
  std::exception_ptr failure;
  try {
    co_await commit(batch);
  } catch (const std::exception&) {
    failure = std::current_exception();
  }
  for (item* it : batch) {
    if (!it->outcome && !it->error)
      it->error = failure ? failure : std::make_exception_ptr(pg_error("postgres: message not written"));
    it->st = item::state::done;
    it->timer.cancel();
  }
  if (queue_.empty()) {
    --leaders_;
  } else {
    queue_.front()->st = item::state::leading;
    queue_.front()->timer.cancel();
  }
}

task<void> message_writer::commit(std::vector<item*> batch) {
  // One lock order per batch (by channel, keeping each channel's arrival
  // order) makes deadlocks with other nodes' batches unlikely.
  std::stable_sort(batch.begin(), batch.end(),
                   [](const item* a, const item* b) { return a->msg.channel < b->msg.channel; });
  std::vector<pg_statement> statements;
  statements.reserve(batch.size() + 2);
  statements.emplace_back(sql::begin);
  for (const item* it : batch) statements.push_back(make_statement(it->msg));
  statements.emplace_back(sql::commit);

  auto conn = co_await pool_->checkout(options_.query_timeout);
  auto results = co_await conn->exec(statements, options_.query_timeout);
  if (std::all_of(results.begin(), results.end(), [](const pg_result& r) { return r.ok(); })) {
    for (std::size_t i = 0; i < batch.size(); ++i) take(batch[i]->outcome, batch[i]->error, results[i + 1]);
    co_return;
  }
  // Nothing of the batch committed: undo, then give each message its own transaction.
  log::warn("group commit failed, writing its messages one by one",
            {{"messages", batch.size()}, {"error", first_error(results)}});
  (co_await conn->exec(pg_statement(sql::rollback), options_.query_timeout)).expect_ok("postgres: rollback");
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& s = statements[i + 1];
    auto r = co_await conn->exec(s, options_.query_timeout);
    // Lost a race with the same client_msg_id committed elsewhere: now it reads as a duplicate.
    if (!r.ok() && r.sqlstate() == unique_violation && r.constraint() == sql::client_msg_constraint)
      r = co_await conn->exec(s, options_.query_timeout);
    take(batch[i]->outcome, batch[i]->error, r);
  }
}

}  // namespace sl::storage::postgres
