#pragma once
// libcurl's process-wide set-up (curl_global_init). Every client in this
// library calls init_delivery() before its first handle, so calling it is
// optional; `main` may call it early, before it starts threads, to pay the
// cost (loading the CA store paths, OpenSSL init) up front.

namespace sl::delivery {

// Idempotent and thread-safe (std::call_once). Throws std::runtime_error if
// libcurl cannot initialise. The matching curl_global_cleanup is never
// called: the library stays usable until the process exits.
void init_delivery();

}  // namespace sl::delivery
