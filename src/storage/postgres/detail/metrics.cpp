#include "storage/postgres/detail/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::storage::postgres::detail {
namespace {

struct pool_gauges {
  prometheus::Gauge& idle;
  prometheus::Gauge& busy;
};

pool_gauges& gauges() {
  static auto& family = prometheus::BuildGauge()
                            .Name("signalink_db_pool_connections")
                            .Help("PostgreSQL pool connections by state")
                            .Register(obs::registry());
  static pool_gauges g{family.Add({{"state", "idle"}}), family.Add({{"state", "busy"}})};
  return g;
}

prometheus::Histogram& durations() {
  static auto& family = prometheus::BuildHistogram()
                            .Name("signalink_db_query_duration_seconds")
                            .Help("PostgreSQL round trip duration (one pipeline or script)")
                            .Register(obs::registry());
  static auto& h = family.Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                          0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  return h;
}

}  // namespace

void pool_gauge_add(pool_state state, double delta) {
  auto& g = gauges();
  (state == pool_state::idle ? g.idle : g.busy).Increment(delta);
}

void observe_query(double seconds) { durations().Observe(seconds); }

}  // namespace sl::storage::postgres::detail
