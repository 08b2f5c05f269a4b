#include "observability/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace sl::obs {

prometheus::Registry& registry() {
  static prometheus::Registry r;
  return r;
}

std::string render_metrics() {
  prometheus::TextSerializer s;
  return s.Serialize(registry().Collect());
}

}  // namespace sl::obs
