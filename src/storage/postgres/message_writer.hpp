#pragma once
// message_writer: group commit of new messages. Concurrent submit() calls
// queue their message; up to `parallel_batches` of the waiting callers at a
// time (the leaders) each take up to `max_batch` queued messages and commit
// them in one transaction in a single round trip (pipeline: BEGIN, one
// statement for the whole batch, COMMIT), then hand leadership to the next
// waiter, if any. While a batch is in flight new messages queue up, so
// batches grow with load.
//
// The batch statement (sql::create_messages) carries the messages as arrays,
// so PostgreSQL sets up its executor once per batch instead of once per
// message. For each message, in queue order, it decides the outcome as a
// single send would: a repeated (author, client_msg_id) returns the stored
// message with duplicate=true and writes nothing; no channel, not a member
// and a bad parent are refused; otherwise the message is created. Each
// channel's last_seq and message_count move once, by its number of created
// messages, which take the following seqs in queue order (the channel row
// lock serializes writers, so seqs are gap-free); each parent's reply_count
// grows by its new replies; every created message gets its message.created
// outbox row and keeps its resolved mentions (messages.mentions; an empty
// list travels as NULL and costs nothing); a created message is returned with
// them, a duplicate (read back) without.
//
// parallel_batches defaults to 1: batches share the busy channels' rows, so a
// second batch in flight would mostly wait for the first one's row locks
// while holding a connection; more helps only when concurrent batches write
// disjoint channels. Each batch locks its channel rows in id order, so
// concurrent batches (here or on other nodes) queue rather than deadlock.
//
// If a batch fails (two messages of the batch with the same author and
// client_msg_id, a unique violation racing another node, a deadlock with
// another statement...), it is rolled back and its messages are retried one
// by one, each in its own transaction (sql::create_message), so one bad
// message fails only its own caller and a repeated client_msg_id reads as a
// duplicate.
//
// Threading: submit() may be called from any coroutine; it resumes the caller
// on the caller's executor only after the transaction holding its row
// committed. Queue state lives on a private strand.
// Failure: submit() returns the store port's expected errors (no channel, not
// a member, bad parent); it throws pg_error when the database fails, when a
// text value holds a NUL byte or when the message waited in the queue longer
// than `queue_timeout`. If the connection is lost mid-batch the outcome is
// unknown: every caller of that batch gets the error (a retry with the same
// client_msg_id is safe).
// Lifetime: keep the writer alive until every submit() has returned.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "base/task.hpp"
#include "domain/store.hpp"
#include "storage/postgres/pg_pool.hpp"

namespace sl::storage::postgres {

struct writer_options {
  std::size_t max_batch = 256;
  // Batches in flight at once, each on its own connection (see above for why 1).
  std::size_t parallel_batches = 1;
  std::chrono::steady_clock::duration query_timeout = std::chrono::seconds(10);
  std::chrono::steady_clock::duration queue_timeout = std::chrono::seconds(30);
};

class message_writer : public std::enable_shared_from_this<message_writer> {
 public:
  static std::shared_ptr<message_writer> create(std::shared_ptr<pg_pool> pool, writer_options o);

  task<result<domain::created_message>> submit(domain::new_message m);

 private:
  struct item;

  message_writer(std::shared_ptr<pg_pool> pool, writer_options o);
  static task<std::optional<result<domain::created_message>>> enqueue(std::shared_ptr<message_writer> self,
                                                                      domain::new_message m, std::string traceparent);
  // Leader: commits one batch from the front of the queue, then hands over.
  task<void> lead();
  task<void> commit(std::vector<item*> batch);

  std::shared_ptr<pg_pool> pool_;
  writer_options options_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  // Strand state.
  std::deque<item*> queue_;
  std::size_t leaders_ = 0;
};

}  // namespace sl::storage::postgres
