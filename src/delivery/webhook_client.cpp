#include "delivery/webhook_client.hpp"

#include <algorithm>
#include <cstddef>

#include "delivery/detail/curl_handles.hpp"

namespace sl::delivery {

namespace {

constexpr std::size_t max_answer_bytes = 64 * 1024;

struct answer_sink {
  std::size_t received = 0;
  bool cut_off = false;
};

// Returning less than asked makes libcurl stop the transfer with
// CURLE_WRITE_ERROR; the status line is already known by then.
std::size_t drop_answer(char*, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<answer_sink*>(user);
  std::size_t bytes = size * n;
  sink->received += bytes;
  if (sink->received > max_answer_bytes) {
    sink->cut_off = true;
    return 0;
  }
  return bytes;
}

bool valid_header(const std::string& name, const std::string& value) {
  auto bad_in_value = [](char c) { return c == '\r' || c == '\n' || c == '\0'; };
  auto bad_in_name = [&](char c) { return bad_in_value(c) || c == ':' || c == ' ' || c == '\t'; };
  return !name.empty() && std::none_of(name.begin(), name.end(), bad_in_name) &&
         std::none_of(value.begin(), value.end(), bad_in_value);
}

}  // namespace

post_outcome post_json(const http_post& p) {
  using namespace detail;
  detail::slist headers;
  append(headers, "Content-Type: application/json");
  // libcurl would otherwise wait up to a second for "100 Continue" on large bodies.
  append(headers, "Expect:");
  for (const auto& [name, value] : p.headers) {
    if (!valid_header(name, value)) return {false, 0, "invalid header " + name};
    // "Name;" is libcurl's spelling of a header with an empty value.
    append(headers, value.empty() ? name + ";" : name + ": " + value);
  }

  easy_handle h = make_easy();
  CURL* c = h.get();
  char message[CURL_ERROR_SIZE] = {};
  answer_sink sink;
  long timeout_ms = std::max<long>(1, static_cast<long>(p.timeout.count()));
  set(c, CURLOPT_ERRORBUFFER, message);
  set(c, CURLOPT_URL, p.url.c_str());
  set(c, CURLOPT_PROTOCOLS_STR, "http,https");
  set(c, CURLOPT_FOLLOWLOCATION, 0L);
  // Worker threads must not get SIGALRM/SIGPIPE from libcurl's resolver timeouts.
  set(c, CURLOPT_NOSIGNAL, 1L);
  set(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  set(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  set(c, CURLOPT_USERAGENT, "Signalink-Webhook/1");
  set(c, CURLOPT_HTTPHEADER, headers.get());
  set(c, CURLOPT_POST, 1L);
  set(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(p.body.size()));
  set(c, CURLOPT_POSTFIELDS, p.body.data());
  set(c, CURLOPT_WRITEFUNCTION, &drop_answer);
  set(c, CURLOPT_WRITEDATA, &sink);

  CURLcode rc = curl_easy_perform(c);
  post_outcome out;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && sink.cut_off)) {
    if (rc == CURLE_OPERATION_TIMEDOUT)
      out.error = "timeout";
    else
      out.error = message[0] ? message : curl_easy_strerror(rc);
    return out;
  }
  out.delivered = out.status >= 200 && out.status < 300;
  if (!out.delivered) out.error = "HTTP " + std::to_string(out.status);
  return out;
}

}  // namespace sl::delivery
