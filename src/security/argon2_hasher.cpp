#include "security/argon2_hasher.hpp"

#include <sodium.h>

#include <stdexcept>

#include "net/offload.hpp"

namespace sl::security {

argon2_hasher::argon2_hasher(hash_cost cost, unsigned threads) : cost_(cost), pool_(threads ? threads : 1) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

argon2_hasher::~argon2_hasher() { pool_.join(); }

std::string argon2_hasher::hash_now(const std::string& password) const {
  const auto ops = cost_ == hash_cost::fast ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE;
  const auto mem = cost_ == hash_cost::fast ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE;
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("argon2id hashing ran out of memory");
  return out;
}

bool argon2_hasher::verify_now(const std::string& hash, const std::string& password) {
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

task<std::string> argon2_hasher::hash(std::string password) {
  co_return co_await net::offload(pool_.get_executor(), [this, pw = std::move(password)] { return hash_now(pw); });
}

task<bool> argon2_hasher::verify(std::string hash, std::string password) {
  co_return co_await net::offload(pool_.get_executor(),
                                  [h = std::move(hash), pw = std::move(password)] { return verify_now(h, pw); });
}

}  // namespace sl::security
