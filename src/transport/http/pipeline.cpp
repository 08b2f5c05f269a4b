#include "transport/http/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/random.hpp"
#include "base/trace_context.hpp"
#include "observability/metrics.hpp"
#include "transport/http/replies.hpp"

namespace sl::http {
namespace {

struct http_metrics {
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& latency;

  static http_metrics& get() {
    static http_metrics m{
        obs::counter_family("signalink_http_requests_total", "HTTP requests by role, route, method and status"),
        obs::histogram_family("signalink_http_request_duration_seconds",
                              "HTTP request latency by role, route and method")};
    return m;
  }
};

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};
  return b;
}

}  // namespace

void pipeline::record(const std::string& route, const std::string& method, int status, double seconds) const {
  // Family::Add locks and hashes a label map; each thread remembers the
  // series it has used, so the hot path is one hash lookup without a lock.
  struct series {
    prometheus::Counter* requests;
    prometheus::Histogram* latency;
  };
  thread_local std::unordered_map<std::string, series> cache;
  std::string key = s_.role;
  key.append(1, '\n').append(route).append(1, '\n').append(method).append(1, '\n').append(std::to_string(status));
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto& hm = http_metrics::get();
    series sr{
        &hm.requests.Add({{"role", s_.role}, {"route", route}, {"method", method}, {"status", std::to_string(status)}}),
        &hm.latency.Add({{"role", s_.role}, {"route", route}, {"method", method}}, latency_buckets())};
    it = cache.emplace(std::move(key), sr).first;
  }
  it->second.requests->Increment();
  it->second.latency->Observe(seconds);
}

pipeline::pipeline(const router& r, pipeline_settings s) : router_(r), s_(std::move(s)) { http_metrics::get(); }

bool pipeline::origin_allowed(const std::string& origin) const {
  if (origin.empty()) return false;
  return std::any_of(s_.cors_origins.begin(), s_.cors_origins.end(),
                     [&](const std::string& o) { return o == "*" || o == origin; });
}

void pipeline::add_cors(const request& req, response& res) const {
  if (!origin_allowed(req.origin)) return;
  res.header("Access-Control-Allow-Origin", req.origin);
  res.header("Access-Control-Allow-Credentials", "true");
  res.header("Vary", "Origin");
}

task<response> pipeline::handle(request& req) const {
  const auto started = std::chrono::steady_clock::now();
  if (req.request_id.empty() || req.request_id.size() > 200) req.request_id = fast_random_id();
  // The request's span: what it logs and the events it writes carry it (the
  // connection's coroutine runs on a traced executor, see server.cpp).
  const trace_context span = continue_trace(req.traceparent);
  begin_span(span);

  response res;
  std::string route_label = "unmatched";
  if (req.method == "OPTIONS" && origin_allowed(req.origin)) {
    // CORS preflight: answered for any path, as Starlette's CORSMiddleware does.
    res.status = 200;
    res.content_type = "text/plain; charset=utf-8";
    res.body = "OK";
    res.header("Access-Control-Allow-Methods", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
    res.header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID");
    res.header("Access-Control-Max-Age", "600");
    route_label = "preflight";
  } else {
    auto m = router_.find(req);
    switch (m.outcome) {
      case match::kind::found:
        route_label = m.r->pattern;
        try {
          res = co_await m.r->fn(req);
        } catch (const infrastructure_error& e) {
          log::error("request failed", {{"request_id", req.request_id}, {"route", route_label}, {"error", e.what()}});
          if (e.transient()) {
            res = detail(503, "Service temporarily unavailable");
            res.header("Retry-After", "1");
          } else {
            res = detail(500, "Internal server error");
          }
        } catch (const std::exception& e) {
          log::error("request failed", {{"request_id", req.request_id}, {"route", route_label}, {"error", e.what()}});
          res = detail(500, "Internal server error");
        }
        break;
      case match::kind::redirect:
        res.status = 307;
        res.content_type.clear();
        res.header("Location", m.location);
        break;
      case match::kind::method_not_allowed: {
        res = detail(405, "Method Not Allowed");
        std::string allow;
        for (auto& a : m.allowed) allow += (allow.empty() ? "" : ", ") + a;
        res.header("Allow", allow);
        break;
      }
      case match::kind::not_found:
        res = detail(404, "Not Found");
        break;
    }
  }
  add_cors(req, res);
  res.header("X-Request-ID", req.request_id);
  res.header("traceresponse", span.traceparent());

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  record(route_label, req.method, res.status, seconds);
  if (const auto l = res.status >= 500 ? log::level::error : log::level::debug; log::enabled(l))
    log::write(l, "request",
               {{"request_id", req.request_id},
                {"method", req.method},
                {"path", req.path},
                {"status", res.status},
                {"duration_ms", seconds * 1000.0}});
  // What the connection logs until its next request belongs to no request.
  end_span();
  co_return res;
}

}  // namespace sl::http
