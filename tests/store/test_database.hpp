#pragma once
// A fresh, empty database per test, for each backend, and the backend-specific
// peeks the generic suite needs (the outbox, read straight from the tables).
//
// SQLite: a file in a new temporary directory, removed afterwards.
// PostgreSQL: `CREATE DATABASE signalink_test_<random>` through the URL in
// SIGNALINK_TEST_PG_URL (its user needs CREATEDB), dropped afterwards.
// Test-thread only; the peeks block (they never run on the io_context).

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "domain/store.hpp"

namespace sl::test {

enum class backend { sqlite, postgres };

// SIGNALINK_TEST_PG_URL, when set and not empty.
std::optional<std::string> postgres_admin_url();
// `url` with its database name replaced (postgresql:// and postgres:// URLs).
std::string with_database(const std::string& url, const std::string& db);

struct outbox_row {
  std::string event_type;
  std::string topic;
  std::string key;
  std::string payload;
};

class test_database {
 public:
  virtual ~test_database() = default;
  // Opens the store under test (migrations applied), running `ctx` as needed.
  virtual std::unique_ptr<domain::store> open(boost::asio::io_context& ctx) = 0;
  // Every outbox row, in id order.
  virtual std::vector<outbox_row> outbox() = 0;

  static std::unique_ptr<test_database> make(backend b);
};

// PostgreSQL only: a fresh database with nothing in it, dropped on destruction.
class scratch_pg_database {
 public:
  scratch_pg_database();
  ~scratch_pg_database();
  scratch_pg_database(const scratch_pg_database&) = delete;
  scratch_pg_database& operator=(const scratch_pg_database&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Runs one statement in this database (blocking); returns the first column of each row.
  std::vector<std::string> query(const std::string& sql) const;
  // Runs one statement through the admin connection (the URL's own database).
  std::vector<std::string> admin_query(const std::string& sql) const;

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

}  // namespace sl::test
