#pragma once
// Shared by both storage backends (header only, no target of its own).

#include <optional>
#include <string>

namespace sl::storage {

// An optional text column's value: "" (no traceparent, no node name) is
// stored as NULL.
inline std::optional<std::string> null_if_empty(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional(text);
}

}  // namespace sl::storage
