#pragma once
// The request and response handlers see: plain values, no Beast types, so
// that handler code compiles quickly and is testable without sockets.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sl::http {

struct request {
  std::string method;                                      // "GET", "POST"...
  std::string target;                                      // as received, with the query
  std::string path;                                        // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> params;               // path parameters named by the route
  std::string body;
  std::string authorization;
  std::string content_type;
  std::string origin;
  std::string user_agent;
  std::string if_none_match;    // for conditional GETs of static files
  std::string accept_encoding;  // "gzip" in it lets static files go compressed
  std::string request_id;
  std::string traceparent;  // the W3C header as received ("" when absent)
  std::string client_address;
  // A Forwarded, X-Forwarded-For or X-Real-IP header came with the request:
  // a proxy relayed it, so client_address is the proxy's, not the client's.
  bool via_proxy = false;

  std::optional<std::string_view> query_value(std::string_view name) const {
    for (auto& [k, v] : query)
      if (k == name) return std::string_view(v);
    return std::nullopt;
  }
  const std::string& param(const std::string& name) const { return params.at(name); }
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

}  // namespace sl::http
