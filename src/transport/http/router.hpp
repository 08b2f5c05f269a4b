#pragma once
// Routes as a table of {method, pattern, handler}. Patterns are paths whose
// `{name}` segments capture one path segment each. Matching order: exact
// route; else the same path with/without a trailing slash answers 307 to the
// declared spelling; else a path known with other methods answers 405; else 404.
// Immutable after start-up, so lookups are thread-safe.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/task.hpp"
#include "transport/http/message.hpp"

namespace sl::http {

using handler = std::function<task<response>(request&)>;

struct route {
  std::string method;
  std::string pattern;
  handler fn;
};

struct match {
  enum class kind { found, redirect, method_not_allowed, not_found } outcome = kind::not_found;
  const route* r = nullptr;
  std::string location;              // for redirect
  std::vector<std::string> allowed;  // for method_not_allowed
};

class router {
 public:
  void add(std::string method, std::string pattern, handler fn);
  // Fills req.params on success.
  match find(request& req) const;
  const std::vector<route>& routes() const noexcept { return routes_; }

 private:
  static bool matches(std::string_view pattern, std::string_view path, std::map<std::string, std::string>* params);
  std::vector<route> routes_;
};

}  // namespace sl::http
