#pragma once
// SECRET_KEY rules (contract.md section 1): production refuses a missing,
// short (< 32 bytes) or example key; development generates one once and keeps
// it in the data dir, with a warning.

#include <filesystem>
#include <optional>
#include <string>

#include "base/result.hpp"

namespace sl::security {

inline constexpr const char* example_secret = "your-secret-key-change-this-in-production";

// `configured`: the SECRET_KEY value if set. Fails with a message that says
// what to fix; may create `<data_dir>/secret_key` (mode 0600) in development.
result<std::string> resolve_secret_key(const std::optional<std::string>& configured, bool production,
                                       const std::filesystem::path& data_dir);

}  // namespace sl::security
