#pragma once
// One webhook delivery: a JSON POST over HTTP(S) through libcurl.
//
// Blocking: post_json returns when the answer's status line and body have
// been read, the request failed, or `timeout` passed; run it on a worker
// thread, never an I/O thread. Thread-safe: each call owns its own libcurl
// handle (no connection reuse between calls). libcurl's global set-up is
// done on first use (see curl_global.hpp).

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace sl::delivery {

struct http_post {
  std::string url;   // http:// or https:// only; anything else is refused
  std::string body;  // sent as is, with Content-Type: application/json
  // Extra request headers (e.g. the signature). A name or value holding CR,
  // LF or NUL, or a name with ':' or a space, is refused (no header injection).
  std::vector<std::pair<std::string, std::string>> headers;
  // Whole request, connecting included; also the connect deadline.
  std::chrono::milliseconds timeout{5000};
};

struct post_outcome {
  bool delivered = false;  // the receiver answered 2xx
  long status = 0;         // the HTTP status received, 0 when none
  // Why not delivered: "HTTP <status>", "timeout", or libcurl's message
  // (refused connection, DNS, TLS, unsupported protocol...). Empty if delivered.
  std::string error;
};

// POSTs `p.body` to `p.url` with User-Agent Signalink-Webhook/1. Redirects are
// not followed (a 3xx is not delivered); TLS peers are verified against the
// system CA store. The answer's body is read up to 64 KiB and dropped; a
// longer one is cut off there without changing the outcome.
// Failures of the delivery are values; throws only when libcurl cannot
// allocate a handle or refuses an option (out of memory).
post_outcome post_json(const http_post& p);

}  // namespace sl::delivery
