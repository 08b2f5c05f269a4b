#include "security/jwt_codec.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "domain/texts.hpp"

namespace sl::security {
namespace {

error invalid() { return fail(error_kind::unauthorized, domain::text::bad_credentials); }

std::int64_t seconds_of(timestamp t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out(text.size(), '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

std::string jwt_codec::sign(std::string_view signing_input) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string jwt_codec::encode(const domain::token_claims& c) const {
  static const std::string header = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  boost::json::object claims;
  claims["sub"] = c.sub.str();
  claims["username"] = c.username;
  claims["exp"] = seconds_of(c.expires_at);
  claims["iat"] = seconds_of(c.issued_at);
  claims["jti"] = c.jti;
  std::string input = header + "." + base64url_encode(boost::json::serialize(claims));
  const auto sig = sign(input);
  return input + "." + base64url_encode(sig);
}

result<domain::token_claims> jwt_codec::decode(std::string_view token, timestamp now) const {
  const auto d1 = token.find('.');
  if (d1 == std::string_view::npos) return invalid();
  const auto d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) return invalid();
  const auto header = base64url_decode(token.substr(0, d1));
  const auto payload = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  const auto sig = base64url_decode(token.substr(d2 + 1));
  if (!header || !payload || !sig) return invalid();

  boost::system::error_code ec;
  auto h = boost::json::parse(*header, ec);
  if (ec || !h.is_object()) return invalid();
  const auto* alg = h.as_object().if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != "HS256") return invalid();

  const auto expected = sign(token.substr(0, d2));
  if (sig->size() != expected.size() || CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0)
    return invalid();

  auto p = boost::json::parse(*payload, ec);
  if (ec || !p.is_object()) return invalid();
  const auto& o = p.as_object();
  const auto* sub = o.if_contains("sub");
  const auto* exp = o.if_contains("exp");
  const auto* iat = o.if_contains("iat");
  const auto* jti = o.if_contains("jti");
  const auto* username = o.if_contains("username");
  if (!sub || !sub->is_string() || !exp || !exp->is_number() || !jti || !jti->is_string()) return invalid();
  auto id = user_id::parse(sub->as_string());
  if (!id) return invalid();
  const auto exp_s = exp->to_number<double>();
  if (static_cast<double>(seconds_of(now)) >= exp_s) return invalid();
  domain::token_claims c;
  c.sub = *id;
  c.username = username && username->is_string() ? std::string(username->as_string()) : std::string();
  c.expires_at = timestamp{std::chrono::seconds(static_cast<std::int64_t>(exp_s))};
  c.issued_at = iat && iat->is_number() ? timestamp{std::chrono::seconds(iat->to_number<std::int64_t>())} : now;
  c.jti = std::string(jti->as_string());
  return c;
}

}  // namespace sl::security
