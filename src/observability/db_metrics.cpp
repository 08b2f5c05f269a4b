#include "observability/db_metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::obs {

db_metrics db_metrics_for(const std::string& backend) {
  const prometheus::Labels labels{{"backend", backend}};
  auto& pool = gauge_family("signalink_db_pool_connections", "Database connections by backend and state");
  return db_metrics{
      pool.Add({{"backend", backend}, {"state", "idle"}}),
      pool.Add({{"backend", backend}, {"state", "busy"}}),
      gauge_family("signalink_db_pool_max_connections", "Connections a database pool may open, by backend").Add(labels),
      histogram_family("signalink_db_query_duration_seconds",
                       "Database work by backend: a PostgreSQL round trip, a SQLite read job or write transaction")
          .Add(labels, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                               0.25, 0.5, 1, 2.5, 5}),
      histogram_family("signalink_db_write_batch_size", "Writes committed per database transaction (group commit)")
          .Add(labels, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256}),
      counter_family("signalink_db_failed_transactions_total", "Write transactions that failed as a whole")
          .Add(labels)};
}

}  // namespace sl::obs
