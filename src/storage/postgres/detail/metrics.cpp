#include "storage/postgres/detail/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::storage::postgres::detail {
namespace {

struct pg_metrics {
  prometheus::Gauge& idle;
  prometheus::Gauge& busy;
  prometheus::Gauge& max;
  prometheus::Histogram& durations;
  prometheus::Histogram& batch_size;
  prometheus::Counter& failed_transactions;

  static pg_metrics& get() {
    static auto& pool = obs::gauge_family("signalink_db_pool_connections", "Database connections by backend and state");
    static pg_metrics m{
        pool.Add({{"backend", "postgresql"}, {"state", "idle"}}),
        pool.Add({{"backend", "postgresql"}, {"state", "busy"}}),
        obs::gauge_family("signalink_db_pool_max_connections", "Connections a database pool may open, by backend")
            .Add({{"backend", "postgresql"}}),
        obs::histogram_family(
            "signalink_db_query_duration_seconds",
            "Database work by backend: a PostgreSQL round trip, a SQLite read job or write transaction")
            .Add({{"backend", "postgresql"}},
                 prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                         0.5, 1, 2.5, 5}),
        obs::histogram_family("signalink_db_write_batch_size",
                              "Writes committed per database transaction (group commit)")
            .Add({{"backend", "postgresql"}},
                 prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256}),
        obs::counter_family("signalink_db_failed_transactions_total", "Write transactions that failed as a whole")
            .Add({{"backend", "postgresql"}})};
    return m;
  }
};

}  // namespace

void pool_gauge_add(pool_state state, double delta) {
  auto& m = pg_metrics::get();
  (state == pool_state::idle ? m.idle : m.busy).Increment(delta);
}

void pool_max_add(double delta) { pg_metrics::get().max.Increment(delta); }

void observe_query(double seconds) { pg_metrics::get().durations.Observe(seconds); }

void observe_write_batch(double messages) { pg_metrics::get().batch_size.Observe(messages); }

void count_failed_transaction() { pg_metrics::get().failed_transactions.Increment(); }

}  // namespace sl::storage::postgres::detail
