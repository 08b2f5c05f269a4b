#pragma once
// What happens to every request between the socket and its handler: request
// id, CORS, routing (307/404/405), error mapping of anything a handler throws
// (500 without internals), metrics and the access log. No Beast types here.
// Thread-safe; one pipeline serves every connection of a listener.

#include <string>
#include <vector>

#include "base/task.hpp"
#include "transport/http/router.hpp"

namespace sl::http {

struct pipeline_settings {
  std::string role = "api";
  std::vector<std::string> cors_origins;  // "*" allows any origin
};

class pipeline {
 public:
  pipeline(const router& r, pipeline_settings s);
  task<response> handle(request& req) const;

 private:
  bool origin_allowed(const std::string& origin) const;
  void add_cors(const request& req, response& res) const;
  void record(const std::string& route, const std::string& method, int status, double seconds) const;

  const router& router_;
  pipeline_settings s_;
};

}  // namespace sl::http
