#include "observability/process_metrics.hpp"

#include <mutex>

#include "observability/disk_collector.hpp"
#include "observability/metrics.hpp"
#include "observability/process_collector.hpp"

namespace sl::obs {

void register_process_metrics(const std::string& version, const std::string& data_dir) {
  static std::once_flag once;
  std::call_once(once, [&] {
    gauge_family("signalink_build_info", "Always 1; the version label says which build is running")
        .Add({{"version", version}})
        .Set(1);
    add_collectable(std::make_shared<process_collector>());
    add_collectable(std::make_shared<disk_collector>(data_dir));
  });
}

}  // namespace sl::obs
