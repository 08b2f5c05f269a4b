#include <gtest/gtest.h>

#include "app/config.hpp"
#include "security/secret_key.hpp"

using namespace sl::app;

TEST(Config, SqliteUrls) {
  EXPECT_EQ(sqlite_path("sqlite:///abs/dir/file.db"), "/abs/dir/file.db");
  EXPECT_EQ(sqlite_path("sqlite:////abs/dir/file.db"), "/abs/dir/file.db");
  EXPECT_EQ(sqlite_path("sqlite:rel/file.db"), "rel/file.db");
  EXPECT_EQ(backend_of("postgresql://u:p@h:5432/d"), backend::postgres);
  EXPECT_EQ(backend_of("postgres://u:p@h/d"), backend::postgres);
  EXPECT_EQ(backend_of("sqlite:///x.db"), backend::sqlite);
}

TEST(Config, ProductionRefusesFastHashesAndOtherAlgorithms) {
  config c;
  c.environment = "production";
  c.password_hash_cost = "fast";
  EXPECT_FALSE(validate(c).empty());
  c.password_hash_cost = "interactive";
  EXPECT_TRUE(validate(c).empty());
  c.algorithm = "none";
  EXPECT_FALSE(validate(c).empty());
}

TEST(Config, CorsOriginsAsJsonListOrCommaList) {
  config c;
  c.cors_origins = R"(["http://a.test","http://b.test"])";
  EXPECT_EQ(c.cors_origin_list().size(), 2u);
  c.cors_origins = "http://a.test, http://b.test";
  EXPECT_EQ(c.cors_origin_list(), (std::vector<std::string>{"http://a.test", "http://b.test"}));
}

TEST(SecretKey, ProductionRules) {
  const auto dir = std::filesystem::temp_directory_path() / "sl-secret-test";
  EXPECT_FALSE(sl::security::resolve_secret_key(std::nullopt, true, dir));
  EXPECT_FALSE(sl::security::resolve_secret_key(std::string("short"), true, dir));
  EXPECT_FALSE(sl::security::resolve_secret_key(std::string(sl::security::example_secret), true, dir));
  EXPECT_TRUE(sl::security::resolve_secret_key(std::string(40, 'k'), true, dir));
}

TEST(SecretKey, DevelopmentGeneratesOnceAndKeepsIt) {
  const auto dir = std::filesystem::temp_directory_path() / ("sl-secret-dev-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto a = sl::security::resolve_secret_key(std::nullopt, false, dir);
  auto b = sl::security::resolve_secret_key(std::nullopt, false, dir);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_GE(a->size(), 32u);
  EXPECT_EQ(*a, *b);
  std::filesystem::remove_all(dir);
}
