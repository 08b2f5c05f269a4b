// Codec cost per message: parsing a client's message.send, rendering the message.receive that fans out.

#include <benchmark/benchmark.h>

#include <variant>

#include "alloc_counter.hpp"
#include "sample.hpp"
#include "transport/ws/codec.hpp"

namespace {

using namespace sl;

// parse_client_frame of a valid message.send: JSON parse, then the field rules.
void codec_parse_message_send(benchmark::State& state) {
  const auto text = bench::sample_send_frame(channel_id::generate());
  if (!std::holds_alternative<ws::client_request>(ws::parse_client_frame(text))) {
    state.SkipWithError("the sample message.send frame does not parse");
    return;
  }
  const auto allocs = bench::allocations();
  for (auto _ : state) {
    auto r = ws::parse_client_frame(text);
    benchmark::DoNotOptimize(r);
  }
  bench::report_allocations(state, allocs, state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["frame_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(codec_parse_message_send);

// message_frame of a new message wrapped in its shared buffer, as the publisher does after a commit.
void codec_render_message_receive(benchmark::State& state) {
  const auto m = bench::sample_message(channel_id::generate(), user_id::generate(), 42);
  const auto now = system_clock{}.now();
  std::int64_t bytes = 0;
  const auto allocs = bench::allocations();
  for (auto _ : state) {
    auto f = ws::make_frame(ws::message_frame(now, domain::message_change::created, m, "alice"));
    benchmark::DoNotOptimize(f->data());
    bytes += static_cast<std::int64_t>(f->size());
  }
  bench::report_allocations(state, allocs, state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
  if (state.iterations() > 0)
    state.counters["frame_bytes"] = static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(codec_render_message_receive);

}  // namespace
