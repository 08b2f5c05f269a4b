#pragma once
// Cryptographically strong random values (libsodium). Thread-safe.

#include <cstdint>
#include <string>

namespace sl {

std::uint64_t random_u64();
// `n` random bytes as lowercase hex (2n characters).
std::string random_hex(std::size_t n);
// `n` random bytes encoded base64url without padding.
std::string random_token(std::size_t n);

}  // namespace sl
