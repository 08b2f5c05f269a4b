#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "domain/validation.hpp"

using namespace sl::domain;

namespace {
boost::json::object obj(const char* text) { return boost::json::parse(text).as_object(); }
}  // namespace

TEST(Validation, CountsCodePointsNotBytes) {
  EXPECT_EQ(utf8_length("héllo"), 5u);
  EXPECT_EQ(utf8_length("日本"), 2u);
}

TEST(Validation, ReportsEveryBadFieldInFastApiShape) {
  auto o = obj(R"({"username":"ab","password":12})");
  field_reader f(o, "body");
  EXPECT_FALSE(f.required_string("username", 3, 50));
  EXPECT_FALSE(f.required_string("email", 0, 100));
  EXPECT_FALSE(f.required_string("password", 8, 100));
  ASSERT_EQ(f.errors().size(), 3u);
  EXPECT_EQ(f.errors()[0].type, "string_too_short");
  EXPECT_EQ(f.errors()[0].loc, (std::vector<std::string>{"body", "username"}));
  EXPECT_EQ(f.errors()[0].msg, "String should have at least 3 characters");
  EXPECT_EQ(f.errors()[0].ctx_json, R"({"min_length":3})");
  EXPECT_EQ(f.errors()[1].type, "missing");
  EXPECT_EQ(f.errors()[2].type, "string_type");
}

TEST(Validation, OptionalStringDistinguishesAbsentFromNull) {
  auto o = obj(R"({"a":null})");
  field_reader f(o, "body");
  auto a = f.optional_string("a", 0, 10);
  auto b = f.optional_string("b", 0, 10);
  ASSERT_TRUE(a);
  EXPECT_FALSE(*a);
  EXPECT_FALSE(b);
  EXPECT_TRUE(f.ok());
}

TEST(Validation, EnumsUuidsIntsAndObjects) {
  auto o = obj(R"({"role":"owner","id":"nope","n":-1,"meta":[1],"ok":"00000000-0000-0000-0000-000000000001"})");
  field_reader f(o, "body");
  EXPECT_FALSE(f.optional_enum("role", {"member", "admin"}));
  EXPECT_FALSE(f.required_uuid("id"));
  EXPECT_FALSE(f.optional_int("n", 0));
  EXPECT_FALSE(f.optional_object("meta"));
  EXPECT_TRUE(f.required_uuid("ok"));
  ASSERT_EQ(f.errors().size(), 4u);
  EXPECT_EQ(f.errors()[0].type, "enum");
  EXPECT_EQ(f.errors()[0].msg, "Input should be 'member' or 'admin'");
  EXPECT_EQ(f.errors()[1].type, "uuid_parsing");
  EXPECT_EQ(f.errors()[2].type, "greater_than_equal");
  EXPECT_EQ(f.errors()[3].type, "dict_type");
}

TEST(Validation, EmailsAndBlankContent) {
  EXPECT_TRUE(is_valid_email("test@example.com"));
  EXPECT_TRUE(is_valid_email("a.b+c@sub.example.org"));
  EXPECT_FALSE(is_valid_email("no-at-sign"));
  EXPECT_FALSE(is_valid_email("a@b"));
  EXPECT_FALSE(is_valid_email("a@@b.com"));
  EXPECT_FALSE(is_valid_email("a b@c.com"));
  EXPECT_TRUE(is_blank("  \t\n"));
  EXPECT_FALSE(is_blank(" x "));
}

TEST(Validation, IntegersOutOfRangeAreRefusedNotConverted) {
  auto o = obj(R"({"a":1e23,"b":-1e300,"c":4.0,"d":4.5,"e":99999999999999999999})");
  field_reader f(o, "body");
  EXPECT_FALSE(f.optional_int("a"));
  EXPECT_FALSE(f.optional_int("b"));
  EXPECT_EQ(f.optional_int("c"), 4);
  EXPECT_FALSE(f.optional_int("d"));
  EXPECT_FALSE(f.optional_int("e"));
  EXPECT_EQ(f.errors().size(), 4u);
}
