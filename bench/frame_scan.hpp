#pragma once
// Reads the few fields the generator needs from a server frame without
// parsing its JSON: at 100k+ frames/s a full parse would make the generator,
// not the server, the bottleneck. Valid for the frames Signalink renders
// (flat objects, `type` first, no spaces) and the generator's own contents.

#include <charconv>
#include <cstdint>
#include <string_view>

namespace sl::bench {

// The value of `"type"`, which Signalink always renders first.
inline std::string_view frame_type(std::string_view f) {
  constexpr std::string_view prefix = R"({"type":")";
  if (f.substr(0, prefix.size()) != prefix) return {};
  const auto end = f.find('"', prefix.size());
  return end == std::string_view::npos ? std::string_view{} : f.substr(prefix.size(), end - prefix.size());
}

// The integer after `"key":` (or after `"key":"` + `skip` for a string value
// that starts with a number); -1 when absent.
inline std::int64_t int_field(std::string_view f, std::string_view quoted_key_colon) {
  const auto at = f.find(quoted_key_colon);
  if (at == std::string_view::npos) return -1;
  const char* p = f.data() + at + quoted_key_colon.size();
  std::int64_t v = -1;
  std::from_chars(p, f.data() + f.size(), v);
  return v;
}

// The string value of `"key":"` up to its closing quote (no escapes expected).
inline std::string_view str_field(std::string_view f, std::string_view quoted_key_colon_quote) {
  const auto at = f.find(quoted_key_colon_quote);
  if (at == std::string_view::npos) return {};
  const auto from = at + quoted_key_colon_quote.size();
  const auto end = f.find('"', from);
  return end == std::string_view::npos ? std::string_view{} : f.substr(from, end - from);
}

}  // namespace sl::bench
