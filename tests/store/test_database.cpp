#include "test_database.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>

#include "base/random.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "store_fixture.hpp"

namespace sl::test {
namespace {

struct pgconn_deleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct pgresult_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

// Blocking libpq on the test thread: fine here, never in the product.
std::vector<std::vector<std::string>> pg_rows(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, pgconn_deleter> c(PQconnectdb(url.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) throw std::runtime_error(std::string("test pg: ") + PQerrorMessage(c.get()));
  std::unique_ptr<PGresult, pgresult_deleter> r(PQexec(c.get(), sql.c_str()));
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    throw std::runtime_error("test pg: " + sql + ": " + PQresultErrorMessage(r.get()));
  std::vector<std::vector<std::string>> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    std::vector<std::string> row;
    for (int j = 0; j < PQnfields(r.get()); ++j) row.emplace_back(PQgetvalue(r.get(), i, j));
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<std::string> first_column(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.empty() ? std::string() : r.front());
  return out;
}

constexpr const char* outbox_sql = "SELECT event_type, topic, event_key, payload FROM outbox ORDER BY id";

class sqlite_database final : public test_database {
 public:
  sqlite_database()
      : dir_(std::filesystem::temp_directory_path() / ("signalink-store-test-" + random_hex(6))),
        path_((dir_ / "signalink.db").string()) {
    std::filesystem::create_directories(dir_);
  }
  ~sqlite_database() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<domain::store> open(boost::asio::io_context&) override {
    return storage::sqlite::open(storage::sqlite::options{path_, 2});
  }

  std::vector<outbox_row> outbox() override {
    sqlite3* raw = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(raw);
      throw std::runtime_error("test sqlite: cannot open " + path_);
    }
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db.get(), outbox_sql, -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("test sqlite: ") + sqlite3_errmsg(db.get()));
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(st, sqlite3_finalize);
    std::vector<outbox_row> out;
    auto col = [st](int i) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i))); };
    while (sqlite3_step(st) == SQLITE_ROW) out.push_back(outbox_row{col(0), col(1), col(2), col(3)});
    return out;
  }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

class postgres_database final : public test_database {
 public:
  std::unique_ptr<domain::store> open(boost::asio::io_context& ctx) override {
    storage::postgres::options o;
    o.url = db_.url();
    o.pool_size = 4;
    return run(ctx, storage::postgres::open(ctx.get_executor(), o));
  }

  std::vector<outbox_row> outbox() override {
    std::vector<outbox_row> out;
    for (auto& r : pg_rows(db_.url(), outbox_sql)) out.push_back(outbox_row{r[0], r[1], r[2], r[3]});
    return out;
  }

 private:
  scratch_pg_database db_;
};

}  // namespace

std::optional<std::string> postgres_admin_url() {
  const char* v = std::getenv("SIGNALINK_TEST_PG_URL");  // NOLINT(concurrency-mt-unsafe): tests start single-threaded
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::string with_database(const std::string& url, const std::string& db) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) throw std::invalid_argument("not a postgresql:// URL: " + url);
  const auto query = url.find('?', scheme + 3);
  const auto host_end = std::min(url.find('/', scheme + 3), query);
  std::string out = url.substr(0, host_end) + "/" + db;
  if (query != std::string::npos) out += url.substr(query);
  return out;
}

std::unique_ptr<test_database> test_database::make(backend b) {
  if (b == backend::sqlite) return std::make_unique<sqlite_database>();
  return std::make_unique<postgres_database>();
}

scratch_pg_database::scratch_pg_database() {
  auto admin = postgres_admin_url();
  if (!admin) throw std::logic_error("SIGNALINK_TEST_PG_URL is not set");
  admin_url_ = *admin;
  name_ = "signalink_test_" + random_hex(6);
  url_ = with_database(admin_url_, name_);
  pg_rows(admin_url_, "CREATE DATABASE " + name_);
}

scratch_pg_database::~scratch_pg_database() {
  // An autovacuum worker on the fresh database belongs to no role we may
  // signal, so FORCE refuses to end it; it is gone a moment later.
  for (int attempt = 1;; ++attempt) {
    try {
      pg_rows(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
      return;
    } catch (const std::exception& e) {
      if (attempt == 20) {
        ADD_FAILURE() << "dropping " << name_ << ": " << e.what();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

std::vector<std::string> scratch_pg_database::query(const std::string& sql) const {
  return first_column(pg_rows(url_, sql));
}

std::vector<std::string> scratch_pg_database::admin_query(const std::string& sql) const {
  return first_column(pg_rows(admin_url_, sql));
}

}  // namespace sl::test
