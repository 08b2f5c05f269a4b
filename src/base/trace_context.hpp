#pragma once
// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent`
// value of version 00, and the trace of the work running now.
//
// A trace_context names one span: the trace it belongs to (16 bytes, never all
// zero), the span itself (8 bytes, never all zero) and the trace flags.
// Requests, WebSocket frames and consumed events each run as a span of their
// own; what they write (log lines, outbox events) carries it.
//
// The current trace lives in a trace_slot that the running coroutine owns:
// the executor net::traced() makes installs its slot (trace_scope) around every piece of
// work it runs, so the value survives co_await, which a plain thread_local
// would not. Code that is not running on a traced executor has no slot:
// current_trace() is empty there and begin_span() does nothing.
// Thread-safety: a slot belongs to one coroutine (or a strand of them).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sl {

struct trace_context {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};
  std::uint8_t flags = 0;

  // A `traceparent` header value. Version 00 must be exactly
  // "00-<32 hex>-<16 hex>-<2 hex>" in lowercase with non-zero ids; a later
  // version is read by its first four fields when what follows starts with
  // '-' (as the spec asks); version ff and anything malformed give nullopt.
  static std::optional<trace_context> parse(std::string_view traceparent) noexcept;
  // A new trace with a random trace id and span id, flags 00.
  static trace_context fresh() noexcept;
  // A new span (random span id) of the same trace with the same flags.
  trace_context child() const noexcept;

  // "00-<trace id>-<span id>-<flags>", lowercase.
  std::string traceparent() const;
  std::string trace_id_hex() const;
  std::string span_id_hex() const;

  friend bool operator==(const trace_context&, const trace_context&) = default;
};

// A child span of `traceparent` when it parses, else a fresh trace: what a
// request, a WebSocket upgrade or a consumed event runs as.
trace_context continue_trace(std::string_view traceparent) noexcept;

struct trace_slot {
  std::optional<trace_context> value;
};

// Makes `slot` the current one on this thread until destroyed (nests).
class trace_scope {
 public:
  explicit trace_scope(trace_slot* slot) noexcept;
  ~trace_scope();
  trace_scope(const trace_scope&) = delete;
  trace_scope& operator=(const trace_scope&) = delete;

 private:
  trace_slot* previous_;
};

// The current slot's trace (nullptr when there is none or it holds nothing).
// The pointer is valid until the slot changes; copy what you keep.
const trace_context* current_trace() noexcept;
// Makes `t` the current coroutine's span (no-op without a slot).
void begin_span(const trace_context& t) noexcept;
// Forgets the current coroutine's span (no-op without a slot).
void end_span() noexcept;
// The current span as a traceparent, or "" (what outbox events record).
std::string current_traceparent();

}  // namespace sl
