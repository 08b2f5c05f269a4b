#include "storage/sqlite/executor.hpp"

#include "base/log.hpp"
#include "observability/metrics.hpp"

namespace sl::storage::sqlite {
namespace {

using steady = std::chrono::steady_clock;

// Every series carries backend="sqlite", as the PostgreSQL store's carry
// "postgresql": dashboards compare the two with one query.
struct sqlite_metrics {
  // Group commit, observed: how many writes each transaction carried.
  prometheus::Histogram& batch_size;
  prometheus::Counter& failed_batches;
  // One observation per read job and per write transaction.
  prometheus::Histogram& query_duration;
  prometheus::Gauge& readers_idle;
  prometheus::Gauge& readers_busy;
  prometheus::Gauge& readers_max;

  static sqlite_metrics& get() {
    static const prometheus::Labels backend{{"backend", "sqlite"}};
    static auto& pool = obs::gauge_family("signalink_db_pool_connections", "Database connections by backend and state");
    static sqlite_metrics m{
        obs::histogram_family("signalink_db_write_batch_size",
                              "Writes committed per database transaction (group commit)")
            .Add(backend, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256}),
        obs::counter_family("signalink_db_failed_transactions_total", "Write transactions that failed as a whole")
            .Add(backend),
        obs::histogram_family(
            "signalink_db_query_duration_seconds",
            "Database work by backend: a PostgreSQL round trip, a SQLite read job or write transaction")
            .Add(backend, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                                  0.25, 0.5, 1, 2.5, 5}),
        pool.Add({{"backend", "sqlite"}, {"state", "idle"}}),
        pool.Add({{"backend", "sqlite"}, {"state", "busy"}}),
        obs::gauge_family("signalink_db_pool_max_connections", "Connections a database pool may open, by backend")
            .Add(backend)};
    return m;
  }
};

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

}  // namespace

executor::executor(std::string path, unsigned readers)
    : path_(std::move(path)), writer_conn_(path_), readers_(readers ? readers : 1), reader_pool_(readers_) {
  sqlite_metrics::get().readers_max.Increment(readers_);
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
  auto& m = sqlite_metrics::get();
  m.readers_max.Decrement(readers_);
  m.readers_idle.Decrement(static_cast<double>(idle_readers_.size()));
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
    sqlite_metrics::get().failed_batches.Increment();
    log::error("sqlite write batch failed", {{"error", e.what()}, {"batch", batch.size()}});
    try {
      writer_conn_.exec("ROLLBACK");
    } catch (const std::exception&) {
      // No transaction was open: nothing to undo.
    }
  }
  auto& m = sqlite_metrics::get();
  m.query_duration.Observe(seconds_since(started));
  m.batch_size.Observe(static_cast<double>(batch.size()));
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->complete(batch_error ? batch_error : errors[i]);
}

std::unique_ptr<connection> executor::checkout() {
  auto& m = sqlite_metrics::get();
  m.readers_busy.Increment();
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto c = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      m.readers_idle.Decrement();
      return c;
    }
  }
  return std::make_unique<connection>(path_, true);
}

void executor::checkin(std::unique_ptr<connection> c, steady::time_point started) {
  auto& m = sqlite_metrics::get();
  m.query_duration.Observe(seconds_since(started));
  m.readers_busy.Decrement();
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(std::move(c));
  m.readers_idle.Increment();
}

}  // namespace sl::storage::sqlite
