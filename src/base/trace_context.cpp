#include "base/trace_context.hpp"

#include <algorithm>
#include <cstring>

#include "base/random.hpp"

namespace sl {
namespace {

thread_local trace_slot* current_slot = nullptr;

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not allowed either
}

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) noexcept {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(2 * N, '0');
  for (std::size_t i = 0; i < N; ++i) {
    s[2 * i] = digits[bytes[i] >> 4];
    s[2 * i + 1] = digits[bytes[i] & 0xf];
  }
  return s;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

template <std::size_t N>
void fill_random(std::array<std::uint8_t, N>& bytes) noexcept {
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      const std::uint64_t r = fast_random_u64();
      std::memcpy(bytes.data() + i, &r, std::min<std::size_t>(8, N - i));
    }
  } while (all_zero(bytes));
}

}  // namespace

std::optional<trace_context> trace_context::parse(std::string_view text) noexcept {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
  constexpr std::size_t v00_size = 55;
  if (text.size() < v00_size) return std::nullopt;
  std::array<std::uint8_t, 1> version{};
  if (!parse_hex(text.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 ? text.size() != v00_size : (text.size() > v00_size && text[v00_size] != '-'))
    return std::nullopt;
  if (text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  trace_context t;
  std::array<std::uint8_t, 1> flags{};
  if (!parse_hex(text.substr(3, 32), t.trace_id) || !parse_hex(text.substr(36, 16), t.span_id) ||
      !parse_hex(text.substr(53, 2), flags))
    return std::nullopt;
  if (all_zero(t.trace_id) || all_zero(t.span_id)) return std::nullopt;
  t.flags = flags[0];
  return t;
}

trace_context trace_context::fresh() noexcept {
  trace_context t;
  fill_random(t.trace_id);
  fill_random(t.span_id);
  return t;
}

trace_context trace_context::child() const noexcept {
  trace_context t = *this;
  fill_random(t.span_id);
  return t;
}

std::string trace_context::traceparent() const {
  return "00-" + trace_id_hex() + "-" + span_id_hex() + "-" + to_hex(std::array<std::uint8_t, 1>{flags});
}

std::string trace_context::trace_id_hex() const { return to_hex(trace_id); }
std::string trace_context::span_id_hex() const { return to_hex(span_id); }

trace_context continue_trace(std::string_view traceparent) noexcept {
  if (auto parent = trace_context::parse(traceparent)) return parent->child();
  return trace_context::fresh();
}

trace_scope::trace_scope(trace_slot* slot) noexcept : previous_(current_slot) { current_slot = slot; }
trace_scope::~trace_scope() { current_slot = previous_; }

const trace_context* current_trace() noexcept {
  return current_slot != nullptr && current_slot->value ? &*current_slot->value : nullptr;
}

void begin_span(const trace_context& t) noexcept {
  if (current_slot != nullptr) current_slot->value = t;
}

void end_span() noexcept {
  if (current_slot != nullptr) current_slot->value.reset();
}

std::string current_traceparent() {
  const auto* t = current_trace();
  return t != nullptr ? t->traceparent() : std::string();
}

}  // namespace sl
