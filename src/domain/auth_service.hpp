#pragma once
// Registration, login, logout and the verification of every request's token.
//
// Tokens are verified without a database round trip: the signature and expiry
// are checked locally, revoked sessions come from an in-memory set that
// refresh_revocations() tops up from the store (the app calls it every couple
// of seconds, so a logout on any node takes effect everywhere within that
// period), and users are cached for a few seconds.
// Thread-safe: called from coroutines on any I/O thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/result.hpp"
#include "base/task.hpp"
#include "domain/login_throttle.hpp"
#include "domain/ports.hpp"
#include "domain/store.hpp"

namespace sl::domain {

struct auth_settings {
  std::chrono::seconds token_ttl{1800};
  std::chrono::seconds user_cache_ttl{5};
  std::chrono::seconds ticket_ttl{30};
  std::chrono::seconds last_seen_interval{60};
  throttle_settings throttle;
};

struct registration {
  std::string username;
  std::string email;
  std::string password;
  std::optional<std::string> full_name;
};

struct issued_token {
  std::string access_token;
  std::int64_t expires_in = 0;
};

struct ws_ticket {
  std::string ticket;
  std::int64_t expires_in = 0;
};

// A valid ticket: who it admits, its unique id and when it expires.
struct ticket_grant {
  principal who;
  std::string id;
  timestamp expires_at;
};

class auth_service {
 public:
  auth_service(store& db, password_hasher& hasher, const token_codec& tokens, const clock& clk, auth_settings s);

  task<result<user>> register_user(registration r);
  task<result<issued_token>> login(std::string username, std::string password, std::string address,
                                   std::string user_agent);
  task<void> logout(const principal& p);
  // 401 not_authenticated/bad_credentials, 403 inactive.
  task<result<principal>> authenticate(std::string_view bearer_token);
  task<result<user>> current_user(const principal& p);
  // A signed, short-lived ticket naming p's session; any node can redeem it.
  ws_ticket issue_ticket(const principal& p);
  // Checks a ticket's signature, expiry and session (void once revoked). Single
  // use is the caller's to enforce, across nodes, by claiming the grant's id
  // (broker::claim_once). The principal's expiry is a token lifetime from now.
  std::optional<ticket_grant> check_ticket(std::string_view ticket);
  // True once the session `jti` is known to be revoked on this node.
  bool is_revoked(const std::string& jti);
  // Pulls sessions revoked since the last call from the store; the first call
  // loads all that may still matter (the app makes it before serving).
  task<void> refresh_revocations();
  void forget_user(const user_id& id);
  // Store reads of users so far (cache misses; concurrent ones count once).
  std::uint64_t user_fetches() const noexcept { return user_fetches_.load(std::memory_order_relaxed); }

 private:
  // A hash of a random password at the configured cost, made once.
  task<std::string> decoy_hash();
  task<std::optional<user>> cached_user(const user_id& id);

  store& db_;
  password_hasher& hasher_;
  const token_codec& tokens_;
  const clock& clock_;
  auth_settings s_;
  login_throttle throttle_;

  struct cached {
    user u;
    timestamp fetched_at;
  };
  std::mutex mu_;
  std::unordered_map<std::string, timestamp> revoked_;  // jti -> revoked_at
  std::unordered_map<user_id, cached, uuid_hash> users_;
  // A user being read from the store: callers that miss the cache meanwhile
  // wait for that read instead of making their own (a client opening 50
  // sockets at once costs one read, not 50).
  struct fetch {
    std::optional<user> result;
    std::exception_ptr error;
    std::vector<std::function<void()>> waiters;  // each wakes one caller on its own executor
  };
  std::unordered_map<user_id, std::shared_ptr<fetch>, uuid_hash> fetching_;
  std::atomic<std::uint64_t> user_fetches_{0};
  std::unordered_map<user_id, timestamp, uuid_hash> last_seen_written_;
  timestamp last_poll_{};
  std::string decoy_;
};

}  // namespace sl::domain
