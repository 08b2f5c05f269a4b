// The published OpenAPI document and the server's route table describe the
// same operations: nothing undocumented, nothing documented but missing.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "domain/auth_service.hpp"
#include "security/argon2_hasher.hpp"
#include "security/jwt_codec.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "transport/http/analytics_api.hpp"
#include "transport/http/api.hpp"

namespace {

std::set<std::string> spec_operations(const char* path = SL_OPENAPI_PATH) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = boost::json::parse(ss.str()).as_object();
  EXPECT_EQ(doc.at("openapi").as_string().subview().substr(0, 3), "3.1");
  std::set<std::string> ops;
  for (auto& [path, item] : doc.at("paths").as_object())
    for (auto& [method, op] : item.as_object()) {
      std::string m(method);
      for (auto& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (m == "GET" || m == "POST" || m == "PUT" || m == "DELETE" || m == "PATCH")
        ops.insert(m + " " + std::string(path));
    }
  return ops;
}

}  // namespace

TEST(OpenApi, DocumentsExactlyTheRoutesTheServerHas) {
  const auto dir = std::filesystem::temp_directory_path() / ("sl-openapi-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto db = sl::storage::sqlite::open({(dir / "db.sqlite").string(), 1});
  sl::security::argon2_hasher hasher(sl::security::hash_cost::fast, 1);
  sl::security::jwt_codec tokens(std::string(40, 'k'));
  sl::system_clock clk;
  sl::domain::rate_limiter limiter({});
  sl::domain::auth_service auth(*db, hasher, tokens, clk, {});
  sl::domain::null_realtime_sink live;
  sl::domain::channel_service channels(*db, clk, live);
  sl::domain::message_service messages(*db, clk, limiter, live);
  sl::http::api_context ctx{*db, auth, channels, messages, {}};
  sl::http::router r;
  sl::http::add_api_routes(r, ctx);

  // The docs UI and the document itself are not API operations (FastAPI leaves them out too).
  const std::set<std::string> undocumented{"GET /openapi.json",       "GET /docs",      "GET /redoc",
                                           "GET /docs/assets/{name}", "GET /app/",      "GET /app/config.json",
                                           "GET /app/assets/{name}",  "GET /app/{name}"};
  std::set<std::string> served;
  for (const auto& route : r.routes()) {
    const auto op = route.method + " " + route.pattern;
    if (!undocumented.contains(op)) served.insert(op);
  }
  const auto documented = spec_operations();
  EXPECT_EQ(served, documented);
  EXPECT_GE(served.size(), 25u);
  db.reset();
  std::filesystem::remove_all(dir);
}

TEST(OpenApi, TheAnalyticsDocumentDescribesExactlyTheAnalyticsRoutes) {
  const auto dir = std::filesystem::temp_directory_path() / ("sl-openapi-an-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto db = sl::storage::sqlite::open({(dir / "db.sqlite").string(), 1});
  sl::system_clock clk;
  sl::http::analytics_context ctx{*db, clk, {}, {}};
  sl::http::router r;
  sl::http::add_analytics_routes(r, ctx);
  const std::set<std::string> undocumented{"GET /openapi.json", "GET /docs", "GET /docs/assets/{name}",
                                           "GET /dashboard", "GET /dashboard/assets/{name}"};
  std::set<std::string> served;
  for (const auto& route : r.routes()) {
    const auto op = route.method + " " + route.pattern;
    if (!undocumented.contains(op)) served.insert(op);
  }
  EXPECT_EQ(served, spec_operations(SL_ANALYTICS_OPENAPI_PATH));
  EXPECT_EQ(served.size(), 11u);
  db.reset();
  std::filesystem::remove_all(dir);
}
