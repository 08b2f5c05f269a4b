#pragma once
// The PostgreSQL backend's updates of the signalink_db_* series
// (observability/db_metrics.hpp), shared by every pool (updates are deltas,
// so several pools in one process add up). Every series carries
// backend="postgresql" (the SQLite store's carry "sqlite"). Thread-safe.

namespace sl::storage::postgres::detail {

enum class pool_state { idle, busy };

// signalink_db_pool_connections{backend,state="idle|busy"}
void pool_gauge_add(pool_state state, double delta);
// signalink_db_pool_max_connections{backend}: a pool's size, added when it
// is made and taken away when it goes.
void pool_max_add(double delta);
// signalink_db_query_duration_seconds{backend}: one observation per round trip.
void observe_query(double seconds);
// signalink_db_write_batch_size{backend}: messages per group commit.
void observe_write_batch(double messages);
// signalink_db_failed_transactions_total{backend}: group commits that failed as a whole.
void count_failed_transaction();

}  // namespace sl::storage::postgres::detail
