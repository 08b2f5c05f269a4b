#include "delivery/curl_global.hpp"

#include "delivery/detail/curl_handles.hpp"

#include <curl/curl.h>

#include <mutex>
#include <stdexcept>
#include <string>

namespace sl::delivery {

void init_delivery() {
  static std::once_flag once;
  std::call_once(once, [] {
    // A throw leaves the flag unset, so a later call tries again.
    if (CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
      throw std::runtime_error(std::string("curl_global_init: ") + curl_easy_strerror(rc));
  });
}

namespace detail {

easy_handle make_easy() {
  init_delivery();
  easy_handle h(curl_easy_init());
  if (!h) throw std::bad_alloc();
  return h;
}

}  // namespace detail

}  // namespace sl::delivery
