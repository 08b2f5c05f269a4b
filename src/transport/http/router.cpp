#include "transport/http/router.hpp"

namespace sl::http {

void router::add(std::string method, std::string pattern, handler fn) {
  routes_.push_back(route{std::move(method), std::move(pattern), std::move(fn)});
}

bool router::matches(std::string_view pattern, std::string_view path, std::map<std::string, std::string>* params) {
  std::size_t pi = 0, si = 0;
  while (pi < pattern.size() && si < path.size()) {
    if (pattern[pi] == '{') {
      const auto close = pattern.find('}', pi);
      const auto seg_end = std::min(path.find('/', si), path.size());
      if (seg_end == si) return false;  // empty segment
      if (params)
        (*params)[std::string(pattern.substr(pi + 1, close - pi - 1))] = std::string(path.substr(si, seg_end - si));
      pi = close + 1;
      si = seg_end;
      continue;
    }
    if (pattern[pi] != path[si]) return false;
    ++pi;
    ++si;
  }
  return pi == pattern.size() && si == path.size();
}

match router::find(request& req) const {
  match m;
  for (const auto& r : routes_) {
    if (!matches(r.pattern, req.path, nullptr)) continue;
    if (r.method == req.method || (req.method == "HEAD" && r.method == "GET")) {
      m.outcome = match::kind::found;
      m.r = &r;
      matches(r.pattern, req.path, &req.params);
      return m;
    }
    m.allowed.push_back(r.method);
  }
  if (!m.allowed.empty()) {
    m.outcome = match::kind::method_not_allowed;
    return m;
  }
  // The other spelling of a declared route: FastAPI redirects (307 keeps the method and body).
  std::string other =
      req.path.size() > 1 && req.path.back() == '/' ? req.path.substr(0, req.path.size() - 1) : req.path + "/";
  for (const auto& r : routes_) {
    if (matches(r.pattern, other, nullptr)) {
      m.outcome = match::kind::redirect;
      const auto q = req.target.find('?');
      m.location = other + (q == std::string::npos ? "" : req.target.substr(q));
      return m;
    }
  }
  return m;
}

}  // namespace sl::http
