#include "transport/http/static_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using sl::http::request;
using sl::http::response;
using sl::http::static_files;

std::string header_of(const response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 16 + 15), Z_OK);
  std::string out(std::size_t{1} << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

class StaticFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sl-static-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "assets");
    write("assets/app-1a2b.js", std::string(4000, 'x') + "console.log(1)");
    write("tiny.css", "a{}");
    write("logo.png", std::string(2000, '\x89'));
    files_.load_dir((dir_ / "assets").string(), "assets/", "public, max-age=31536000, immutable",
                    {{"X-Content-Type-Options", "nosniff"}});
    files_.load((dir_ / "tiny.css").string(), "tiny.css", "no-cache");
    files_.load((dir_ / "logo.png").string(), "logo.png", "no-cache");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& body) { std::ofstream(dir_ / name, std::ios::binary) << body; }

  fs::path dir_;
  static_files files_;
};

TEST_F(StaticFiles, ServesTheFileWithItsCacheHeadersAndAStrongETag) {
  const auto r = files_.get("assets/app-1a2b.js", request{});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/javascript");
  EXPECT_EQ(r.body.size(), 4014u);
  EXPECT_EQ(header_of(r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header_of(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header_of(r, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header_of(r, "Content-Encoding"), "");
  const auto etag = header_of(r, "ETag");
  ASSERT_GE(etag.size(), 4u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
}

TEST_F(StaticFiles, GzipGoesOnlyToClientsThatAcceptItAndInflatesToTheFile) {
  request gz;
  gz.accept_encoding = "gzip, deflate, br";
  const auto packed = files_.get("assets/app-1a2b.js", gz);
  EXPECT_EQ(header_of(packed, "Content-Encoding"), "gzip");
  EXPECT_LT(packed.body.size(), 200u);
  EXPECT_EQ(gunzip(packed.body), files_.get("assets/app-1a2b.js", request{}).body);
  EXPECT_NE(header_of(packed, "ETag"), header_of(files_.get("assets/app-1a2b.js", request{}), "ETag"));

  request refused;
  refused.accept_encoding = "br, gzip;q=0";
  EXPECT_EQ(header_of(files_.get("assets/app-1a2b.js", refused), "Content-Encoding"), "");
  // Too small, or not text: never compressed.
  EXPECT_EQ(header_of(files_.get("tiny.css", gz), "Content-Encoding"), "");
  EXPECT_EQ(header_of(files_.get("logo.png", gz), "Content-Encoding"), "");
}

TEST_F(StaticFiles, AMatchingIfNoneMatchGets304WithoutABodyAndAStaleOneTheFile) {
  const auto etag = header_of(files_.get("assets/app-1a2b.js", request{}), "ETag");
  request again;
  again.if_none_match = etag;
  auto r = files_.get("assets/app-1a2b.js", again);
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(header_of(r, "ETag"), etag);
  EXPECT_EQ(header_of(r, "Cache-Control"), "public, max-age=31536000, immutable");

  // The gzip variant's tag, a weak spelling and a list all count.
  request gz;
  gz.accept_encoding = "gzip";
  gz.if_none_match = "\"other\", W/" + header_of(files_.get("assets/app-1a2b.js", gz), "ETag");
  EXPECT_EQ(files_.get("assets/app-1a2b.js", gz).status, 304);

  request stale;
  stale.if_none_match = "\"0000000000000000-fae\"";
  EXPECT_EQ(files_.get("assets/app-1a2b.js", stale).status, 200);
}

TEST_F(StaticFiles, UnknownNamesAndMissingFilesAre404) {
  files_.load((dir_ / "absent.js").string(), "absent.js", "no-cache");
  EXPECT_EQ(files_.get("absent.js", request{}).status, 404);
  EXPECT_EQ(files_.get("assets/../tiny.css", request{}).status, 404);
  EXPECT_EQ(files_.get("assets/", request{}).status, 404);
}

}  // namespace
