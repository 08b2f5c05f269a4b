#include "events/kafka/detail/client.hpp"

#include <array>
#include <boost/asio/post.hpp>
#include <stdexcept>

#include "base/log.hpp"

namespace sl::events::kafka::detail {
namespace {

log::level to_level(int syslog_level) {
  if (syslog_level <= 2) return log::level::error;
  if (syslog_level <= 4) return log::level::warn;  // librdkafka reports a refused connection at 3
  if (syslog_level <= 6) return log::level::info;
  return log::level::debug;
}

void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto* ctx = static_cast<client_context*>(rd_kafka_opaque(rk));
  const auto l = to_level(level);
  if (ctx == nullptr || !log::enabled(l)) return;
  const auto left_out = ctx->limiter.admit(fac);
  if (!left_out) return;
  boost::json::object fields{{"client", ctx->name}, {"facility", fac}, {"detail", buf}};
  if (*left_out > 0) fields["suppressed"] = *left_out;
  log::write(l, "kafka client", std::move(fields));
}

}  // namespace

std::optional<std::size_t> log_limiter::admit(std::string_view key, clock::time_point now) {
  std::lock_guard lock(mu_);
  auto [it, fresh] = seen_.try_emplace(std::string(key));
  auto& e = it->second;
  if (!fresh && now - e.last < window_) {
    ++e.suppressed;
    return std::nullopt;
  }
  e.last = now;
  return std::exchange(e.suppressed, 0);
}

conf_ptr make_conf(std::initializer_list<std::pair<const char*, std::string>> props) {
  conf_ptr conf(rd_kafka_conf_new());
  std::array<char, 512> err{};
  for (const auto& [name, value] : props) {
    if (rd_kafka_conf_set(conf.get(), name, value.c_str(), err.data(), err.size()) != RD_KAFKA_CONF_OK)
      throw std::invalid_argument(std::string("kafka: ") + name + "=" + value + ": " + err.data());
  }
  return conf;
}

void log_client_error(client_context& ctx, rd_kafka_resp_err_t err, std::string_view reason, failure kind) {
  const bool fatal = kind == failure::permanent;
  const auto left_out = ctx.limiter.admit("error:" + std::to_string(static_cast<int>(err)));
  if (!left_out && !fatal) return;
  boost::json::object fields{{"client", ctx.name}, {"error", rd_kafka_err2name(err)}, {"detail", std::string(reason)}};
  if (left_out && *left_out > 0) fields["suppressed"] = *left_out;
  if (fatal)
    log::error("kafka client failed", std::move(fields));
  else
    log::warn("kafka client error", std::move(fields));
}

client::client(rd_kafka_type_t type, conf_ptr conf, std::string name) : ctx_(std::make_unique<client_context>()) {
  ctx_->name = std::move(name);
  rd_kafka_conf_set_log_cb(conf.get(), &on_log);
  rd_kafka_conf_set_opaque(conf.get(), ctx_.get());
  std::array<char, 512> err{};
  rk_ = rd_kafka_new(type, conf.get(), err.data(), err.size());
  if (rk_ == nullptr) throw std::invalid_argument("kafka: " + ctx_->name + ": " + err.data());
  (void)conf.release();  // rd_kafka_new took it
}

client::~client() {
  if (rk_ != nullptr) rd_kafka_destroy_flags(rk_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

boost::asio::thread_pool& blocking_pool() {
  // Leaked on purpose: clients may still be destroyed on it while statics go.
  static auto* pool = new boost::asio::thread_pool(2);
  return *pool;
}

std::shared_ptr<client> make_shared_client(rd_kafka_type_t type, conf_ptr conf, std::string name) {
  auto owned = std::make_unique<client>(type, std::move(conf), std::move(name));
  return std::shared_ptr<client>(owned.release(), [](client* c) {
    auto ex = blocking_pool().get_executor();
    if (ex.running_in_this_thread())
      delete c;
    else
      boost::asio::post(ex, [c] { delete c; });
  });
}

}  // namespace sl::events::kafka::detail
