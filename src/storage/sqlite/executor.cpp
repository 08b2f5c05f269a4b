#include "storage/sqlite/executor.hpp"

#include "base/log.hpp"
#include "observability/db_metrics.hpp"

namespace sl::storage::sqlite {
namespace {

using steady = std::chrono::steady_clock;

// Every series carries backend="sqlite", as the PostgreSQL store's carry
// "postgresql": dashboards compare the two with one query. Here a query is a
// read job or a write transaction, and a batch the writes of one transaction.
obs::db_metrics& metrics() {
  static auto m = obs::db_metrics_for("sqlite");
  return m;
}

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

}  // namespace

executor::executor(std::string path, unsigned readers)
    : path_(std::move(path)), writer_conn_(path_), readers_(readers ? readers : 1), reader_pool_(readers_) {
  metrics().pool_max.Increment(readers_);
  writer_ = std::thread([this] { writer_loop(); });
}

executor::~executor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
  reader_pool_.join();
  metrics().pool_max.Decrement(readers_);
  metrics().pool_idle.Decrement(static_cast<double>(idle_readers_.size()));
}

void executor::submit(std::unique_ptr<job> j) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(j));
  }
  cv_.notify_one();
}

void executor::writer_loop() {
  std::vector<std::unique_ptr<job>> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    run_batch(batch);
    batch.clear();
  }
}

void executor::run_batch(std::vector<std::unique_ptr<job>>& batch) {
  std::vector<std::exception_ptr> errors(batch.size());
  std::exception_ptr batch_error;
  const auto started = steady::now();
  try {
    // Prepared once and cached: these run for every write.
    writer_conn_.prepare("BEGIN IMMEDIATE").exec();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      writer_conn_.prepare("SAVEPOINT job").exec();
      try {
        batch[i]->run(writer_conn_);
        writer_conn_.prepare("RELEASE job").exec();
      } catch (...) {
        errors[i] = std::current_exception();
        writer_conn_.prepare("ROLLBACK TO job").exec();
        writer_conn_.prepare("RELEASE job").exec();
      }
    }
    writer_conn_.prepare("COMMIT").exec();
  } catch (const std::exception& e) {
    batch_error = std::current_exception();
    metrics().failed_transactions.Increment();
    log::error("sqlite write batch failed", {{"error", e.what()}, {"batch", batch.size()}});
    try {
      writer_conn_.exec("ROLLBACK");
    } catch (const std::exception&) {
      // No transaction was open: nothing to undo.
    }
  }
  metrics().query_duration.Observe(seconds_since(started));
  metrics().write_batch_size.Observe(static_cast<double>(batch.size()));
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->complete(batch_error ? batch_error : errors[i]);
}

std::unique_ptr<connection> executor::checkout() {
  auto& m = metrics();
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto c = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      m.pool_idle.Decrement();
      m.pool_busy.Increment();
      return c;
    }
  }
  // Counted busy once opened: an open that throws leaves no connection behind.
  auto c = std::make_unique<connection>(path_, true);
  m.pool_busy.Increment();
  return c;
}

void executor::checkin(std::unique_ptr<connection> c, steady::time_point started) {
  auto& m = metrics();
  m.query_duration.Observe(seconds_since(started));
  m.pool_busy.Decrement();
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(std::move(c));
  m.pool_idle.Increment();
}

}  // namespace sl::storage::sqlite
