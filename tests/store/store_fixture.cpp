#include "store_fixture.hpp"

namespace sl::test {

std::vector<backend> postgres_if_configured() {
  if (postgres_admin_url()) return {backend::postgres};
  return {};
}

std::string backend_name(const testing::TestParamInfo<backend>& info) {
  return info.param == backend::sqlite ? "sqlite" : "postgres";
}

// The suite's two instantiations. Without SIGNALINK_TEST_PG_URL the
// PostgreSQL one holds no test at all (rather than passing ones that skip).
INSTANTIATE_TEST_SUITE_P(sqlite, store_contract, testing::Values(backend::sqlite), backend_name);
INSTANTIATE_TEST_SUITE_P(postgres, store_contract, testing::ValuesIn(postgres_if_configured()), backend_name);

void store_contract::SetUp() {
  clock_ = *parse_iso("2026-01-01T00:00:00Z");
  database_ = test_database::make(GetParam());
  store_ = database_->open(ctx_);
}

void store_contract::TearDown() {
  store_.reset();
  ctx_.restart();
  ctx_.run();  // lets released connections go back and close
  database_.reset();
}

timestamp store_contract::tick() {
  clock_ += std::chrono::milliseconds(1);
  return clock_;
}

domain::user store_contract::make_user(const std::string& username, std::optional<std::string> full_name) {
  auto r = run(db().create_user(domain::new_user{user_id::generate(), username, username + "@example.com",
                                                 "hash-of-" + username, std::move(full_name), tick()}));
  if (!r) throw std::runtime_error("make_user " + username + ": " + r.err().detail);
  return r.value();
}

domain::channel store_contract::make_channel(const domain::user& owner, const std::string& name, bool is_private) {
  auto r = run(db().create_channel(domain::new_channel{channel_id::generate(), name, std::nullopt, is_private, owner.id,
                                                       member_id::generate(), tick()}));
  if (!r) throw std::runtime_error("make_channel " + name + ": " + r.err().detail);
  return r.value();
}

domain::member store_contract::join(const domain::channel& c, const domain::user& u, domain::role r) {
  auto m = run(db().add_member(domain::new_member{member_id::generate(), c.id, u.id, r, u.id, tick()}));
  if (!m) throw std::runtime_error("join: " + m.err().detail);
  return m.value();
}

domain::new_message store_contract::draft(const domain::user& author, const domain::channel& c,
                                          const std::string& content) {
  domain::new_message m;
  m.id = message_id::generate();
  m.channel = c.id;
  m.author = author.id;
  m.content = content;
  m.metadata = nullptr;
  m.now = tick();
  return m;
}

domain::created_message store_contract::send(const domain::user& author, const domain::channel& c,
                                             const std::string& content) {
  return send(draft(author, c, content));
}

domain::created_message store_contract::send(domain::new_message m) {
  auto r = run(db().create_message(std::move(m)));
  if (!r) throw std::runtime_error("create_message refused: " + r.err().detail);
  return std::move(r).value();
}

namespace {

task<void> send_keeping(domain::store* db, domain::new_message m,
                        std::optional<result<domain::created_message>>* outcome) {
  outcome->emplace(co_await db->create_message(std::move(m)));
}

}  // namespace

std::vector<result<domain::created_message>> store_contract::send_together(std::vector<domain::new_message> messages) {
  std::vector<std::optional<result<domain::created_message>>> outcomes(messages.size());
  int failures = 0;
  for (std::size_t i = 0; i < messages.size(); ++i)
    boost::asio::co_spawn(ctx_, send_keeping(store_.get(), std::move(messages[i]), &outcomes[i]),
                          [&failures](const std::exception_ptr& e) {
                            if (e) ++failures;
                          });
  ctx_.restart();
  ctx_.run();
  if (failures > 0) throw std::runtime_error("send_together: " + std::to_string(failures) + " sends threw");
  std::vector<result<domain::created_message>> out;
  out.reserve(outcomes.size());
  for (auto& o : outcomes) out.push_back(std::move(*o));
  return out;
}

std::vector<std::int64_t> store_contract::seqs(const domain::channel& c, domain::history_query q) {
  std::vector<std::int64_t> out;
  for (const auto& m : run(db().list_messages(c.id, q))) out.push_back(m.seq);
  return out;
}

std::vector<std::string> store_contract::outbox_types() {
  std::vector<std::string> out;
  for (auto& r : database_->outbox()) out.push_back(r.event_type);
  return out;
}

}  // namespace sl::test
