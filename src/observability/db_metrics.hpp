#pragma once
// The signalink_db_* series, declared here once for both storage backends
// (one name, one help text, one set of buckets) and labelled by backend
// ("sqlite", "postgresql") so dashboards compare them with one query.
// Thread-safe; updates are deltas, so several pools in a process add up.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <string>

namespace sl::obs {

struct db_metrics {
  // signalink_db_pool_connections{backend,state}
  prometheus::Gauge& pool_idle;
  prometheus::Gauge& pool_busy;
  // signalink_db_pool_max_connections{backend}: connections the pools may open.
  prometheus::Gauge& pool_max;
  // signalink_db_query_duration_seconds{backend}: what one unit of database
  // work is depends on the backend (docs/metrics.md).
  prometheus::Histogram& query_duration;
  // signalink_db_write_batch_size{backend}: writes per group commit.
  prometheus::Histogram& write_batch_size;
  // signalink_db_failed_transactions_total{backend}: group commits that failed as a whole.
  prometheus::Counter& failed_transactions;
};

// The series of `backend`, made on the first call (later calls return the
// same series); keep the result rather than calling per update.
db_metrics db_metrics_for(const std::string& backend);

}  // namespace sl::obs
