#include "storage/postgres/detail/metrics.hpp"

#include "observability/db_metrics.hpp"

namespace sl::storage::postgres::detail {
namespace {

obs::db_metrics& metrics() {
  static auto m = obs::db_metrics_for("postgresql");
  return m;
}

}  // namespace

void pool_gauge_add(pool_state state, double delta) {
  (state == pool_state::idle ? metrics().pool_idle : metrics().pool_busy).Increment(delta);
}

void pool_max_add(double delta) { metrics().pool_max.Increment(delta); }

void observe_query(double seconds) { metrics().query_duration.Observe(seconds); }

void observe_write_batch(double messages) { metrics().write_batch_size.Observe(messages); }

void count_failed_transaction() { metrics().failed_transactions.Increment(); }

}  // namespace sl::storage::postgres::detail
