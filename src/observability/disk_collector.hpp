#pragma once
// signalink_disk_free_bytes{path} and signalink_disk_total_bytes{path}: the
// filesystem holding `path` (the data directory), read with statvfs at scrape
// time. Free is what an unprivileged process may still write (f_bavail), the
// number that matters before the database runs out of room. Collect() is
// thread-safe; a path that cannot be read is left out of that scrape.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace sl::obs {

class disk_collector final : public prometheus::Collectable {
 public:
  explicit disk_collector(std::string path) : path_(std::move(path)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string path_;
};

}  // namespace sl::obs
