#pragma once
// 128-bit identifiers in their canonical text form (lowercase, hyphenated).
// New ids are UUIDv7: time-ordered, so indexes on them stay append-mostly.

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sl {

class uuid {
 public:
  using bytes_type = std::array<std::uint8_t, 16>;

  constexpr uuid() = default;
  explicit constexpr uuid(const bytes_type& b) : bytes_(b) {}

  // Accepts the hyphenated 36-character form in either case, and the 32-hex
  // form; anything else is nullopt. `why`, when given, receives a short reason.
  static std::optional<uuid> parse(std::string_view text, std::string* why = nullptr);
  // Thread-safe; monotonic within a process for ids made in the same millisecond.
  static uuid v7(std::chrono::system_clock::time_point now);
  static uuid v7() { return v7(std::chrono::system_clock::now()); }

  std::string str() const;
  const bytes_type& bytes() const noexcept { return bytes_; }
  bool is_nil() const noexcept;

  friend constexpr auto operator<=>(const uuid&, const uuid&) = default;

 private:
  bytes_type bytes_{};
};

// A uuid that names one kind of thing; ids of different kinds do not mix.
template <typename Tag>
struct id {
  uuid value;

  static std::optional<id> parse(std::string_view text) {
    if (auto u = uuid::parse(text)) return id{*u};
    return std::nullopt;
  }
  static id generate() { return id{uuid::v7()}; }
  std::string str() const { return value.str(); }
  friend constexpr auto operator<=>(const id&, const id&) = default;
};

using user_id = id<struct user_tag>;
using channel_id = id<struct channel_tag>;
using message_id = id<struct message_tag>;
using member_id = id<struct member_tag>;
using event_id = id<struct event_tag>;
using notification_id = id<struct notification_tag>;
using webhook_id = id<struct webhook_tag>;
using delivery_id = id<struct delivery_tag>;

struct uuid_hash {
  std::size_t operator()(const uuid& u) const noexcept;
  template <typename Tag>
  std::size_t operator()(const id<Tag>& i) const noexcept {
    return (*this)(i.value);
  }
};

}  // namespace sl
