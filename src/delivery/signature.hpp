#pragma once
// Webhook signatures: HMAC-SHA256 (OpenSSL) of the exact body bytes sent.
// Pure function, thread-safe.

#include <string>
#include <string_view>

namespace sl::delivery {

// HMAC-SHA256 of `data` under `key`, as 64 lowercase hex characters. Any key
// length is accepted (HMAC hashes keys longer than the block size). Throws
// std::runtime_error only if OpenSSL itself fails.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

}  // namespace sl::delivery
