#include "transport/http/static_files.hpp"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "transport/http/replies.hpp"

namespace sl::http {
namespace {

std::string content_type_of(const std::filesystem::path& p) {
  const auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "application/javascript";
  if (ext == ".css") return "text/css";
  if (ext == ".json" || ext == ".map" || ext == ".webmanifest") return "application/json";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt" || ext == ".LICENSE" || ext == ".NOTICE") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

bool compressible(const std::string& content_type) {
  return content_type.starts_with("text/") || content_type == "application/javascript" ||
         content_type == "application/json" || content_type == "image/svg+xml";
}

// A gzip member (windowBits 16 + 15 asks zlib for the gzip wrapper).
std::string gzip(std::string_view in) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + 15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

// Strong validator: the content's hash and size. std::hash of a string is
// deterministic across runs in libstdc++, so a restart keeps ETags (and
// browsers' caches) valid for unchanged files.
std::string etag_of(std::string_view body) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "\"%016zx-%zx\"", std::hash<std::string_view>{}(body), body.size());
  return buf;
}

// If-None-Match is `*` or a list of (possibly weak, W/"...") entity tags.
bool names(std::string_view if_none_match, std::string_view etag) {
  return if_none_match == "*" || if_none_match.find(etag) != std::string_view::npos;
}

std::string gzip_etag(const std::string& etag) { return etag.substr(0, etag.size() - 1) + "-gz\""; }

bool accepts_gzip(std::string_view accept_encoding) {
  // Enough for what browsers send ("gzip, deflate, br"); an explicit "gzip;q=0" is honoured.
  const auto at = accept_encoding.find("gzip");
  if (at == std::string_view::npos) return false;
  auto rest = accept_encoding.substr(at + 4);
  rest = rest.substr(0, rest.find(','));
  return rest.find("q=0") == std::string_view::npos || rest.find("q=0.") != std::string_view::npos;
}

}  // namespace

void static_files::load(const std::string& file, const std::string& name, const std::string& cache,
                        const header_list& extra) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return;
  std::ostringstream ss;
  ss << in.rdbuf();
  auto e = std::make_unique<entry>();
  e->plain.content_type = content_type_of(file);
  e->plain.body = ss.str();
  e->etag = etag_of(e->plain.body);
  e->compressible = compressible(e->plain.content_type) && e->plain.body.size() > 256;
  e->plain.header("Cache-Control", cache);
  for (const auto& [k, v] : extra) e->plain.header(k, v);
  if (e->compressible) e->plain.header("Vary", "Accept-Encoding");
  e->plain.header("ETag", e->etag);
  by_name_.insert_or_assign(name, std::move(e));
}

const response* static_files::gzipped(const entry& e) const {
  std::call_once(e.gzip_once, [&e] {
    auto packed = gzip(e.plain.body);
    if (packed.size() >= e.plain.body.size()) return;
    e.gzipped = e.plain;
    e.gzipped.body = std::move(packed);
    for (auto& [k, v] : e.gzipped.headers)
      if (k == "ETag") v = gzip_etag(e.etag);
    e.gzipped.header("Content-Encoding", "gzip");
  });
  return e.gzipped.status != 0 ? &e.gzipped : nullptr;
}

void static_files::load_dir(const std::string& dir, const std::string& prefix, const std::string& cache,
                            const header_list& extra) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file()) load(e.path().string(), prefix + e.path().filename().string(), cache, extra);
}

response static_files::get(const std::string& name, const request& req) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return detail(404, "Not Found");
  const auto& e = *it->second;
  const response* chosen = &e.plain;
  if (e.compressible && accepts_gzip(req.accept_encoding))
    if (const auto* packed = gzipped(e)) chosen = packed;
  // Either variant's tag means the client has this content.
  if (!req.if_none_match.empty() && (names(req.if_none_match, e.etag) || names(req.if_none_match, gzip_etag(e.etag)))) {
    response not_modified;
    not_modified.status = 304;
    not_modified.content_type.clear();
    for (const auto& [k, v] : chosen->headers)
      if (k != "Content-Encoding") not_modified.header(k, v);
    return not_modified;
  }
  return *chosen;
}

namespace {

task<response> respond(std::shared_ptr<const static_files> files, std::string name, const request& req) {
  co_return files->get(name, req);
}

}  // namespace

handler serve(std::shared_ptr<const static_files> files, std::string name, std::string param) {
  if (param.empty()) return [files, name](request& q) { return respond(files, name, q); };
  return [files, name, param](request& q) { return respond(files, name + q.param(param), q); };
}

}  // namespace sl::http
