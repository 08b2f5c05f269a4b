#pragma once
// RAII owners for the libcurl handles the clients use, and the option setter
// that turns a failed curl_easy_setopt into an exception (a failed setopt is
// a bug or an out-of-memory, never an outcome of the delivery).

#include <curl/curl.h>

#include <memory>
#include <new>
#include <stdexcept>
#include <string>

namespace sl::delivery::detail {

struct easy_cleanup {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct slist_free {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
struct mime_free {
  void operator()(curl_mime* m) const noexcept { curl_mime_free(m); }
};

using easy_handle = std::unique_ptr<CURL, easy_cleanup>;
using slist = std::unique_ptr<curl_slist, slist_free>;
using mime_handle = std::unique_ptr<curl_mime, mime_free>;

// A fresh easy handle; calls init_delivery() first.
easy_handle make_easy();

inline void append(slist& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (!grown) throw std::bad_alloc();
  (void)list.release();  // `grown` is the same list, one node longer
  list.reset(grown);
}

template <typename T>
void set(CURL* h, CURLoption opt, T value) {
  if (CURLcode rc = curl_easy_setopt(h, opt, value); rc != CURLE_OK)
    throw std::runtime_error(std::string("curl_easy_setopt: ") + curl_easy_strerror(rc));
}

}  // namespace sl::delivery::detail
