#include "base/random.hpp"

#include <sodium.h>

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
