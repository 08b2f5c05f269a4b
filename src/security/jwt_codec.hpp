#pragma once
// HS256 JSON Web Tokens. Thread-safe; no I/O.

#include <string>

#include "domain/ports.hpp"

namespace sl::security {

class jwt_codec final : public domain::token_codec {
 public:
  explicit jwt_codec(std::string secret) : secret_(std::move(secret)) {}

  std::string encode(const domain::token_claims& c) const override;
  result<domain::token_claims> decode(std::string_view token, timestamp now) const override;

 private:
  std::string sign(std::string_view signing_input) const;
  std::string secret_;
};

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace sl::security
