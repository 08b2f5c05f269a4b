#include "redis_server.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "base/random.hpp"
#include "broker/redis/redis_url.hpp"

extern char** environ;

namespace sl::test {
namespace {

using namespace std::chrono_literals;

struct context_deleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

context_ptr connect(const std::string& host, int port, std::chrono::milliseconds timeout) {
  const auto us = std::chrono::microseconds(timeout).count();
  const timeval tv{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
  context_ptr c(redisConnectWithTimeout(host.c_str(), port, tv));
  if (!c || c->err != 0) return nullptr;
  return c;
}

reply_ptr command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return reply_ptr(
      static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

std::string text_of(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      return std::to_string(r.integer);
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (std::size_t i = 0; i < r.elements; ++i) {
        if (i > 0) out += '\n';
        out += text_of(*r.element[i]);
      }
      return out;
    }
    case REDIS_REPLY_NIL:
      return "";
    default:
      return std::string(r.str, r.len);
  }
}

context_ptr connect_url(const std::string& url) {
  const auto ep = broker::redis::parse_redis_url(url);
  auto c = connect(ep.host, ep.port, 2000ms);
  if (!c) throw std::runtime_error("test redis: cannot connect to " + url);
  if (!ep.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!ep.user.empty()) auth.push_back(ep.user);
    auth.push_back(ep.password);
    command(c.get(), auth);
  }
  if (ep.db != 0) command(c.get(), {"SELECT", std::to_string(ep.db)});
  return c;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("test redis: no free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

bool redis_server::available() {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): nothing sets it
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const auto dir = dirs.substr(0, colon);
    if (!dir.empty() && ::access((std::string(dir) + "/redis-server").c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return false;
}

redis_server::redis_server()
    : port_(free_port()),
      dir_((std::filesystem::temp_directory_path() / ("signalink-broker-test-" + random_hex(6))).string()) {
  std::filesystem::create_directories(dir_);
  start();
}

redis_server::~redis_server() {
  if (pid_ > 0) {
    thaw();
    kill();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void redis_server::start() {
  const std::string port = std::to_string(port_);
  std::vector<std::string> args{"redis-server", "--port",     port,           "--bind",    "127.0.0.1",
                                "--save",       "",           "--appendonly", "no",        "--dir",
                                dir_,           "--loglevel", "warning",      "--logfile", dir_ + "/redis.log"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("test redis: cannot start redis-server");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto c = connect("127.0.0.1", port_, 200ms)) {
      auto r = command(c.get(), {"PING"});
      if (r && r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "PONG") return;
    }
    std::this_thread::sleep_for(20ms);  // polling step, bounded by the deadline
  }
  throw std::runtime_error("test redis: redis-server did not answer on port " + port + " within 10 s");
}

void redis_server::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void redis_server::freeze() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void redis_server::thaw() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string redis_sync_command(const std::string& url, const std::vector<std::string>& args) {
  auto c = connect_url(url);
  auto r = command(c.get(), args);
  if (!r) throw std::runtime_error("test redis: " + args.front() + " failed");
  if (r->type == REDIS_REPLY_ERROR) throw std::runtime_error("test redis: " + args.front() + ": " + r->str);
  return text_of(*r);
}

void redis_delete_prefix(const std::string& url, const std::string& prefix) {
  auto c = connect_url(url);
  std::string cursor = "0";
  do {
    auto r = command(c.get(), {"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return;
    cursor = std::string(r->element[0]->str, r->element[0]->len);
    const auto* keys = r->element[1];
    for (std::size_t i = 0; i < keys->elements; ++i)
      command(c.get(), {"DEL", std::string(keys->element[i]->str, keys->element[i]->len)});
  } while (cursor != "0");
}

}  // namespace sl::test
