#include "observability/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <mutex>
#include <unordered_set>
#include <vector>

namespace sl::obs {
namespace {

struct declared_family {
  std::string name;
  std::string help;
  const char* type;
};

// What render_metrics() needs besides the registry. Declarations happen at
// start-up and scrapes read them: a plain mutex is enough.
struct catalog {
  std::mutex mu;
  std::vector<declared_family> declared;
  std::unordered_set<std::string> names;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;

  static catalog& get() {
    static catalog c;
    return c;
  }

  void declare(const std::string& name, const std::string& help, const char* type) {
    std::lock_guard lock(mu);
    if (names.insert(name).second) declared.push_back({name, help, type});
  }
};

}  // namespace

prometheus::Registry& registry() {
  static prometheus::Registry r;
  return r;
}

prometheus::Family<prometheus::Counter>& counter_family(const std::string& name, const std::string& help) {
  auto& f = prometheus::BuildCounter().Name(name).Help(help).Register(registry());
  catalog::get().declare(name, help, "counter");
  return f;
}

prometheus::Family<prometheus::Gauge>& gauge_family(const std::string& name, const std::string& help) {
  auto& f = prometheus::BuildGauge().Name(name).Help(help).Register(registry());
  catalog::get().declare(name, help, "gauge");
  return f;
}

prometheus::Family<prometheus::Histogram>& histogram_family(const std::string& name, const std::string& help) {
  auto& f = prometheus::BuildHistogram().Name(name).Help(help).Register(registry());
  catalog::get().declare(name, help, "histogram");
  return f;
}

prometheus::Counter& counter(const std::string& name, const std::string& help) {
  return counter_family(name, help).Add({});
}

prometheus::Gauge& gauge(const std::string& name, const std::string& help) { return gauge_family(name, help).Add({}); }

void add_collectable(std::shared_ptr<prometheus::Collectable> c) {
  auto& cat = catalog::get();
  std::lock_guard lock(cat.mu);
  cat.collectables.push_back(std::move(c));
}

std::string render_metrics() {
  auto families = registry().Collect();
  auto& cat = catalog::get();
  std::vector<declared_family> empty;
  {
    std::lock_guard lock(cat.mu);
    for (const auto& c : cat.collectables) {
      auto more = c->Collect();
      families.insert(families.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    std::unordered_set<std::string> present;
    for (const auto& f : families) present.insert(f.name);
    for (const auto& d : cat.declared)
      if (!present.contains(d.name)) empty.push_back(d);
  }
  prometheus::TextSerializer s;
  auto out = s.Serialize(families);
  // Declared but without series yet: the names are listed, with no samples.
  for (const auto& d : empty) {
    out.append("# HELP ").append(d.name).append(1, ' ').append(d.help).append(1, '\n');
    out.append("# TYPE ").append(d.name).append(1, ' ').append(d.type).append(1, '\n');
  }
  return out;
}

}  // namespace sl::obs
