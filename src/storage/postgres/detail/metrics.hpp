#pragma once
// The PostgreSQL backend's metrics, registered once per process in
// sl::obs::registry() and shared by every pool (updates are deltas, so
// several pools in one process add up). Thread-safe.

namespace sl::storage::postgres::detail {

enum class pool_state { idle, busy };

// signalink_db_pool_connections{state="idle|busy"}
void pool_gauge_add(pool_state state, double delta);
// signalink_db_query_duration_seconds: one observation per round trip.
void observe_query(double seconds);

}  // namespace sl::storage::postgres::detail
