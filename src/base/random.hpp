#pragma once
// Cryptographically strong random values (libsodium). Thread-safe.

#include <cstdint>
#include <string>

namespace sl {

std::uint64_t random_u64();
// Fast, non-cryptographic 64-bit values (a per-thread generator seeded from
// the system's entropy): for ids and request ids, where values must be
// unique and unguessable in practice but are not secrets. Never for tokens or keys.
std::uint64_t fast_random_u64() noexcept;
// 16 fast random bytes as 32 lowercase hex characters (request ids).
std::string fast_random_id();
// `n` random bytes as lowercase hex (2n characters).
std::string random_hex(std::size_t n);
// `n` random bytes encoded base64url without padding.
std::string random_token(std::size_t n);

}  // namespace sl
