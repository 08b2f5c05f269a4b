#include "transport/http/admin_routes.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "await_in.hpp"
#include "base/log.hpp"

using namespace sl;
using namespace sl::http;

TEST(AdminRoutes, KnowsLoopbackAddresses) {
  for (const char* a : {"127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"})
    EXPECT_TRUE(is_loopback(a)) << a;
  for (const char* a : {"", "10.0.0.1", "128.0.0.1", "::", "::2", "::ffff:10.0.0.1", "fe80::1", "127.0.0.1x",
                        "1270.0.0.1", "localhost", "127.example.com"})
    EXPECT_FALSE(is_loopback(a)) << a;
}

namespace {

int level_status(const std::string& peer, bool via_proxy) {
  router r;
  add_admin_routes(r);
  request req;
  req.method = "GET";
  req.path = "/admin/log-level";
  req.target = req.path;
  req.client_address = peer;
  req.via_proxy = via_proxy;
  auto m = r.find(req);
  EXPECT_EQ(m.outcome, match::kind::found);
  boost::asio::io_context io;
  return test::await_in(io, m.r->fn(req)).status;
}

}  // namespace

TEST(AdminRoutes, AnswersOnlyLoopbackPeersThatNoProxyRelayed) {
  EXPECT_EQ(level_status("127.0.0.1", false), 200);
  EXPECT_EQ(level_status("::ffff:127.0.0.1", false), 200);
  // nginx on the same host connects from loopback for every client.
  EXPECT_EQ(level_status("127.0.0.1", true), 403);
  EXPECT_EQ(level_status("192.0.2.7", false), 403);
}
