#pragma once
// argon2id password hashing on a dedicated thread pool (libsodium).
// Thread-safe; the pool lives as long as the hasher.

#include <boost/asio/thread_pool.hpp>

#include "domain/ports.hpp"

namespace sl::security {

enum class hash_cost { interactive, fast };

class argon2_hasher final : public domain::password_hasher {
 public:
  argon2_hasher(hash_cost cost, unsigned threads);
  ~argon2_hasher() override;

  task<std::string> hash(std::string password) override;
  task<bool> verify(std::string hash, std::string password) override;

  // Synchronous forms, for tools and tests.
  std::string hash_now(const std::string& password) const;
  static bool verify_now(const std::string& hash, const std::string& password);

 private:
  hash_cost cost_;
  boost::asio::thread_pool pool_;
};

}  // namespace sl::security
