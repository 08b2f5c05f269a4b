#include "events/topic_names.hpp"

#include <vector>

namespace sl::events {
namespace {

// Both directions of the mapping, dead-letter twins included.
class topic_map {
 public:
  explicit topic_map(const topic_names& names) {
    for (const auto& [logical, physical] : names) {
      if (logical == physical || physical.empty()) continue;
      add(logical, physical);
      add(logical + std::string(domain::dead_letter_suffix), physical + std::string(domain::dead_letter_suffix));
    }
  }
  bool empty() const { return out_.empty(); }
  const std::string& to_log(const std::string& t) const { return find(out_, t); }
  const std::string& from_log(const std::string& t) const { return find(in_, t); }

 private:
  void add(const std::string& logical, const std::string& physical) {
    out_[logical] = physical;
    in_[physical] = logical;
  }
  static const std::string& find(const std::map<std::string, std::string>& m, const std::string& t) {
    auto it = m.find(t);
    return it == m.end() ? t : it->second;
  }
  std::map<std::string, std::string> out_, in_;
};

class renamed_sink final : public domain::event_sink {
 public:
  renamed_sink(domain::event_sink& inner, const topic_map& map) : inner_(inner), map_(map) {}
  task<void> append(std::vector<domain::log_event> events) override {
    for (auto& e : events) e.topic = map_.to_log(e.topic);
    co_await inner_.append(std::move(events));
  }

 private:
  domain::event_sink& inner_;
  const topic_map& map_;
};

class renamed_stream final : public domain::event_stream {
 public:
  renamed_stream(std::unique_ptr<domain::event_stream> inner, const topic_map& map)
      : inner_(std::move(inner)), map_(map) {}
  task<std::vector<domain::log_event>> poll(std::size_t max, std::chrono::milliseconds wait) override {
    auto events = co_await inner_->poll(max, wait);
    for (auto& e : events) e.topic = map_.from_log(e.topic);
    co_return events;
  }
  task<void> commit(const std::vector<domain::log_event>& handled) override {
    auto physical = handled;
    for (auto& e : physical) e.topic = map_.to_log(e.topic);
    co_await inner_->commit(physical);
  }
  task<std::int64_t> lag() override { return inner_->lag(); }
  task<void> close() override { return inner_->close(); }

 private:
  std::unique_ptr<domain::event_stream> inner_;
  const topic_map& map_;
};

class renamed_log final : public domain::event_log {
 public:
  renamed_log(std::unique_ptr<domain::event_log> inner, topic_map map)
      : inner_(std::move(inner)), map_(std::move(map)), sink_(inner_->sink(), map_) {}
  std::string_view name() const noexcept override { return inner_->name(); }
  task<void> ensure_topics(std::vector<std::string> topics) override {
    for (auto& t : topics) t = map_.to_log(t);
    return inner_->ensure_topics(std::move(topics));
  }
  domain::event_sink& sink() override { return sink_; }
  task<std::unique_ptr<domain::event_stream>> subscribe(std::string group, std::vector<std::string> topics) override {
    for (auto& t : topics) t = map_.to_log(t);
    auto inner = co_await inner_->subscribe(std::move(group), std::move(topics));
    co_return std::make_unique<renamed_stream>(std::move(inner), map_);
  }
  task<bool> check() override { return inner_->check(); }
  task<void> stop() override { return inner_->stop(); }

 private:
  std::unique_ptr<domain::event_log> inner_;
  topic_map map_;
  renamed_sink sink_;
};

}  // namespace

std::unique_ptr<domain::event_log> rename_topics(std::unique_ptr<domain::event_log> inner, const topic_names& names) {
  topic_map map(names);
  if (map.empty()) return inner;
  return std::make_unique<renamed_log>(std::move(inner), std::move(map));
}

}  // namespace sl::events
