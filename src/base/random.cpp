#include "base/random.hpp"

#include <sodium.h>

#include <random>
#include <stdexcept>
#include <vector>

namespace sl {
namespace {

void ensure_init() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace

std::uint64_t random_u64() {
  ensure_init();
  std::uint64_t v;
  randombytes_buf(&v, sizeof v);
  return v;
}

std::uint64_t fast_random_u64() noexcept {
  // splitmix64 over a per-thread state seeded once from the kernel.
  thread_local std::uint64_t state = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string fast_random_id() {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int half = 0; half < 2; ++half) {
    auto v = fast_random_u64();
    for (std::size_t i = 0; i < 16; ++i, v >>= 4) out[static_cast<std::size_t>(half) * 16 + i] = digits[v & 0x0f];
  }
  return out;
}

std::string random_hex(std::size_t n) {
  ensure_init();
  std::vector<unsigned char> buf(n);
  randombytes_buf(buf.data(), n);
  std::string out(2 * n + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), buf.data(), n);
  out.pop_back();
  return out;
}

std::string random_token(std::size_t n) {
  ensure_init();
  std::vector<unsigned char> buf(n);
  randombytes_buf(buf.data(), n);
  std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), buf.data(), n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

}  // namespace sl
