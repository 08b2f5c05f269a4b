#include "security/secret_key.hpp"

#include <sys/stat.h>

#include <fstream>

#include "base/log.hpp"
#include "base/random.hpp"

namespace sl::security {

result<std::string> resolve_secret_key(const std::optional<std::string>& configured, bool production,
                                       const std::filesystem::path& data_dir) {
  if (configured && !configured->empty()) {
    if (production && *configured == example_secret)
      return fail(error_kind::invalid, "SECRET_KEY is the documented example value; set a random one");
    if (production && configured->size() < 32)
      return fail(error_kind::invalid, "SECRET_KEY must be at least 32 bytes in production");
    return *configured;
  }
  if (production) return fail(error_kind::invalid, "SECRET_KEY is required when ENVIRONMENT=production");
  const auto file = data_dir / "secret_key";
  if (std::ifstream in{file}) {
    std::string key;
    std::getline(in, key);
    if (key.size() >= 32) return key;
  }
  std::filesystem::create_directories(data_dir);
  auto key = random_hex(32);
  {
    std::ofstream out{file, std::ios::trunc};
    out << key << "\n";
  }
  ::chmod(file.c_str(), 0600);
  log::warn("SECRET_KEY not set: generated one for development", {{"path", file.string()}});
  return key;
}

}  // namespace sl::security
