#include "observability/disk_collector.hpp"

#include <sys/statvfs.h>

namespace sl::obs {
namespace {

prometheus::MetricFamily family(const char* name, const char* help, const std::string& path, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric m;
  m.label.push_back(prometheus::ClientMetric::Label{"path", path});
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

std::vector<prometheus::MetricFamily> disk_collector::Collect() const {
  struct statvfs st {};
  if (::statvfs(path_.c_str(), &st) != 0) return {};
  const auto unit = static_cast<double>(st.f_frsize);
  return {family("signalink_disk_free_bytes", "Bytes available to the server on the data directory's filesystem", path_,
                 static_cast<double>(st.f_bavail) * unit),
          family("signalink_disk_total_bytes", "Size in bytes of the data directory's filesystem", path_,
                 static_cast<double>(st.f_blocks) * unit)};
}

}  // namespace sl::obs
