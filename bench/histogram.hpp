#pragma once
// A latency histogram with fixed relative precision (~1%): log-spaced buckets
// from 1 µs to ~100 s, so percentiles cost O(buckets) and memory is constant.
// Not thread-safe: one per coroutine/thread, then merge().

#include <array>
#include <cmath>
#include <cstdint>

namespace sl::bench {

class histogram {
 public:
  static constexpr double min_us = 1.0;
  static constexpr double growth = 1.02;  // 2% bucket width -> <=1% error at the midpoint
  static constexpr std::size_t buckets = 1000;

  void record(double micros) {
    ++count_;
    max_ = std::max(max_, micros);
    sum_ += micros;
    ++counts_[index(micros)];
  }
  void merge(const histogram& o) {
    for (std::size_t i = 0; i < buckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
  }
  // The non-empty buckets as (index, count), and their sum back: a
  // histogram crosses processes this way.
  template <typename Fn>
  void for_each_bucket(Fn fn) const {
    for (std::size_t i = 0; i < buckets; ++i)
      if (counts_[i]) fn(i, counts_[i]);
  }
  void add_bucket(std::size_t i, std::uint64_t n, double max_us) {
    counts_[std::min(i, buckets - 1)] += n;
    count_ += n;
    sum_ += static_cast<double>(n) * min_us * std::pow(growth, static_cast<double>(i) + 0.5);
    max_ = std::max(max_, max_us);
  }
  std::uint64_t count() const { return count_; }
  double max_us() const { return max_; }
  double mean_us() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }
  // The q-quantile (0..1) in microseconds: the midpoint of its bucket.
  double quantile_us(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets; ++i) {
      seen += counts_[i];
      if (seen >= rank && counts_[i]) return std::min(max_, min_us * std::pow(growth, static_cast<double>(i) + 0.5));
    }
    return max_;
  }

 private:
  static std::size_t index(double us) {
    if (us <= min_us) return 0;
    const auto i = static_cast<std::size_t>(std::log(us / min_us) / std::log(growth));
    return std::min(i, buckets - 1);
  }
  std::array<std::uint64_t, buckets> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
  double max_ = 0;
};

}  // namespace sl::bench
