#pragma once
// Files served from the share dir (API docs UI, openapi.json, the analytics
// dashboard, the web app), read once at start-up into ready responses, each
// with a strong ETag and, for text, a gzip variant compressed once at load.
// Immutable after loading, so get() is thread-safe.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "transport/http/message.hpp"

namespace sl::http {

class static_files {
 public:
  using header_list = std::vector<std::pair<std::string, std::string>>;

  // Serves `file` as `name` with `Cache-Control: cache` and the extra headers;
  // a missing file is skipped (its name then answers 404).
  void load(const std::string& file, const std::string& name, const std::string& cache, const header_list& extra = {});
  // Every regular file of `dir` (not its subdirectories) as `prefix` + its file name.
  void load_dir(const std::string& dir, const std::string& prefix, const std::string& cache,
                const header_list& extra = {});
  // The file's response for this request: 304 when its If-None-Match names the
  // file's current ETag, the gzip variant when the client accepts gzip, else the
  // file; 404 {"detail":"Not Found"} for an unknown name.
  response get(const std::string& name, const request& req) const;

 private:
  struct entry {
    response plain;
    response gzipped;  // status 0 when the file is not worth compressing
    std::string etag;
  };
  std::map<std::string, entry> by_name_;
};

}  // namespace sl::http
