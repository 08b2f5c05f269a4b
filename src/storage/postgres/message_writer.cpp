#include "storage/postgres/message_writer.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <optional>

#include "base/log.hpp"
#include "base/time.hpp"
#include "base/trace_context.hpp"
#include "domain/events.hpp"
#include "domain/texts.hpp"
#include "storage/null_if_empty.hpp"
#include "storage/postgres/detail/array_literal.hpp"
#include "storage/postgres/detail/metrics.hpp"
#include "storage/postgres/detail/rows.hpp"
#include "storage/postgres/detail/sql.hpp"

namespace sl::storage::postgres {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

struct message_writer::item {
  enum class state { queued, leading, in_flight, done };

  domain::new_message msg;
  std::string traceparent;  // of the submitting coroutine: its event carries it
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

// The message.created event of a new message, its payload split around the seq.
struct created_event {
  domain::events::record record;
  std::size_t head_end = 0;    // the payload before the seq value
  std::size_t tail_begin = 0;  // the payload after it

  std::string_view head() const { return std::string_view(record.payload).substr(0, head_end); }
  std::string_view tail() const { return std::string_view(record.payload).substr(tail_begin); }
};

created_event make_event(const domain::new_message& m, const std::string& traceparent) {
  const auto draft = domain::as_created(m, seq_stand_in);
  created_event ev{domain::events::message_event("message.created", draft, m.author, m.now)};
  ev.record.traceparent = traceparent;
  const std::string key = "\"seq\":";
  const std::string marker = key + std::to_string(seq_stand_in);
  // The last occurrence: user metadata comes before the envelope's seq.
  const auto at = ev.record.payload.rfind(marker);
  if (at == std::string::npos) throw std::logic_error("message event without its seq");
  ev.head_end = at + key.size();
  ev.tail_begin = at + marker.size();
  return ev;
}

std::optional<std::string> metadata_text(const domain::new_message& m) {
  if (m.metadata.is_null()) return std::nullopt;
  return boost::json::serialize(m.metadata);
}

// The uuid[] literal of the mentions; nullopt for none, which the SQL stores as '{}'.
std::optional<std::string> mentions_text(const domain::new_message& m) {
  if (m.mentions.empty()) return std::nullopt;
  std::string out = "{";
  for (const auto& u : m.mentions) {
    if (out.size() > 1) out.push_back(',');
    out.append(u.str());
  }
  out.push_back('}');
  return out;
}

// PostgreSQL text cannot hold NUL (validation refuses it before the store).
bool holds_nul(const domain::new_message& m) {
  const auto nul = [](std::string_view v) { return v.find('\0') != std::string_view::npos; };
  return nul(m.content) || (m.client_msg_id && nul(*m.client_msg_id));
}

// One message in its own statement (sql::create_message): a failed batch's retry.
pg_statement make_statement(const domain::new_message& m, const std::string& traceparent) {
  const auto ev = make_event(m, traceparent);
  pg_statement s(sql::create_message, "create_message");
  s.id(m.id).id(m.channel).id(m.author).text(m.content).text(domain::to_string(m.type));
  s.text_or_null(metadata_text(m));
  s.id_or_null(m.parent).text_or_null(m.client_msg_id).time(m.now);
  s.id(ev.record.id).text(ev.record.topic).text(ev.record.key).text(ev.record.event_type);
  s.text(ev.head()).text(ev.tail()).text_or_null(mentions_text(m));
  s.text_or_null(null_if_empty(traceparent));
  return s;
}

// The whole batch in one statement (sql::create_messages): one array per column.
// `traceparents[i]` belongs to `batch[i]`.
pg_statement make_batch_statement(const std::vector<const domain::new_message*>& batch,
                                  const std::vector<const std::string*>& traceparents) {
  detail::array_literal ids, channels, authors, contents, types, metadata, parents, client_ids, times, event_ids,
      topics, keys, event_types, heads, tails, mentions, traces;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const domain::new_message* m = batch[i];
    const std::string& traceparent = *traceparents[i];
    const auto ev = make_event(*m, traceparent);
    ids.add(m->id.str());
    channels.add(m->channel.str());
    authors.add(m->author.str());
    contents.add(m->content);
    types.add(domain::to_string(m->type));
    metadata.add_or_null(metadata_text(*m));
    if (m->parent)
      parents.add(m->parent->str());
    else
      parents.add_null();
    client_ids.add_or_null(m->client_msg_id);
    times.add(format_iso(m->now));
    event_ids.add(ev.record.id.str());
    topics.add(ev.record.topic);
    keys.add(ev.record.key);
    event_types.add(ev.record.event_type);
    heads.add(ev.head());
    tails.add(ev.tail());
    mentions.add_or_null(mentions_text(*m));
    traces.add_or_null(null_if_empty(traceparent));
  }
  pg_statement s(sql::create_messages, "create_messages");
  for (const auto* column : {&ids, &channels, &authors, &contents, &types, &metadata, &parents, &client_ids, &times,
                             &event_ids, &topics, &keys, &event_types, &heads, &tails, &mentions, &traces})
    s.text(column->str());
  return s;
}

// Stores the outcome of one message, row `row` of `r` (which must hold
// `rows` status rows), in its item.
void take(std::optional<result<domain::created_message>>& outcome, std::exception_ptr& error, const pg_result& r,
          int row, int rows, const std::vector<user_id>& mentions) {
  if (!r.ok()) {
    error = std::make_exception_ptr(pg_error("postgres: create_message: " + r.error_message(), r.sqlstate()));
    return;
  }
  if (r.rows() != rows) {
    error = std::make_exception_ptr(pg_error("postgres: create_message: " + std::to_string(r.rows()) +
                                             " status rows for " + std::to_string(rows) + " messages"));
    return;
  }
  detail::row_cursor c(r, row);
  const auto status = c.text();
  if (status == "created" || status == "duplicate") {
    auto msg = detail::read_message(c);
    // As stored now (domain::message::mentions); a duplicate is read back, without them.
    if (status == "created") msg.mentions = mentions;
    outcome.emplace(domain::created_message{std::move(msg), status == "duplicate"});
  } else if (status == "no_channel")
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
  // The writer runs on its strand, outside the caller's trace: the span goes along.
  auto boxed = co_await asio::co_spawn(strand_, enqueue(shared_from_this(), std::move(m), current_traceparent()),
                                       asio::use_awaitable);
  co_return std::move(*boxed);
}

task<std::optional<result<domain::created_message>>> message_writer::enqueue(std::shared_ptr<message_writer> self,
                                                                             domain::new_message m,
                                                                             std::string traceparent) {
  item it{std::move(m), std::move(traceparent), asio::steady_timer(self->strand_)};
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
  // A value the database cannot take fails its own message, not the batch.
  std::erase_if(batch, [](item* it) {
    if (!holds_nul(it->msg)) return false;
    it->error = std::make_exception_ptr(pg_error("postgres: a text value contains a NUL byte"));
    return true;
  });
  if (batch.empty()) co_return;
  std::vector<const domain::new_message*> messages;
  std::vector<const std::string*> traceparents;
  messages.reserve(batch.size());
  traceparents.reserve(batch.size());
  for (const item* it : batch) {
    messages.push_back(&it->msg);
    traceparents.push_back(&it->traceparent);
  }
  std::vector<pg_statement> statements;
  statements.emplace_back(sql::begin);
  statements.push_back(make_batch_statement(messages, traceparents));
  statements.emplace_back(sql::commit);

  auto conn = co_await pool_->checkout(options_.query_timeout);
  auto results = co_await conn->exec(statements, options_.query_timeout);
  detail::observe_write_batch(static_cast<double>(batch.size()));
  if (std::all_of(results.begin(), results.end(), [](const pg_result& r) { return r.ok(); })) {
    const int n = static_cast<int>(batch.size());
    for (int i = 0; i < n; ++i) take(batch[i]->outcome, batch[i]->error, results[1], i, n, batch[i]->msg.mentions);
    co_return;
  }
  // Nothing of the batch committed: undo, then give each message its own transaction.
  detail::count_failed_transaction();
  log::warn("group commit failed, writing its messages one by one",
            {{"messages", batch.size()}, {"error", first_error(results)}});
  (co_await conn->exec(pg_statement(sql::rollback), options_.query_timeout)).expect_ok("postgres: rollback");
  for (item* it : batch) {
    const auto s = make_statement(it->msg, it->traceparent);
    auto r = co_await conn->exec(s, options_.query_timeout);
    // The same client_msg_id committed elsewhere meanwhile: now it reads as a duplicate.
    if (!r.ok() && r.sqlstate() == unique_violation && r.constraint() == sql::client_msg_constraint)
      r = co_await conn->exec(s, options_.query_timeout);
    take(it->outcome, it->error, r, 0, 1, it->msg.mentions);
  }
}

}  // namespace sl::storage::postgres
