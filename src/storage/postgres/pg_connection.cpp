#include "storage/postgres/pg_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "storage/postgres/detail/metrics.hpp"

namespace sl::storage::postgres {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

void on_notice(void*, const char* message) { log::debug("postgres notice", {{"notice", message}}); }

std::string libpq_message(PGconn* c) {
  std::string m = c ? PQerrorMessage(c) : "out of memory";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

pg_connection::pg_connection(const asio::any_io_executor& ex, PGconn* conn) : conn_(conn), socket_(ex), timer_(ex) {}

pg_connection::~pg_connection() {
  // The descriptor only watches libpq's socket: PQfinish closes it.
  if (socket_.is_open()) socket_.release();
}

task<std::unique_ptr<pg_connection>> pg_connection::connect(asio::any_io_executor ex, std::string url,
                                                            std::chrono::milliseconds timeout) {
  // Later keywords override what the URL says: the rows are read as UTC ISO text.
  const char* keys[] = {"dbname", "options", "client_encoding", "fallback_application_name", nullptr};
  const char* values[] = {url.c_str(), "-c TimeZone=UTC -c DateStyle=ISO,YMD", "UTF8", "signalink", nullptr};
  PGconn* raw = PQconnectStartParams(keys, values, 1);
  if (raw == nullptr) throw pg_error("postgres: connect: out of memory");
  std::unique_ptr<pg_connection> c(new pg_connection(std::move(ex), raw));
  if (PQstatus(raw) == CONNECTION_BAD) c->fail("connect");

  const auto deadline = clock::now() + timeout;
  auto state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) c->fail("connect");
    // libpq may switch sockets while it tries addresses or falls back from SSL.
    c->track_socket();
    co_await c->wait(state == PGRES_POLLING_READING ? interest::read : interest::write, deadline);
    state = PQconnectPoll(raw);
  }
  c->track_socket();
  if (PQsetnonblocking(raw, 1) != 0) c->fail("set non-blocking");
  PQsetNoticeProcessor(raw, on_notice, nullptr);
  co_return c;
}

bool pg_connection::reusable() const noexcept {
  return !broken_ && PQstatus(conn_.get()) == CONNECTION_OK && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

void pg_connection::track_socket() {
  const int fd = PQsocket(conn_.get());
  if (fd == fd_ && socket_.is_open()) return;
  if (socket_.is_open()) socket_.release();
  fd_ = fd;
  if (fd >= 0) socket_.assign(fd);
}

void pg_connection::fail(const std::string& what) {
  broken_ = true;
  throw pg_error("postgres: " + what + ": " + libpq_message(conn_.get()));
}

task<pg_connection::ready> pg_connection::wait(interest what, clock::time_point deadline) {
  if (clock::now() >= deadline) {
    broken_ = true;
    throw pg_error("postgres: timed out");
  }
  if (!socket_.is_open()) fail("no socket");
  timer_.expires_at(deadline);
  using wait_type = asio::posix::stream_descriptor::wait_type;
  std::size_t winner = 0;
  boost::system::error_code ec;
  switch (what) {
    case interest::read: {
      auto r = co_await (socket_.async_wait(wait_type::wait_read, use_tuple) || timer_.async_wait(use_tuple));
      winner = r.index() == 0 ? 0 : 2;
      if (r.index() == 0) ec = std::get<0>(std::get<0>(r));
      break;
    }
    case interest::write: {
      auto r = co_await (socket_.async_wait(wait_type::wait_write, use_tuple) || timer_.async_wait(use_tuple));
      winner = r.index() == 0 ? 1 : 2;
      if (r.index() == 0) ec = std::get<0>(std::get<0>(r));
      break;
    }
    case interest::read_write: {
      auto r = co_await (socket_.async_wait(wait_type::wait_read, use_tuple) ||
                         socket_.async_wait(wait_type::wait_write, use_tuple) || timer_.async_wait(use_tuple));
      winner = r.index();
      if (r.index() == 0) ec = std::get<0>(std::get<0>(r));
      if (r.index() == 1) ec = std::get<0>(std::get<1>(r));
      break;
    }
  }
  if (winner == 2) {
    broken_ = true;
    throw pg_error("postgres: timed out");
  }
  if (ec) {
    broken_ = true;
    throw pg_error("postgres: socket wait: " + ec.message());
  }
  co_return winner == 0 ? ready::read : ready::write;
}

task<void> pg_connection::flush(clock::time_point deadline) {
  for (;;) {
    const int r = PQflush(conn_.get());
    if (r < 0) fail("send");
    if (r == 0) co_return;
    // The server may be waiting for us to read before it reads more.
    if (co_await wait(interest::read_write, deadline) == ready::read && !PQconsumeInput(conn_.get())) fail("receive");
  }
}

task<pg_result> pg_connection::next_result(clock::time_point deadline) {
  while (PQisBusy(conn_.get())) {
    co_await wait(interest::read, deadline);
    if (!PQconsumeInput(conn_.get())) fail("receive");
  }
  co_return pg_result(PQgetResult(conn_.get()));
}

task<std::vector<pg_result>> pg_connection::exec(std::span<const pg_statement> statements, clock::duration timeout) {
  if (broken_) throw pg_error("postgres: connection is broken");
  const auto started = clock::now();
  const auto deadline = started + timeout;
  PGconn* c = conn_.get();
  broken_ = true;  // until the pipeline is drained: any throw leaves the protocol state unknown
  if (PQenterPipelineMode(c) != 1) fail("enter pipeline mode");

  // What was sent, in order: a statement (its index), or the Parse preparing it.
  struct sent_item {
    std::size_t index;
    const char* prepare;
  };
  std::vector<sent_item> sent;
  sent.reserve(statements.size() + 1);
  std::unordered_set<std::string_view> preparing;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const auto& s = statements[i];
    const auto& v = s.values();
    int ok = 0;
    if (s.name() != nullptr) {
      if (!prepared_.contains(s.name()) && !preparing.contains(s.name())) {
        if (!PQsendPrepare(c, s.name(), s.sql(), s.size(), nullptr)) fail("prepare");
        preparing.insert(s.name());
        sent.push_back({i, s.name()});
      }
      ok = PQsendQueryPrepared(c, s.name(), s.size(), v.data(), nullptr, nullptr, 0);
    } else {
      ok = PQsendQueryParams(c, s.sql(), s.size(), nullptr, v.data(), nullptr, nullptr, 0);
    }
    if (!ok) fail("send");
    sent.push_back({i, nullptr});
  }
  if (!PQpipelineSync(c)) fail("sync");
  co_await flush(deadline);

  std::vector<pg_result> out(statements.size());
  pg_result prepare_error;
  for (const auto& item : sent) {
    pg_result r = co_await next_result(deadline);
    if (!r) fail("missing result");
    if (co_await next_result(deadline)) fail("unexpected extra result");
    if (item.prepare != nullptr) {
      if (r.status() == PGRES_COMMAND_OK)
        prepared_.insert(item.prepare);
      else if (!r.aborted())
        prepare_error = std::move(r);
      continue;
    }
    // A statement that could not be prepared reports why instead of "aborted".
    out[item.index] = (r.aborted() && prepare_error) ? std::move(prepare_error) : std::move(r);
    prepare_error = pg_result();
  }
  if (pg_result sync = co_await next_result(deadline); sync.status() != PGRES_PIPELINE_SYNC)
    fail("expected the pipeline sync");
  if (PQexitPipelineMode(c) != 1) fail("exit pipeline mode");
  broken_ = false;
  detail::observe_query(std::chrono::duration<double>(clock::now() - started).count());
  co_return out;
}

task<pg_result> pg_connection::exec(const pg_statement& statement, clock::duration timeout) {
  auto results = co_await exec(std::span<const pg_statement>(&statement, 1), timeout);
  co_return std::move(results.front());
}

task<void> pg_connection::exec_script(std::string sql, clock::duration timeout) {
  if (broken_) throw pg_error("postgres: connection is broken");
  const auto started = clock::now();
  const auto deadline = started + timeout;
  broken_ = true;
  if (!PQsendQuery(conn_.get(), sql.c_str())) fail("send");
  co_await flush(deadline);
  pg_result first_error;
  while (pg_result r = co_await next_result(deadline)) {
    if (!r.ok() && !first_error) first_error = std::move(r);
  }
  broken_ = false;
  detail::observe_query(std::chrono::duration<double>(clock::now() - started).count());
  if (first_error) first_error.expect_ok("postgres: script");
}

}  // namespace sl::storage::postgres
