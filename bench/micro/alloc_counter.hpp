#pragma once
// Counts heap allocations made through operator new on the calling thread
// (alloc_counter.cpp replaces the global operator new for this binary), so a
// benchmark can report allocations per item next to its time.

#include <benchmark/benchmark.h>

#include <cstdint>

namespace sl::bench {

// operator new calls made by this thread so far.
std::uint64_t allocations() noexcept;

// Sets state.counters["allocs_per_item"] from the allocations made since `since`.
inline void report_allocations(benchmark::State& state, std::uint64_t since, std::int64_t items) {
  if (items > 0) state.counters["allocs_per_item"] = static_cast<double>(allocations() - since) / items;
}

}  // namespace sl::bench
