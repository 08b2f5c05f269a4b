#include "storage/sqlite/executor.hpp"

#include "base/log.hpp"
#include "observability/metrics.hpp"

namespace sl::storage::sqlite {
namespace {

// Group commit, observed: how many writes each transaction carried.
struct writer_metrics {
  prometheus::Histogram& batch_size;
  prometheus::Counter& failed_batches;

  static writer_metrics& get() {
    static writer_metrics m{
        prometheus::BuildHistogram()
            .Name("signalink_db_write_batch_size")
            .Help("Writes committed per database transaction (group commit)")
            .Register(obs::registry())
            .Add({{"backend", "sqlite"}}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256}),
        prometheus::BuildCounter()
            .Name("signalink_db_failed_transactions_total")
            .Help("Write transactions that failed as a whole")
            .Register(obs::registry())
            .Add({{"backend", "sqlite"}})};
    return m;
  }
};

}  // namespace

executor::executor(std::string path, unsigned readers)
    : path_(std::move(path)), writer_conn_(path_), reader_pool_(readers ? readers : 1) {
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
    writer_metrics::get().failed_batches.Increment();
    log::error("sqlite write batch failed", {{"error", e.what()}, {"batch", batch.size()}});
    try {
      writer_conn_.exec("ROLLBACK");
    } catch (const std::exception&) {
      // No transaction was open: nothing to undo.
    }
  }
  writer_metrics::get().batch_size.Observe(static_cast<double>(batch.size()));
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->complete(batch_error ? batch_error : errors[i]);
}

std::unique_ptr<connection> executor::checkout() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto c = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return c;
    }
  }
  return std::make_unique<connection>(path_, true);
}

void executor::checkin(std::unique_ptr<connection> c) {
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(std::move(c));
}

}  // namespace sl::storage::sqlite
