#pragma once
// Files served from the share dir (API docs UI, openapi.json, the analytics
// dashboard), read once at start-up into ready responses. Immutable after
// loading, so get() is thread-safe.

#include <map>
#include <string>

#include "transport/http/message.hpp"

namespace sl::http {

class static_files {
 public:
  // Serves `file` as `name` with `Cache-Control: cache`; a missing file is skipped.
  void load(const std::string& file, const std::string& name, const std::string& cache);
  // Every regular file of `dir` as `prefix` + its file name.
  void load_dir(const std::string& dir, const std::string& prefix, const std::string& cache);
  // The file's response, or 404 {"detail":"Not Found"}.
  response get(const std::string& name) const;

 private:
  std::map<std::string, response> by_name_;
};

}  // namespace sl::http
