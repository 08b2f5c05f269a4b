// sl_delivery against real peers on loopback: a minimal HTTP answerer written
// here (it only reads one request and writes a canned answer), and Debian's
// aiosmtpd for SMTP, skipped when /usr/bin/python3 lacks it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "delivery/detail/mail_headers.hpp"
#include "delivery/mail_client.hpp"
#include "delivery/signature.hpp"
#include "delivery/webhook_client.hpp"

using namespace sl::delivery;
using namespace std::chrono_literals;

namespace {

// A socket bound to 127.0.0.1 on a free port; listening only when asked, so
// a bound but silent socket gives a port that refuses connections.
class loopback_socket {
 public:
  explicit loopback_socket(bool listening) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || (listening && ::listen(fd_, 8) != 0) ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("loopback socket");
    port_ = ntohs(a.sin_port);
  }
  ~loopback_socket() { ::close(fd_); }
  loopback_socket(const loopback_socket&) = delete;
  loopback_socket& operator=(const loopback_socket&) = delete;

  int fd() const { return fd_; }
  unsigned short port() const { return port_; }

 private:
  int fd_;
  unsigned short port_ = 0;
};

bool readable(int fd, std::chrono::milliseconds within) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(within.count())) == 1;
}

// Accepts one connection, reads one request (headers and Content-Length body),
// then writes `answer`, or, when it is empty, stays silent until the client
// hangs up. Every wait is bounded so a broken client cannot hang the test.
class one_shot_http_server {
 public:
  explicit one_shot_http_server(std::string answer)
      : listener_(true), answer_(std::move(answer)), thread_([this] { run(); }) {}
  ~one_shot_http_server() { thread_.join(); }

  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(listener_.port()) + path;
  }
  // The raw request; valid once the client call returned (the server thread
  // has read it before answering).
  std::string request() {
    thread_.join();
    thread_ = std::thread([] {});
    return request_;
  }

 private:
  void run() {
    if (!readable(listener_.fd(), 10s)) return;
    int fd = ::accept(listener_.fd(), nullptr, nullptr);
    if (fd < 0) return;
    char buf[4096];
    std::size_t wanted = std::string::npos;
    while (request_.size() < wanted && readable(fd, 10s)) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      request_.append(buf, static_cast<std::size_t>(n));
      auto end = request_.find("\r\n\r\n");
      if (end != std::string::npos && wanted == std::string::npos) {
        auto cl = request_.find("Content-Length: ");
        std::size_t body = cl == std::string::npos ? 0 : std::stoul(request_.substr(cl + 16));
        wanted = end + 4 + body;
      }
    }
    if (answer_.empty()) {
      while (readable(fd, 10s) && ::recv(fd, buf, sizeof buf, 0) > 0) {
      }
    } else {
      ::send(fd, answer_.data(), answer_.size(), MSG_NOSIGNAL);
    }
    ::close(fd);
  }

  loopback_socket listener_;
  std::string answer_;
  std::string request_;
  std::thread thread_;
};

std::string answer(int status, const std::string& extra_headers = "", const std::string& body = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
}

}  // namespace

TEST(Signature, MatchesRfc4231TestCase2) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signature, AcceptsAnEmptyKey) { EXPECT_EQ(hmac_sha256_hex("", "x").size(), 64u); }

TEST(WebhookClient, DeliversBodyAndHeadersOnA2xx) {
  one_shot_http_server server(answer(204));
  const std::string body = R"({"event":"message.created","id":1})";
  const std::string sig = hmac_sha256_hex("secret", body);
  auto out = post_json({server.url(), body, {{"X-Signalink-Signature", "sha256=" + sig}}, 2000ms});
  EXPECT_TRUE(out.delivered) << out.error;
  EXPECT_EQ(out.status, 204);
  EXPECT_EQ(out.error, "");
  std::string req = server.request();
  EXPECT_EQ(req.rfind("POST /hook HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nUser-Agent: Signalink-Webhook/1\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nX-Signalink-Signature: sha256=" + sig + "\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.substr(req.find("\r\n\r\n") + 4), body);
}

TEST(WebhookClient, A500IsNotDelivered) {
  one_shot_http_server server(answer(500, "", "oops"));
  auto out = post_json({server.url(), "{}", {}, 2000ms});
  EXPECT_FALSE(out.delivered);
  EXPECT_EQ(out.status, 500);
  EXPECT_EQ(out.error, "HTTP 500");
}

TEST(WebhookClient, DoesNotFollowRedirects) {
  one_shot_http_server server(answer(302, "Location: http://127.0.0.1:1/elsewhere\r\n"));
  auto out = post_json({server.url(), "{}", {}, 2000ms});
  EXPECT_FALSE(out.delivered);
  EXPECT_EQ(out.status, 302);
  EXPECT_EQ(out.error, "HTTP 302");
}

TEST(WebhookClient, ALongAnswerIsCutOffWithoutChangingTheOutcome) {
  one_shot_http_server server(answer(200, "", std::string(1 << 20, 'x')));
  auto out = post_json({server.url(), "{}", {}, 2000ms});
  EXPECT_TRUE(out.delivered) << out.error;
  EXPECT_EQ(out.status, 200);
}

TEST(WebhookClient, ASilentReceiverTimesOutWithinTheDeadline) {
  one_shot_http_server server("");
  auto start = std::chrono::steady_clock::now();
  auto out = post_json({server.url(), "{}", {}, 300ms});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(out.delivered);
  EXPECT_EQ(out.status, 0);
  EXPECT_EQ(out.error, "timeout");
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 1300ms);
}

TEST(WebhookClient, ARefusedConnectionIsNotDelivered) {
  loopback_socket closed(false);
  auto out = post_json({"http://127.0.0.1:" + std::to_string(closed.port()) + "/hook", "{}", {}, 2000ms});
  EXPECT_FALSE(out.delivered);
  EXPECT_EQ(out.status, 0);
  EXPECT_FALSE(out.error.empty());
  EXPECT_NE(out.error, "timeout");
}

TEST(WebhookClient, RefusesOtherProtocols) {
  for (const char* url : {"ftp://127.0.0.1/hook", "file:///etc/passwd", "gopher://127.0.0.1/"}) {
    auto out = post_json({url, "{}", {}, 1000ms});
    EXPECT_FALSE(out.delivered) << url;
    EXPECT_FALSE(out.error.empty()) << url;
  }
}

TEST(WebhookClient, RefusesHeaderInjection) {
  auto out = post_json({"http://127.0.0.1:1/", "{}", {{"X-A", "1\r\nX-B: 2"}}, 1000ms});
  EXPECT_FALSE(out.delivered);
  EXPECT_FALSE(out.error.empty());
}

TEST(MailHeaders, DateIsRfc5322InUtc) {
  EXPECT_EQ(detail::rfc5322_date(std::chrono::system_clock::time_point{}), "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST(MailHeaders, SubjectIsEncodedOnlyWhenNeeded) {
  EXPECT_EQ(detail::encode_subject("Plain subject"), "Plain subject");
  EXPECT_EQ(detail::encode_subject("H\xc3\xa9llo"), "=?UTF-8?B?SMOpbGxv?=");
  EXPECT_EQ(detail::encode_subject("a\r\nBcc: x"), "=?UTF-8?B?YQ0KQmNjOiB4?=");
  // 30 two-byte characters (60 bytes): the first word takes 22 (44 bytes, a
  // 23rd would pass 45 bytes, the most a 75-character word holds), the second 8.
  std::string long_subject;
  for (int i = 0; i < 30; ++i) long_subject += "\xc3\xa9";
  std::string first = "=?UTF-8?B?";
  for (int i = 0; i < 7; ++i) first += "w6nDqcOp";
  first += "w6k=?=";
  EXPECT_EQ(detail::encode_subject(long_subject), first + "\r\n =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqQ==?=");
}

TEST(MailHeaders, EnvelopeAddress) {
  EXPECT_EQ(detail::envelope_address("a@b.example"), "a@b.example");
  EXPECT_EQ(detail::envelope_address("Signalink <noreply@b.example>"), "noreply@b.example");
  EXPECT_EQ(detail::envelope_address("nobody"), std::nullopt);
  EXPECT_EQ(detail::envelope_address("a@b\r\nRCPT TO:<c@d>"), std::nullopt);
  EXPECT_EQ(detail::envelope_address("a@b, c@d"), std::nullopt);
  EXPECT_EQ(detail::envelope_address("<a@b"), std::nullopt);
}

TEST(MailClient, RefusesABadAddressWithoutConnecting) {
  auto out = send_mail({"smtp://127.0.0.1:1"}, {"not an address", "to@x.example", "s", "t", ""});
  EXPECT_FALSE(out.delivered);
  EXPECT_EQ(out.error, "invalid from address");
}

TEST(MailClient, ARefusedConnectionIsNotDelivered) {
  loopback_socket closed(false);
  auto out = send_mail({"smtp://127.0.0.1:" + std::to_string(closed.port())},
                       {"from@x.example", "to@x.example", "s", "t", ""});
  EXPECT_FALSE(out.delivered);
  EXPECT_FALSE(out.error.empty());
}

namespace {

// aiosmtpd with its Mailbox handler, storing each message in a maildir.
class smtp_sink {
 public:
  smtp_sink() : dir_(std::filesystem::temp_directory_path() / ("sl-smtp-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir_);
    {
      // Take a free port from the kernel, then hand it to the server.
      loopback_socket probe(false);
      port_ = probe.port();
    }
    std::string listen = "127.0.0.1:" + std::to_string(port_);
    std::string maildir = dir_.string();
    const char* argv[] = {
        "/usr/bin/python3", "-m",   "aiosmtpd", "-n", "-l", listen.c_str(), "-c", "aiosmtpd.handlers.Mailbox",
        maildir.c_str(),    nullptr};
    if (::posix_spawn(&pid_, argv[0], nullptr, nullptr, const_cast<char**>(argv), environ) != 0) pid_ = -1;
  }
  ~smtp_sink() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  // Polls until the server accepts connections or exited (no aiosmtpd).
  bool ready() {
    for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
      if (pid_ <= 0 || ::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port_);
      bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (up) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    if (!std::filesystem::exists(dir_ / "new")) return out;
    for (const auto& entry : std::filesystem::directory_iterator(dir_ / "new")) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      out.push_back(text.str());
    }
    return out;
  }

 private:
  std::filesystem::path dir_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace

TEST(MailClient, SendsMultipartAlternativeToAiosmtpd) {
  smtp_sink sink;
  if (!sink.ready()) GTEST_SKIP() << "no /usr/bin/python3 with aiosmtpd";
  mail m{"Signalink <noreply@signalink.example>", "alice@example.com", "Caf\xc3\xa9 is open",
         "Hello Alice, text part.\n.\nBye.", "<p>Hello Alice, <b>html part</b>.</p>"};
  auto out = send_mail({sink.url(), "", "", false, 5000ms}, m);
  ASSERT_TRUE(out.delivered) << out.error;

  auto messages = sink.messages();
  ASSERT_EQ(messages.size(), 1u);
  const std::string& msg = messages[0];
  EXPECT_NE(msg.find("Subject: =?UTF-8?B?Q2Fmw6kgaXMgb3Blbg==?="), std::string::npos) << msg;
  EXPECT_NE(msg.find("From: Signalink <noreply@signalink.example>"), std::string::npos) << msg;
  EXPECT_NE(msg.find("To: alice@example.com"), std::string::npos) << msg;
  EXPECT_NE(msg.find("X-MailFrom: noreply@signalink.example"), std::string::npos) << msg;
  EXPECT_NE(msg.find("X-RcptTo: alice@example.com"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Message-ID: <"), std::string::npos) << msg;
  EXPECT_NE(msg.find("@signalink.example>"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Date: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("Content-Type: multipart/alternative; boundary="), std::string::npos) << msg;
  auto plain = msg.find("Content-Type: text/plain; charset=utf-8");
  auto html = msg.find("Content-Type: text/html; charset=utf-8");
  ASSERT_NE(plain, std::string::npos) << msg;
  ASSERT_NE(html, std::string::npos) << msg;
  EXPECT_LT(plain, html);
  // The lone "." line survived SMTP's dot-stuffing.
  EXPECT_NE(msg.find("Hello Alice, text part.\n.\nBye."), std::string::npos) << msg;
  // Quoted-printable writes '=' as "=3D" and leaves the rest of this HTML as is.
  EXPECT_NE(msg.find("<p>Hello Alice, <b>html part</b>.</p>"), std::string::npos) << msg;
}

TEST(MailClient, StarttlsIsRequiredNotOpportunistic) {
  smtp_sink sink;
  if (!sink.ready()) GTEST_SKIP() << "no /usr/bin/python3 with aiosmtpd";
  // This aiosmtpd offers no STARTTLS: the message must not go out in clear.
  auto out = send_mail({sink.url(), "", "", true, 5000ms}, {"from@x.example", "to@x.example", "s", "t", ""});
  EXPECT_FALSE(out.delivered);
  EXPECT_FALSE(out.error.empty());
  EXPECT_TRUE(sink.messages().empty());
}
