#include "base/uuid.hpp"

#include <atomic>
#include <cstring>

#include "base/random.hpp"

namespace sl {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<uuid> uuid::parse(std::string_view text, std::string* why) {
  auto reason = [&](std::string r) -> std::optional<uuid> {
    if (why) *why = std::move(r);
    return std::nullopt;
  };
  const bool hyphenated = text.size() == 36;
  if (!hyphenated && text.size() != 32)
    return reason("invalid length: expected length 32 for simple format, found " + std::to_string(text.size()));
  bytes_type b{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (hyphenated && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (c != '-') return reason("invalid group separator at " + std::to_string(i));
      continue;
    }
    const int v = hex_value(c);
    if (v < 0)
      return reason(std::string("invalid character: expected [0-9a-fA-F-], found `") + c + "` at " +
                    std::to_string(i + 1));
    if (n % 2 == 0)
      b[n / 2] = static_cast<std::uint8_t>(v << 4);
    else
      b[n / 2] |= static_cast<std::uint8_t>(v);
    ++n;
  }
  return uuid(b);
}

uuid uuid::v7(std::chrono::system_clock::time_point now) {
  // 48-bit unix milliseconds, then a 74-bit counter seeded randomly each
  // millisecond, so ids made in one process sort in creation order.
  static std::atomic<std::uint64_t> last_ms{0};
  static std::atomic<std::uint64_t> counter{0};
  const auto ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  std::uint64_t use_ms = ms;
  std::uint64_t seq;
  std::uint64_t prev = last_ms.load(std::memory_order_relaxed);
  if (ms > prev && last_ms.compare_exchange_strong(prev, ms)) {
    seq = fast_random_u64() & 0x0000'03ff'ffff'ffffULL;  // leave headroom for increments
    counter.store(seq, std::memory_order_relaxed);
  } else {
    use_ms = std::max(ms, prev);
    seq = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  bytes_type b{};
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(use_ms >> (40 - 8 * i));
  // 12 bits of counter in rand_a, 62 bits (the rest of the counter + randomness) in rand_b.
  const std::uint64_t hi = seq >> 30;  // upper bits of the 42-bit counter
  b[6] = static_cast<std::uint8_t>(0x70 | ((hi >> 8) & 0x0f));
  b[7] = static_cast<std::uint8_t>(hi);
  const std::uint64_t tail = ((seq & 0x3fffffffULL) << 32) | (fast_random_u64() & 0xffffffffULL);
  b[8] = static_cast<std::uint8_t>(0x80 | ((tail >> 56) & 0x3f));
  for (int i = 9; i < 16; ++i) b[i] = static_cast<std::uint8_t>(tail >> (8 * (15 - i)));
  return uuid(b);
}

std::string uuid::str() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(digits[bytes_[i] >> 4]);
    out.push_back(digits[bytes_[i] & 0x0f]);
  }
  return out;
}

bool uuid::is_nil() const noexcept {
  for (auto x : bytes_)
    if (x) return false;
  return true;
}

std::size_t uuid_hash::operator()(const uuid& u) const noexcept {
  std::uint64_t a, b;
  std::memcpy(&a, u.bytes().data(), 8);
  std::memcpy(&b, u.bytes().data() + 8, 8);
  return static_cast<std::size_t>(a ^ (b * 0x9e3779b97f4a7c15ULL));
}

}  // namespace sl
