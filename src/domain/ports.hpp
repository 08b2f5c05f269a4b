#pragma once
// Small ports the services need besides the store.

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/task.hpp"
#include "domain/model.hpp"

namespace sl::domain {

// Password hashing. Both calls are slow on purpose and run off the I/O threads
// (implementations offload); safe to call from any coroutine.
class password_hasher {
 public:
  virtual ~password_hasher() = default;
  virtual task<std::string> hash(std::string password) = 0;
  virtual task<bool> verify(std::string hash, std::string password) = 0;
};

struct token_claims {
  user_id sub;
  std::string username;
  timestamp issued_at;
  timestamp expires_at;
  std::string jti;
};

// Signs and verifies access tokens. Thread-safe, no I/O.
class token_codec {
 public:
  virtual ~token_codec() = default;
  virtual std::string encode(const token_claims& c) const = 0;
  // Fails (unauthorized) on a bad signature, another algorithm, bad claims or
  // expiry at `now`.
  virtual result<token_claims> decode(std::string_view token, timestamp now) const = 0;
};

}  // namespace sl::domain
