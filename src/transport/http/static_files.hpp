#pragma once
// Files served from the share dir (API docs UI, openapi.json, the analytics
// dashboard, the web app), read once at start-up into ready responses, each
// with a strong ETag and, for text, a gzip variant compressed on its first
// request (not at start-up: the docs bundles alone are megabytes).
// Loaded before serving; get() is then thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "transport/http/message.hpp"
#include "transport/http/router.hpp"

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
    std::string etag;
    bool compressible = false;  // text worth compressing: Vary is set, gzip made on demand
    mutable std::once_flag gzip_once;
    mutable response gzipped;  // status 0 until made, or when gzip turned out no smaller
  };
  const response* gzipped(const entry& e) const;
  std::map<std::string, std::unique_ptr<entry>> by_name_;
};

// The route handler serving `files` entry `name`, or, when `param` is given,
// entry `name` + the value of the route's {param}.
handler serve(std::shared_ptr<const static_files> files, std::string name, std::string param = {});

}  // namespace sl::http
