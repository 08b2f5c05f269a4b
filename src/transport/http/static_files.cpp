#include "transport/http/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "transport/http/replies.hpp"

namespace sl::http {
namespace {

std::string content_type_of(const std::filesystem::path& p) {
  const auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "application/javascript";
  if (ext == ".css") return "text/css";
  if (ext == ".json") return "application/json";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".map") return "application/json";
  if (ext == ".txt" || ext == ".LICENSE" || ext == ".NOTICE") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

void static_files::load(const std::string& file, const std::string& name, const std::string& cache) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return;
  std::ostringstream ss;
  ss << in.rdbuf();
  response r;
  r.content_type = content_type_of(file);
  r.body = ss.str();
  r.header("Cache-Control", cache);
  by_name_.insert_or_assign(name, std::move(r));
}

void static_files::load_dir(const std::string& dir, const std::string& prefix, const std::string& cache) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file()) load(e.path().string(), prefix + e.path().filename().string(), cache);
}

response static_files::get(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return detail(404, "Not Found");
  return it->second;
}

}  // namespace sl::http
